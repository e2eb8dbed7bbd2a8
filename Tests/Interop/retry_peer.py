"""Python grpcio (gRPC C-core) as an independent retrying client (gRFC A6).

  retry_peer.py PORT SERVICE_CONFIG_JSON N...

For each N, makes one EmptyCall carrying x-fail-attempts: N through a channel with the given
service config, against a server with Sluice's RetryProbeInterceptor, and prints
"N STATUS ATTEMPTS": the final status and the x-attempt trailer of the final attempt.
"""
import sys

import grpc


def main():
    port, config, counts = sys.argv[1], sys.argv[2], sys.argv[3:]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                    options=[("grpc.service_config", config), ("grpc.enable_retries", 1)])
    # Empty messages are zero bytes: no generated code needed.
    empty_call = channel.unary_unary("/grpc.testing.TestService/EmptyCall",
                                     request_serializer=lambda message: message,
                                     response_deserializer=lambda data: data)
    for count in counts:
        metadata = [("x-fail-attempts", count)]
        try:
            _, call = empty_call.with_call(b"", metadata=metadata, timeout=10)
            code, trailers = grpc.StatusCode.OK, call.trailing_metadata()
        except grpc.RpcError as error:
            code, trailers = error.code(), error.trailing_metadata()
        attempt = dict(trailers or ()).get("x-attempt", "?")
        print(f"{count} {code.name} {attempt}", flush=True)


if __name__ == "__main__":
    main()
