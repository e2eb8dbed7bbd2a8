"""grpcio-reflection (gRPC C-core) as the independent client of the reflection tests.

  reflection_peer.py PORT EXTENDED_TYPE SYMBOL
      v1alpha, through grpcio-reflection's ProtoReflectionDescriptorDatabase and a protobuf
      DescriptorPool built on it: every service and each method's shape and message types
      (which needs every file's dependencies), then EXTENDED_TYPE's extensions (none for "-").
      v1, through a raw stream (grpcio-reflection speaks only v1alpha, whose messages are
      v1's on the wire): list_services, then file_containing_symbol SYMBOL and an unknown one.
Each finding is printed as a line, flushed, for the Swift side to compare.
"""
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from google.protobuf import descriptor_pb2


def say(line):
    print(line, flush=True)


def v1alpha(channel, extended_type):
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = DescriptorPool(database)
    for name in sorted(database.get_services()):
        say(f"service {name}")
        service = pool.FindServiceByName(name)
        for method in service.methods:
            say(f"method /{name}/{method.name} in={method.input_type.full_name} out={method.output_type.full_name}"
                f" client_streaming={int(method.client_streaming)} server_streaming={int(method.server_streaming)}")
    if extended_type == "-":
        return
    message = pool.FindMessageTypeByName(extended_type)
    numbers = sorted(database.FindAllExtensionNumbers(extended_type))
    say(f"extension_numbers {extended_type} {','.join(map(str, numbers))}")
    for number in numbers:
        say(f"extension {number} {pool.FindExtensionByNumber(message, number).full_name}")


def v1(channel, symbol):
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
    ]
    for response in info(iter(requests)):
        kind = response.WhichOneof("message_response")
        if kind == "list_services_response":
            for service in response.list_services_response.service:
                say(f"v1 service {service.name}")
        elif kind == "file_descriptor_response":
            names = [descriptor_pb2.FileDescriptorProto.FromString(raw).name
                     for raw in response.file_descriptor_response.file_descriptor_proto]
            say(f"v1 files {','.join(names)}")
        else:
            say(f"v1 error {response.error_response.error_code}")


def main():
    port, extended_type, symbol = sys.argv[1:4]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        v1alpha(channel, extended_type)
        v1(channel, symbol)
    say("done")


if __name__ == "__main__":
    main()
