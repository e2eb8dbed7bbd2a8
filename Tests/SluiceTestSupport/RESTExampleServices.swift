import SeedServices
import Sluice
import SluiceProto

// The services of Protos/sluice/rest/http_examples.proto: each answers with what it got.

public struct NameBindingEcho: Sluice_Rest_NameBinding.ServiceProtocol {
    public init() {}
    public func getMessage(request: Sluice_Rest_NamedRequest, context: ServerContext) async throws -> Sluice_Rest_NamedRequest { request }
}

public struct QueryParametersEcho: Sluice_Rest_QueryParameters.ServiceProtocol {
    public init() {}
    public func getMessage(request: Sluice_Rest_QueryRequest, context: ServerContext) async throws -> Sluice_Rest_QueryRequest { request }
}

public struct BodyFieldEcho: Sluice_Rest_BodyField.ServiceProtocol {
    public init() {}
    public func updateMessage(request: Sluice_Rest_UpdateMessageRequest, context: ServerContext) async throws
        -> Sluice_Rest_UpdateMessageRequest { request }
}

public struct BodyStarEcho: Sluice_Rest_BodyStar.ServiceProtocol {
    public init() {}
    public func updateMessage(request: Sluice_Rest_MessageWithId, context: ServerContext) async throws -> Sluice_Rest_MessageWithId { request }
}

public struct AdditionalBindingsEcho: Sluice_Rest_AdditionalBindings.ServiceProtocol {
    public init() {}
    public func getMessage(request: Sluice_Rest_UserMessageRequest, context: ServerContext) async throws
        -> Sluice_Rest_UserMessageRequest { request }
}

public struct FeaturesEcho: Sluice_Rest_Features.ServiceProtocol {
    public init() {}

    public func getFile(request: Sluice_Rest_FileRequest, context: ServerContext) async throws -> Sluice_Rest_FileRequest { request }

    public func cancelOperation(request: Sluice_Rest_OperationRequest, context: ServerContext) async throws
        -> Sluice_Rest_OperationRequest { request }

    public func getLabels(request: Sluice_Rest_OperationRequest, context: ServerContext) async throws -> Sluice_Rest_Labels {
        var labels = Sluice_Rest_Labels()
        labels.labels = ["name": request.name, "env": "test"]
        labels.owner = "not in the body"
        return labels
    }

    public func search(request: Sluice_Rest_SearchRequest, context: ServerContext) async throws -> Sluice_Rest_SearchRequest { request }

    public func watch(request: Sluice_Rest_WatchRequest, responses: MessageWriter<Sluice_Rest_Message>, context: ServerContext) async throws {
        for index in 0..<request.count {
            var message = Sluice_Rest_Message()
            message.text = "\(request.topic) \(index)"
            try await responses.write(message)
        }
        if request.failCode != 0, let code = StatusCode(rawValue: Int(request.failCode)) {
            throw RPCError(code: code, message: "failed after \(request.count)")
        }
    }

    public func fail(request: Sluice_Rest_FailRequest, context: ServerContext) async throws -> Sluice_Rest_FailRequest {
        context.addResponseHeader("x-served-by", "features")
        if request.code != 0, let code = StatusCode(rawValue: Int(request.code)) {
            throw RPCError(code: code, message: request.message)
        }
        var answer = request
        answer.metadata = context.metadata.map { "\($0.key)=\($0.value)" }
        return answer
    }

    public func upload(requests: RequestStream<Sluice_Rest_Message>, context: ServerContext) async throws -> Sluice_Rest_Message {
        Sluice_Rest_Message()
    }
}

/// Every service of the examples.
public let restExampleServices: [any RegistrableService] = [
    NameBindingEcho(), QueryParametersEcho(), BodyFieldEcho(), BodyStarEcho(), AdditionalBindingsEcho(), FeaturesEcho(),
]
