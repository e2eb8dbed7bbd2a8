"""grpcio-health-checking (gRPC C-core) as the independent side of the health service tests.

  health_peer.py client PORT   Check "" and an unknown service, then Watch "svc" and print
                               each status until it has seen SERVING then NOT_SERVING.
  health_peer.py server        Serve grpcio's HealthServicer on a free port: "" SERVING,
                               "svc" NOT_SERVING, then SERVING half a second after the first
                               Watch of "svc" begins.
Each event is printed as a line, flushed, for the Swift side to wait on.
"""
import sys
import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

Status = health_pb2.HealthCheckResponse.ServingStatus


def say(line):
    print(line, flush=True)


def client(port):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    say("check '' " + Status.Name(stub.Check(health_pb2.HealthCheckRequest(service="")).status))
    try:
        stub.Check(health_pb2.HealthCheckRequest(service="nope"))
        say("check nope OK")
    except grpc.RpcError as error:
        say("check nope " + error.code().name)
    seen = []
    for response in stub.Watch(health_pb2.HealthCheckRequest(service="svc")):
        name = Status.Name(response.status)
        seen.append(name)
        say("watch " + name)
        if "SERVING" in seen and name == "NOT_SERVING":
            break
    say("done")


def server():
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("svc", health_pb2.HealthCheckResponse.NOT_SERVING)
    original_watch = servicer.Watch
    flipped = threading.Event()

    def watch(request, context):
        if request.service == "svc" and not flipped.is_set():
            flipped.set()
            threading.Timer(0.5, lambda: servicer.set("svc", health_pb2.HealthCheckResponse.SERVING)).start()
        yield from original_watch(request, context)

    servicer.Watch = watch
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    say(f"health server listening on port {port}")
    grpc_server.wait_for_termination()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(int(sys.argv[2]))
    else:
        server()
