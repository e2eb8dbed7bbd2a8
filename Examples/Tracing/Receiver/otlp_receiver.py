"""A small OTLP/HTTP trace receiver, for the tracing example's tests.

Listens on 127.0.0.1 (port 0 picks one; it prints "otlp-receiver listening on PORT"), accepts
POST /v1/traces with an ExportTraceServiceRequest in binary protobuf (optionally gzipped),
decodes it with the OpenTelemetry project's own opentelemetry-proto, and prints one JSON line
per span: its resource, name, kind, ids, attributes, events and status. It answers with an
empty ExportTraceServiceResponse, as an OTLP collector does; anything else gets 404, 415 or
400, so an exporter that sends something malformed fails visibly.
"""
import gzip
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


def any_value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def attributes(pairs):
    return {pair.key: any_value(pair.value) for pair in pairs}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/v1/traces":
            return self.fail(404, "only /v1/traces is served")
        if self.headers.get("content-type", "").split(";")[0].strip() != "application/x-protobuf":
            return self.fail(415, "expected application/x-protobuf")
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except DecodeError as error:
            return self.fail(400, f"not an ExportTraceServiceRequest: {error}")
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    print(json.dumps({
                        "resource": resource,
                        "name": span.name,
                        "kind": trace_pb2.Span.SpanKind.Name(span.kind),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "attributes": attributes(span.attributes),
                        "events": [event.name for event in span.events],
                        "status": trace_pb2.Status.StatusCode.Name(span.status.code),
                        "status_message": span.status.message,
                    }, sort_keys=True), flush=True)
        reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def fail(self, status, message):
        body = message.encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(json.dumps({"rejected": status, "message": message}), flush=True)

    def log_message(self, *arguments):
        pass


# Stop on SIGTERM even if the parent started us with it ignored, and when the parent goes away
# (our stdin, a pipe from it, reaches its end), so no receiver outlives its test.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print(f"otlp-receiver listening on {server.server_address[1]}", flush=True)
server.serve_forever()
