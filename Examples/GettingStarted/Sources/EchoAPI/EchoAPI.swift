// SwiftPM drops a target that has no Swift source before any plugin runs ("no such module
// 'EchoAPI'"), so a target of .proto files needs one Swift file: this one. The generated code
// (echo.pb.swift) is in the build folder.
