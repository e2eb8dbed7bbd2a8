#!/usr/bin/env python3
"""Python grpcio (gRPC C-core) as a benchmark peer for rpc-benchmarks: the same bench.Echo
service and the same load shapes, on grpc.aio. Messages are passed through as bytes (an echo
needs no parsing), so what is measured is grpcio's RPC machinery.

  grpcio_peer.py server --port P
  grpcio_peer.py client --port P --concurrency C --seconds S --kind unary|stream [--messages N]
                        --request HEX   (the serialized request, from the Swift side)

The client prints "rate p50_us p99_us", like rpc-benchmarks' own client.
"""
import argparse
import asyncio
import sys
import time

import grpc

UNARY = "/bench.Echo/Unary"
STREAM = "/bench.Echo/Stream"


def identity(b):
    return b


async def serve(port):
    async def unary(request, context):
        return request

    async def stream(requests, context):
        async for request in requests:
            yield request

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, request_deserializer=identity, response_serializer=identity),
        "Stream": grpc.stream_stream_rpc_method_handler(stream, request_deserializer=identity, response_serializer=identity),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", handlers),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"listening on port {bound}", flush=True)
    await server.wait_for_termination()


async def load(args):
    request = bytes.fromhex(args.request)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{args.port}") as channel:
        unary = channel.unary_unary(UNARY, request_serializer=identity, response_deserializer=identity)
        for _ in range(200):
            await unary(request)
        if args.kind == "stream":
            call = channel.stream_stream(STREAM, request_serializer=identity, response_deserializer=identity)
            best = 0.0
            for _ in range(3):
                start = time.perf_counter()

                async def requests():
                    for _ in range(args.messages):
                        yield request

                received = 0
                async for _ in call(requests()):
                    received += 1
                assert received == args.messages
                best = max(best, args.messages / (time.perf_counter() - start))
            print(f"{best:.1f} 0.0 0.0")
            return
        end = time.perf_counter() + args.seconds
        latencies = []

        async def worker():
            while time.perf_counter() < end:
                begin = time.perf_counter()
                await unary(request)
                latencies.append(time.perf_counter() - begin)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - start
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1e6
        p99 = latencies[len(latencies) * 99 // 100] * 1e6
        print(f"{len(latencies) / elapsed:.1f} {p50:.1f} {p99:.1f}")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("--port", type=int, default=0)
    c = sub.add_parser("client")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--concurrency", type=int, default=1)
    c.add_argument("--seconds", type=float, default=5)
    c.add_argument("--kind", default="unary")
    c.add_argument("--messages", type=int, default=20000)
    c.add_argument("--request", required=True)
    args = parser.parse_args()
    if args.role == "server":
        asyncio.run(serve(args.port))
    else:
        asyncio.run(load(args))


if __name__ == "__main__":
    sys.exit(main())
