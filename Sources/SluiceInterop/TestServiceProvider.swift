import Foundation
import InteropMessages
import Sluice
import SluiceProto

/// The standard interop `grpc.testing.TestService` (doc/interop-test-descriptions.md,
/// "Server").
public struct TestServiceProvider: Grpc_Testing_TestService.ServiceProtocol {
    public init() {}

    static let echoInitialKey = "x-grpc-test-echo-initial"
    static let echoTrailingKey = "x-grpc-test-echo-trailing-bin"

    /// Echoes the two test metadata keys back as a header and a trailer.
    private func echoMetadata(_ context: ServerContext) {
        if let initial = context.metadata.first(Self.echoInitialKey) {
            context.addResponseHeader(Self.echoInitialKey, .string(initial))
        }
        if let trailing = context.metadata.firstBinary(Self.echoTrailingKey) {
            context.addTrailer(Self.echoTrailingKey, .binary(trailing))
        }
    }

    private func check(_ status: Grpc_Testing_EchoStatus?) throws {
        guard let status, status.code != 0 else { return }
        var error = RPCError(code: StatusCode(rawValue: Int(status.code)) ?? .unknown, message: status.message)
        if status.message == ExtensionTestCase.richErrorDetailsMessage {
            var info = Google_Rpc_ErrorInfo()
            info.reason = "ECHO_STATUS"
            info.domain = "grpc.testing"
            info.metadata = ["code": String(status.code)]
            error.addDetail(info)
        }
        throw error
    }

    /// The CompressedRequest feature, checked both ways as C-core's server does: a request
    /// must arrive compressed exactly when it says it was sent so.
    private func checkCompression(expected: Bool, _ context: ServerContext) throws {
        guard context.lastRequestWasCompressed != expected else { return }
        throw RPCError(code: .invalidArgument,
                       message: expected ? "expected a compressed request" : "expected an uncompressed request")
    }

    private func payload(size: Int32) -> Grpc_Testing_Payload {
        var payload = Grpc_Testing_Payload()
        payload.body = Data(count: Int(size))
        return payload
    }

    public func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        echoMetadata(context)
        return Grpc_Testing_Empty()
    }

    public func unaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        echoMetadata(context)
        try check(request.hasResponseStatus ? request.responseStatus : nil)
        try checkCompression(expected: request.expectCompressed.value, context)
        if request.responseCompressed.value { context.setResponseCompression(.gzip) }
        var response = Grpc_Testing_SimpleResponse()
        response.payload = payload(size: request.responseSize)
        return response
    }

    public func cacheableUnaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        try await unaryCall(request: request, context: context)
    }

    public func streamingOutputCall(request: Grpc_Testing_StreamingOutputCallRequest,
                                    responses: MessageWriter<Grpc_Testing_StreamingOutputCallResponse>,
                                    context: ServerContext) async throws {
        echoMetadata(context)
        if request.responseParameters.contains(where: { $0.compressed.value }) { context.setResponseCompression(.gzip) }
        try await respond(to: request, responses)
        try check(request.hasResponseStatus ? request.responseStatus : nil)
    }

    public func streamingInputCall(requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>,
                                   context: ServerContext) async throws -> Grpc_Testing_StreamingInputCallResponse {
        var size = 0
        for try await request in requests {
            try checkCompression(expected: request.expectCompressed.value, context)
            size += request.payload.body.count
        }
        var response = Grpc_Testing_StreamingInputCallResponse()
        response.aggregatedPayloadSize = Int32(size)
        return response
    }

    public func fullDuplexCall(requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
                               responses: MessageWriter<Grpc_Testing_StreamingOutputCallResponse>,
                               context: ServerContext) async throws {
        echoMetadata(context)
        for try await request in requests {
            try check(request.hasResponseStatus ? request.responseStatus : nil)
            try await respond(to: request, responses)
        }
    }

    public func halfDuplexCall(requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
                               responses: MessageWriter<Grpc_Testing_StreamingOutputCallResponse>,
                               context: ServerContext) async throws {
        var all: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { all.append(request) }
        for request in all { try await respond(to: request, responses) }
    }

    public func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "UnimplementedCall is not implemented, by design")
    }

    private func respond(to request: Grpc_Testing_StreamingOutputCallRequest,
                         _ responses: MessageWriter<Grpc_Testing_StreamingOutputCallResponse>) async throws {
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 { try await Task.sleep(for: .microseconds(Int64(parameters.intervalUs))) }
            var response = Grpc_Testing_StreamingOutputCallResponse()
            response.payload = payload(size: parameters.size)
            // Per-message compression (server_compressed_streaming): a parameter without the
            // flag follows the call's setting.
            try await responses.write(response, compressed: !parameters.hasCompressed || parameters.compressed.value)
        }
    }
}
