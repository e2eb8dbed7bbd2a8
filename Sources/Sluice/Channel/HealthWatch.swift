import Logging
import SluiceProto

/// Client-side health checking (gRFC A17): while a subchannel is READY, a
/// `grpc.health.v1.Health/Watch` stream on it says whether the server serves the configured
/// service; the load balancer uses the subchannel only while it is SERVING.
///
/// The two messages are written here rather than taken from `SluiceHealth`, which depends on
/// this module: a request of one string, a response of one enum.
enum HealthWatch {
    /// What the watch has learned of a subchannel.
    enum Health: Equatable, Sendable {
        /// No answer yet: the subchannel counts as CONNECTING.
        case unknown
        case serving
        /// NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN: the subchannel counts as TRANSIENT_FAILURE.
        case notServing
        /// The server does not implement the health service: checking is off for this
        /// subchannel, which counts as its connectivity says (A17).
        case disabled
    }

    static let method = MethodDescriptor(service: "grpc.health.v1.Health", method: "Watch", kind: .serverStreaming)

    /// Watches `service` on `subchannel` until the task is cancelled, calling `update` with
    /// each change; a watch that ends (other than UNIMPLEMENTED) starts again after a backoff.
    static func run(on subchannel: any Subchannel, service: String, logger: Logger,
                    update: @Sendable (Health) -> Void) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let (outcome, received) = await watchOnce(subchannel, service: service, update: update)
            if outcome?.code == .unimplemented {
                // A17: the server has no health service; the check is off, and an error says so.
                logger.error("health checking disabled: the server does not implement grpc.health.v1.Health", metadata: [
                    LogKeys.endpoint: "\(subchannel.endpoint)", LogKeys.healthService: "\(service)",
                ])
                update(.disabled)
                return
            }
            // A17: a watch that ended after answering starts again at once; one that failed
            // without an answer, after a growing backoff.
            if received { backoff = .milliseconds(100) } else {
                guard (try? await Task.sleep(for: backoff)) != nil else { return }
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// One Watch stream: returns how it ended and whether it said anything.
    private static func watchOnce(_ subchannel: any Subchannel, service: String,
                                  update: @Sendable (Health) -> Void) async -> (RPCError?, Bool) {
        let stream: ClientStream
        do {
            stream = try await subchannel.openStream(RequestHead(method: method))
        } catch let error as RPCError {
            return (error, false)
        } catch {
            return (RPCError(code: .unavailable, message: "\(error)"), false)
        }
        var request = WatchRequest()
        request.service = service
        _ = stream.requests.yield(SerializedMessage(request.serializedBytes(), compressed: false))
        stream.requests.finish()
        var received = false
        do {
            try await withTaskCancellationHandler {
                for try await message in stream.messages {
                    let response = try WatchResponse(serializedBytes: message.bytes)
                    received = true
                    update(response.status == 1 ? .serving : .notServing)
                }
            } onCancel: {
                stream.cancel(RPCError(code: .cancelled, message: "health watch stopped"))
            }
        } catch {}
        return (await stream.end.value.error, received)
    }

    /// `grpc.health.v1.HealthCheckRequest`: `string service = 1`.
    struct WatchRequest: SluiceProto.Message {
        static let protoMessageName = "grpc.health.v1.HealthCheckRequest"
        var service = ""
        var unknownFields = UnknownFields()

        mutating func decodeField(number: Int, wireType: WireType, from reader: inout WireReader) throws {
            if number == 1 && wireType == .lengthDelimited {
                service = try reader.read(ProtoString.self, fieldNumber: 1)
            } else {
                try reader.skipField(wireType: wireType, fieldNumber: number, into: &unknownFields)
            }
        }

        func computeSize(_ cache: inout SizeCache) -> Int {
            service.isEmpty ? 0 : cache.size(ProtoString.self, field: 1, service)
        }

        func encode(to writer: inout WireWriter) {
            if !service.isEmpty { writer.write(ProtoString.self, field: 1, service) }
        }
    }

    /// `grpc.health.v1.HealthCheckResponse`: `ServingStatus status = 1` (SERVING is 1).
    struct WatchResponse: SluiceProto.Message {
        static let protoMessageName = "grpc.health.v1.HealthCheckResponse"
        var status: UInt64 = 0
        var unknownFields = UnknownFields()

        mutating func decodeField(number: Int, wireType: WireType, from reader: inout WireReader) throws {
            if number == 1 && wireType == .varint {
                status = try reader.readVarint()
            } else {
                try reader.skipField(wireType: wireType, fieldNumber: number, into: &unknownFields)
            }
        }

        func computeSize(_ cache: inout SizeCache) -> Int { 0 }
        func encode(to writer: inout WireWriter) {}
    }
}
