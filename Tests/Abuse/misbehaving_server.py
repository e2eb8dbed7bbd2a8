#!/usr/bin/env python3
"""An HTTP/2 server, frames written by hand, that answers every request in a way a gRPC
server must not, for the client's error tests (swift-nio-http2 refuses to send these itself).

    misbehaving_server.py huge-headers|second-headers

Prints `misbehaving server listening on port N`, then serves until killed.
"""
import socket
import struct
import sys
import threading

import hpack

HEADERS, SETTINGS, CONTINUATION = 0x1, 0x4, 0x9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def headers_frames(stream, block, end_stream=False):
    """A header block as HEADERS and as many CONTINUATION frames as 16 KiB frames need."""
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)] or [b""]
    out = b""
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        kind = HEADERS if index == 0 else CONTINUATION
        flags = (END_HEADERS if last else 0) | (END_STREAM if end_stream and index == 0 else 0)
        out += frame(kind, flags, stream, chunk)
    return out


def handle(sock, mode):
    encoder = hpack.Encoder()
    try:
        read_exact(sock, 24)
        sock.sendall(frame(SETTINGS, 0, 0))
        while True:
            header = read_exact(sock, 9)
            length = int.from_bytes(header[:3], "big")
            kind, flags = header[3], header[4]
            stream = int.from_bytes(header[5:9], "big") & 0x7FFFFFFF
            read_exact(sock, length)
            if kind == SETTINGS and not flags & ACK:
                sock.sendall(frame(SETTINGS, ACK, 0))
            elif kind == HEADERS:
                response = [(":status", "200"), ("content-type", "application/grpc")]
                if mode == "huge-headers":
                    block = encoder.encode(response + [("x-padding", "a" * 32768)])
                    sock.sendall(headers_frames(stream, block))
                else:
                    sock.sendall(headers_frames(stream, encoder.encode(response)))
                    sock.sendall(headers_frames(stream, encoder.encode([("x-again", "1")])))
    except (EOFError, OSError):
        pass
    finally:
        sock.close()


def main():
    mode = sys.argv[1]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    print(f"misbehaving server listening on port {server.getsockname()[1]}", flush=True)
    while True:
        sock, _ = server.accept()
        threading.Thread(target=handle, args=(sock, mode), daemon=True).start()


if __name__ == "__main__":
    main()
