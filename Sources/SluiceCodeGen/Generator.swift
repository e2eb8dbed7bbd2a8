import SluiceDescriptors

/// protoc-gen-swift-grpc's whole job: a CodeGeneratorRequest in, a CodeGeneratorResponse out.
///
/// Failures never trap: they come back as the response's `error`, which protoc prints.
public enum Generator {
    /// Generates Swift for every file protoc asked for. `readFile` reads files that options
    /// name (`ProtoPathModuleMappings`); without it, such an option is an error.
    public static func generate(
        _ request: Google_Protobuf_Compiler_CodeGeneratorRequest,
        readFile: ((String) throws -> String)? = nil
    ) -> Google_Protobuf_Compiler_CodeGeneratorResponse {
        var response = Google_Protobuf_Compiler_CodeGeneratorResponse()
        response.supportedFeatures = UInt64(Google_Protobuf_Compiler_CodeGeneratorResponse.Feature.proto3Optional.rawValue)
        do {
            response.file = try files(for: request, readFile: readFile)
        } catch {
            response.error = "protoc-gen-swift-grpc: \(error)"
        }
        return response
    }

    static func files(
        for request: Google_Protobuf_Compiler_CodeGeneratorRequest, readFile: ((String) throws -> String)? = nil
    ) throws -> [Google_Protobuf_Compiler_CodeGeneratorResponse.File] {
        let options = try readFile.map { try CodeGenOptions(parameter: request.parameter, readFile: $0) }
            ?? CodeGenOptions(parameter: request.parameter)
        try options.checkOutputNames(request.fileToGenerate)
        let generating = Set(request.fileToGenerate)
        let symbols = try SymbolTable(files: request.protoFile, modules: options.modules, generating: generating)
        let renderer = try TemplateRenderer()
        var output: [Google_Protobuf_Compiler_CodeGeneratorResponse.File] = []
        for proto in request.protoFile where generating.contains(proto.name) {
            let model = try FileViewModelBuilder(file: proto, symbols: symbols, options: options, generating: generating).build()
            var file = Google_Protobuf_Compiler_CodeGeneratorResponse.File()
            file.name = options.outputPath(for: proto.name)
            file.content = try renderer.render(model)
            output.append(file)
        }
        return output
    }
}
