#!/usr/bin/env python3
"""gRPC interop peer on Python grpcio (gRPC C-core), for testing Sluice against an
implementation nobody here wrote.

  python_interop.py server --port P [--use_tls --tls_cert_file C --tls_key_file K]
  python_interop.py client --server_host H --server_port P --test_case NAME|all
                           [--use_tls --ca_file CA --server_host_override NAME]

The flags and test case names are those of grpc/grpc doc/interop-test-descriptions.md.
Messages come from protoc's descriptor set of Protos/grpc/testing, so no generated Python
code is involved.
"""
import argparse
import os
import queue
import subprocess
import sys
import tempfile
import time
from concurrent import futures

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SERVICE = "grpc.testing.TestService"
ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
# Sluice's extension case (Sources/SluiceInterop): this status message asks for a
# google.rpc.ErrorInfo in grpc-status-details-bin.
RICH_ERROR_DETAILS = "rich_error_details"


def load_messages():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        subprocess.run(["protoc", f"--descriptor_set_out={out}", "--include_imports",
                        "-I", os.path.join(ROOT, "Protos"), "grpc/testing/test.proto"], check=True)
        fds = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    names = ["Empty", "SimpleRequest", "SimpleResponse", "StreamingInputCallRequest",
             "StreamingInputCallResponse", "StreamingOutputCallRequest", "StreamingOutputCallResponse",
             "ResponseParameters", "Payload", "EchoStatus", "BoolValue"]
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.testing." + n)) for n in names}


M = load_messages()


# MARK: - Server

def echo_metadata(context):
    initial, trailing = [], []
    for key, value in context.invocation_metadata():
        if key == ECHO_INITIAL:
            initial.append((key, value))
        elif key == ECHO_TRAILING:
            trailing.append((key, value))
    if initial:
        context.send_initial_metadata(initial)
    if trailing:
        context.set_trailing_metadata(trailing)


def check_status(request, context):
    if not request.HasField("response_status") or request.response_status.code == 0:
        return
    status = request.response_status
    if status.message == RICH_ERROR_DETAILS:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason="ECHO_STATUS", domain="grpc.testing",
                                                metadata={"code": str(status.code)}))
        context.abort_with_status(rpc_status.to_status(
            status_pb2.Status(code=status.code, message=status.message, details=[detail])))
    context.abort(grpc.StatusCode(_code(status.code)), status.message)


def _code(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.value
    return grpc.StatusCode.UNKNOWN.value


def payload(size):
    return M["Payload"](body=b"\0" * size)


def empty_call(request, context):
    echo_metadata(context)
    return M["Empty"]()


def unary_call(request, context):
    echo_metadata(context)
    check_status(request, context)
    if request.response_compressed.value:
        context.set_compression(grpc.Compression.Gzip)
    return M["SimpleResponse"](payload=payload(request.response_size))


def respond(request, context, compressing=False):
    for parameters in request.response_parameters:
        if parameters.interval_us:
            time.sleep(parameters.interval_us / 1e6)
        if compressing and parameters.HasField("compressed") and not parameters.compressed.value:
            # Per-message compression (server_compressed_streaming).
            context.disable_next_message_compression()
        yield M["StreamingOutputCallResponse"](payload=payload(parameters.size))


def streaming_output_call(request, context):
    echo_metadata(context)
    compressing = any(p.compressed.value for p in request.response_parameters)
    if compressing:
        context.set_compression(grpc.Compression.Gzip)
    yield from respond(request, context, compressing)
    check_status(request, context)


def streaming_input_call(requests, context):
    size = sum(len(r.payload.body) for r in requests)
    return M["StreamingInputCallResponse"](aggregated_payload_size=size)


def full_duplex_call(requests, context):
    echo_metadata(context)
    for request in requests:
        check_status(request, context)
        yield from respond(request, context)


def half_duplex_call(requests, context):
    collected = list(requests)
    for request in collected:
        yield from respond(request, context)


def serve(args):
    def handler(kind, fn, request, response):
        make = {"uu": grpc.unary_unary_rpc_method_handler, "us": grpc.unary_stream_rpc_method_handler,
                "su": grpc.stream_unary_rpc_method_handler, "ss": grpc.stream_stream_rpc_method_handler}[kind]
        return make(fn, request_deserializer=M[request].FromString, response_serializer=M[response].SerializeToString)

    handlers = {
        "EmptyCall": handler("uu", empty_call, "Empty", "Empty"),
        "UnaryCall": handler("uu", unary_call, "SimpleRequest", "SimpleResponse"),
        "CacheableUnaryCall": handler("uu", unary_call, "SimpleRequest", "SimpleResponse"),
        "StreamingOutputCall": handler("us", streaming_output_call, "StreamingOutputCallRequest", "StreamingOutputCallResponse"),
        "StreamingInputCall": handler("su", streaming_input_call, "StreamingInputCallRequest", "StreamingInputCallResponse"),
        "FullDuplexCall": handler("ss", full_duplex_call, "StreamingOutputCallRequest", "StreamingOutputCallResponse"),
        "HalfDuplexCall": handler("ss", half_duplex_call, "StreamingOutputCallRequest", "StreamingOutputCallResponse"),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    address = f"127.0.0.1:{args.port}"
    if args.use_tls:
        credentials = grpc.ssl_server_credentials([(open(args.tls_key_file, "rb").read(), open(args.tls_cert_file, "rb").read())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    server.start()
    print(f"python-interop-server listening on port {port}", flush=True)
    server.wait_for_termination()


# MARK: - Client

class Failure(Exception):
    pass


def expect(condition, what):
    if not condition:
        raise Failure(what)


def expect_error(code, fn):
    try:
        fn()
    except grpc.RpcError as error:
        expect(error.code() == code, f"expected {code}, got {error.code()}: {error.details()}")
        return error
    raise Failure(f"expected {code}, but the call succeeded")


class Client:
    def __init__(self, channel):
        self.channel = channel

    def method(self, name, kind, request, response, service=SERVICE):
        make = {"uu": self.channel.unary_unary, "us": self.channel.unary_stream,
                "su": self.channel.stream_unary, "ss": self.channel.stream_stream}[kind]
        return make(f"/{service}/{name}", request_serializer=M[request].SerializeToString,
                    response_deserializer=M[response].FromString)

    @property
    def unary(self):
        return self.method("UnaryCall", "uu", "SimpleRequest", "SimpleResponse")

    @property
    def full_duplex(self):
        return self.method("FullDuplexCall", "ss", "StreamingOutputCallRequest", "StreamingOutputCallResponse")

    def large_request(self, **fields):
        return M["SimpleRequest"](response_size=314159, payload=payload(271828), **fields)

    def empty_unary(self):
        response = self.method("EmptyCall", "uu", "Empty", "Empty")(M["Empty"]())
        expect(response == M["Empty"](), "non-empty response")

    def large_unary(self):
        response = self.unary(self.large_request())
        expect(response.payload.body == b"\0" * 314159, "wrong payload")

    def client_compressed_unary(self):
        # The feature probe: claims to be compressed but is not.
        expect_error(grpc.StatusCode.INVALID_ARGUMENT,
                     lambda: self.unary(self.large_request(expect_compressed=M["BoolValue"](value=True))))
        response = self.unary(self.large_request(expect_compressed=M["BoolValue"](value=True)),
                              compression=grpc.Compression.Gzip)
        expect(len(response.payload.body) == 314159, "compressed request: wrong payload")
        response = self.unary(self.large_request(expect_compressed=M["BoolValue"](value=False)))
        expect(len(response.payload.body) == 314159, "uncompressed request: wrong payload")

    def server_compressed_unary(self):
        for compressed in (True, False):
            response = self.unary(self.large_request(response_compressed=M["BoolValue"](value=compressed)))
            expect(len(response.payload.body) == 314159, "wrong payload")

    @property
    def streaming_input(self):
        return self.method("StreamingInputCall", "su", "StreamingInputCallRequest", "StreamingInputCallResponse")

    def client_streaming(self):
        sizes = [27182, 8, 1828, 45904]
        requests = [M["StreamingInputCallRequest"](payload=payload(s)) for s in sizes]
        response = self.streaming_input(iter(requests))
        expect(response.aggregated_payload_size == 74922, f"aggregated {response.aggregated_payload_size}")

    def client_compressed_streaming(self):
        def request(size):
            return M["StreamingInputCallRequest"](payload=payload(size), expect_compressed=M["BoolValue"](value=True))
        # The feature probe: an uncompressed message that claims otherwise.
        expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: self.streaming_input(iter([request(27182)])))
        # Python cannot switch compression off for one message, so unlike the spec's second
        # message (uncompressed, expect_compressed false) both go compressed and say so.
        response = self.streaming_input(iter([request(27182), request(45904)]), compression=grpc.Compression.Gzip)
        expect(response.aggregated_payload_size == 73086, f"aggregated {response.aggregated_payload_size}")

    def server_streaming(self, compressed=False):
        sizes = [31415, 92653] if compressed else [31415, 9, 2653, 58979]
        parameters = [M["ResponseParameters"](size=s, compressed=M["BoolValue"](value=compressed and i == 0))
                      for i, s in enumerate(sizes)]
        call = self.method("StreamingOutputCall", "us", "StreamingOutputCallRequest", "StreamingOutputCallResponse")
        received = [len(r.payload.body) for r in call(M["StreamingOutputCallRequest"](response_parameters=parameters))]
        expect(received == sizes, f"received {received}")

    def server_compressed_streaming(self):
        self.server_streaming(compressed=True)

    def ping_pong(self):
        requests = queue.Queue()

        def generate():
            while True:
                item = requests.get()
                if item is None:
                    return
                yield item

        responses = self.full_duplex(generate())
        for request_size, response_size in [(27182, 31415), (8, 9), (1828, 2653), (45904, 58979)]:
            requests.put(M["StreamingOutputCallRequest"](
                response_parameters=[M["ResponseParameters"](size=response_size)], payload=payload(request_size)))
            expect(len(next(responses).payload.body) == response_size, "ping-pong size")
        requests.put(None)
        expect(next(responses, None) is None, "responses after the last request")

    def empty_stream(self):
        expect(list(self.full_duplex(iter([]))) == [], "responses to no requests")

    def custom_metadata(self):
        metadata = ((ECHO_INITIAL, "test_initial_metadata_value"), (ECHO_TRAILING, b"\xab\xab\xab"))
        _, call = self.unary.with_call(self.large_request(), metadata=metadata)
        expect((ECHO_INITIAL, "test_initial_metadata_value") in call.initial_metadata(), "initial metadata")
        expect((ECHO_TRAILING, b"\xab\xab\xab") in call.trailing_metadata(), "trailing metadata")
        request = M["StreamingOutputCallRequest"](response_parameters=[M["ResponseParameters"](size=314159)],
                                                 payload=payload(271828))
        responses = self.full_duplex(iter([request]), metadata=metadata)
        for _ in responses:
            pass
        expect((ECHO_INITIAL, "test_initial_metadata_value") in responses.initial_metadata(), "stream initial metadata")
        expect((ECHO_TRAILING, b"\xab\xab\xab") in responses.trailing_metadata(), "stream trailing metadata")

    def status_code_and_message(self, message="test status message"):
        status = M["EchoStatus"](code=2, message=message)
        error = expect_error(grpc.StatusCode.UNKNOWN, lambda: self.unary(M["SimpleRequest"](response_status=status)))
        expect(error.details() == message, f"unary message {error.details()!r}")
        error = expect_error(grpc.StatusCode.UNKNOWN,
                             lambda: list(self.full_duplex(iter([M["StreamingOutputCallRequest"](response_status=status)]))))
        expect(error.details() == message, f"stream message {error.details()!r}")

    def special_status_message(self):
        self.status_code_and_message("\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n")

    def rich_error_details(self):
        request = M["SimpleRequest"](response_status=M["EchoStatus"](code=9, message=RICH_ERROR_DETAILS))
        error = expect_error(grpc.StatusCode.FAILED_PRECONDITION, lambda: self.unary(request))
        status = rpc_status.from_call(error)
        expect(status is not None, "no grpc-status-details-bin")
        expect(status.code == 9 and status.message == RICH_ERROR_DETAILS, f"status {status}")
        info = error_details_pb2.ErrorInfo()
        expect(len(status.details) == 1 and status.details[0].Unpack(info), f"details {status.details}")
        expect(info.reason == "ECHO_STATUS" and info.domain == "grpc.testing" and info.metadata["code"] == "9",
               f"ErrorInfo {info}")

    def unimplemented_method(self):
        call = self.method("UnimplementedCall", "uu", "Empty", "Empty")
        expect_error(grpc.StatusCode.UNIMPLEMENTED, lambda: call(M["Empty"]()))

    def unimplemented_service(self):
        call = self.method("UnimplementedCall", "uu", "Empty", "Empty", service="grpc.testing.UnimplementedService")
        expect_error(grpc.StatusCode.UNIMPLEMENTED, lambda: call(M["Empty"]()))

    def cancel_after_begin(self):
        requests = queue.Queue()
        call = self.method("StreamingInputCall", "su", "StreamingInputCallRequest", "StreamingInputCallResponse")
        future = call.future(iter(requests.get, None))
        future.cancel()
        expect(future.cancelled() or future.code() == grpc.StatusCode.CANCELLED, "not cancelled")
        requests.put(None)

    def cancel_after_first_response(self):
        requests = queue.Queue()
        requests.put(M["StreamingOutputCallRequest"](response_parameters=[M["ResponseParameters"](size=31415)],
                                                     payload=payload(27182)))
        responses = self.full_duplex(iter(requests.get, None))
        next(responses)
        responses.cancel()
        expect(responses.code() == grpc.StatusCode.CANCELLED, f"code {responses.code()}")
        requests.put(None)

    def timeout_on_sleeping_server(self):
        requests = queue.Queue()
        requests.put(M["StreamingOutputCallRequest"](payload=payload(27182)))
        responses = self.full_duplex(iter(requests.get, None), timeout=0.001)
        expect_error(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: list(responses))
        requests.put(None)


CASES = ["empty_unary", "large_unary", "client_compressed_unary", "server_compressed_unary", "client_streaming",
         "client_compressed_streaming", "server_streaming", "server_compressed_streaming", "ping_pong", "empty_stream",
         "custom_metadata", "status_code_and_message", "special_status_message", "unimplemented_method",
         "unimplemented_service", "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server"]


def run_client(args):
    target = f"{args.server_host}:{args.server_port}"
    if args.use_tls:
        root = open(args.ca_file, "rb").read() if args.ca_file else None
        options = (("grpc.ssl_target_name_override", args.server_host_override),) if args.server_host_override else ()
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root), options=options)
    else:
        channel = grpc.insecure_channel(target)
    client = Client(channel)
    # Extension cases (rich_error_details) run only when named.
    cases = CASES if args.test_case == "all" else [args.test_case]
    failed = 0
    for case in cases:
        try:
            getattr(client, case)()
            print(f"PASS {case}", flush=True)
        except Exception as error:  # a failed case is reported, the others still run
            failed += 1
            print(f"FAIL {case}: {error!r}", flush=True)
    print(f"{len(cases) - failed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("--port", type=int, default=10000)
    s.add_argument("--use_tls", action="store_true")
    s.add_argument("--tls_cert_file")
    s.add_argument("--tls_key_file")
    c = sub.add_parser("client")
    c.add_argument("--server_host", default="127.0.0.1")
    c.add_argument("--server_port", type=int, default=10000)
    c.add_argument("--test_case", default="large_unary")
    c.add_argument("--use_tls", action="store_true")
    c.add_argument("--ca_file")
    c.add_argument("--server_host_override")
    args = parser.parse_args()
    serve(args) if args.role == "server" else run_client(args)


if __name__ == "__main__":
    main()
