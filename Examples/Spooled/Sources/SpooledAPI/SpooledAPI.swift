// SwiftPM drops a target that has no Swift source before any plugin runs, so this target of a
// .proto file needs one Swift file: this one. The generated code (spooled_v1_spooled.pb.swift)
// is in the build folder.
