import Foundation
import Sluice
import SluiceProto

/// The gRPC server reflection service, as both `grpc.reflection.v1.ServerReflection` and
/// `grpc.reflection.v1alpha.ServerReflection` (grpcurl and older tools still ask for v1alpha):
///
///     let services: [any RegistrableService] = [catalog, orders, health]
///     let reflection = try ReflectionService(describing: services)
///     let server = GRPCServer(transport: transport, services: services + [reflection])
///
/// It describes each service by the descriptor its generated code embeds (see
/// `ProtoFileDescriptor`), so it needs no descriptor set at run time. Files are sent with
/// their dependencies, each dependency once per stream, as grpc-go does. A request it cannot
/// answer gets an `error_response` (NOT_FOUND) and the stream goes on; a request with no
/// question in it ends the stream with INVALID_ARGUMENT.
public final class ReflectionService: RegistrableService {
    private let index: ReflectionIndex
    private let serviceNames: [String]

    /// Describes `services` (each by its registered methods' service names and its generated
    /// descriptor) and `files`: descriptors of files to serve besides, such as files that only
    /// define extensions. The reflection services list themselves too.
    public init(describing services: [any RegistrableService], files: [ProtoFileDescriptor] = []) throws(ReflectionError) {
        var names: Set<String> = [
            Grpc_Reflection_V1_ServerReflection.name, Grpc_Reflection_V1Alpha_ServerReflection.name,
        ]
        var roots = [Grpc_Reflection_V1_ServerReflection.fileDescriptor, Grpc_Reflection_V1Alpha_ServerReflection.fileDescriptor]
        for service in services {
            var router = RPCRouter()
            service.registerMethods(with: &router)
            names.formUnion(router.methods.map(\.service))
            if let file = service.fileDescriptor { roots.append(file) }
        }
        self.index = try ReflectionIndex(roots + files)
        self.serviceNames = names.sorted()
    }

    /// The v1 descriptor (the v1alpha one is served beside it).
    public var fileDescriptor: ProtoFileDescriptor? { Grpc_Reflection_V1_ServerReflection.fileDescriptor }

    /// Registers both versions. v1alpha's messages are v1's with another package name, the
    /// same on the wire, so both paths decode into v1's types and share one handler.
    public func registerMethods(with router: inout RPCRouter) {
        let handler = ServerHandlers.bidirectionalStreaming { (requests: RequestStream<Grpc_Reflection_V1_ServerReflectionRequest>, responses: MessageWriter<Grpc_Reflection_V1_ServerReflectionResponse>, _: ServerContext) in
            try await self.serve(requests, responses)
        }
        router.register(Grpc_Reflection_V1_ServerReflection.Method.ServerReflectionInfo.descriptor, handler: handler)
        router.register(Grpc_Reflection_V1Alpha_ServerReflection.Method.ServerReflectionInfo.descriptor, handler: handler)
    }

    private func serve(
        _ requests: RequestStream<Grpc_Reflection_V1_ServerReflectionRequest>,
        _ responses: MessageWriter<Grpc_Reflection_V1_ServerReflectionResponse>
    ) async throws {
        // The files this stream has been sent; bounded by the number of files served.
        var sent: Set<String> = []
        for try await request in requests {
            try await responses.write(answer(request, sent: &sent))
        }
    }

    /// The response to one request, given the files already sent on its stream.
    func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest, sent: inout Set<String>) throws -> Grpc_Reflection_V1_ServerReflectionResponse {
        var response = Grpc_Reflection_V1_ServerReflectionResponse()
        response.validHost = request.host
        response.originalRequest = request
        switch request.messageRequest {
        case .fileByFilename(let name):
            response.messageResponse = files(index.files[name], sent: &sent, missing: "no file \(name)")
        case .fileContainingSymbol(let symbol):
            response.messageResponse = files(index.file(containing: symbol), sent: &sent, missing: "no symbol \(symbol)")
        case .fileContainingExtension(let request):
            response.messageResponse = files(
                index.file(extending: request.containingType, number: request.extensionNumber), sent: &sent,
                missing: "no extension \(request.extensionNumber) of \(request.containingType)")
        case .allExtensionNumbersOfType(let type):
            if let numbers = index.extensionNumbers(of: type) {
                var extensions = Grpc_Reflection_V1_ExtensionNumberResponse()
                extensions.baseTypeName = type
                extensions.extensionNumber = numbers
                response.messageResponse = .allExtensionNumbersResponse(extensions)
            } else {
                response.messageResponse = notFound("no message type \(type)")
            }
        case .listServices:
            var list = Grpc_Reflection_V1_ListServiceResponse()
            list.service = serviceNames.map { name in
                var service = Grpc_Reflection_V1_ServiceResponse()
                service.name = name
                return service
            }
            response.messageResponse = .listServicesResponse(list)
        case nil:
            throw RPCError(code: .invalidArgument, message: "a ServerReflectionRequest with no message_request set")
        }
        return response
    }

    private func files(
        _ file: ReflectionIndex.File?, sent: inout Set<String>, missing: String
    ) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        guard let file else { return notFound(missing) }
        var descriptors = Grpc_Reflection_V1_FileDescriptorResponse()
        descriptors.fileDescriptorProto = index.withDependencies(file, notIn: &sent).map {
            Data($0.descriptor.serializedFileDescriptorProto)
        }
        return .fileDescriptorResponse(descriptors)
    }

    private func notFound(_ message: String) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        var error = Grpc_Reflection_V1_ErrorResponse()
        error.errorCode = Int32(StatusCode.notFound.rawValue)
        error.errorMessage = message
        return .errorResponse(error)
    }
}
