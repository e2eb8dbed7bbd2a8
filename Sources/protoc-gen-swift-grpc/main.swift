// protoc-gen-swift-grpc: protoc runs this with a CodeGeneratorRequest on stdin and reads a
// CodeGeneratorResponse from stdout. Usage: protoc --swift-grpc_out=OUT [--swift-grpc_opt=...] x.proto
// The SwiftPM build plugin runs it with --sluice-build-plugin instead (BuildPluginDriver.swift).
import Foundation
import SluiceCodeGen
import SluiceDescriptors
import SluiceProto

if CommandLine.arguments.dropFirst().first == BuildPluginDriver.flag {
    // Run by the SwiftPM build plugin rather than by protoc.
    BuildPluginDriver.run(arguments: Array(CommandLine.arguments.dropFirst(2)),
                          pluginPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
}

let input = FileHandle.standardInput.readDataToEndOfFile()
let response: Google_Protobuf_Compiler_CodeGeneratorResponse
do {
    let request = try Google_Protobuf_Compiler_CodeGeneratorRequest(serializedBytes: input)
    // Files that options name (ProtoPathModuleMappings) are relative to protoc's directory,
    // which is this process's.
    response = Generator.generate(request, readFile: { path in try String(contentsOfFile: path, encoding: .utf8) })
} catch {
    var failure = Google_Protobuf_Compiler_CodeGeneratorResponse()
    failure.error = "protoc-gen-swift-grpc: could not read the CodeGeneratorRequest: \(error)"
    response = failure
}
FileHandle.standardOutput.write(response.serializedData())
