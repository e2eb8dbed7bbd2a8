@testable import SluiceCodeGen
import Testing

@Suite("Swift naming follows swift-protobuf")
struct NamingTests {
    @Test("field names", arguments: [
        ("optional_int32", "optionalInt32"), ("user_id", "userID"), ("image_url", "imageURL"),
        ("http_server", "httpServer"), ("class", "`class`"), ("self", "self_p"),
        ("unknown_fields", "unknownFields_p"), ("has_value", "hasValue_p"), ("description", "description_p"),
        ("field_name1", "fieldName1"), ("a_b_c", "aBC"), ("Capital", "capital"), ("clearly", "clearly"),
    ])
    func fieldNames(proto: String, swift: String) {
        #expect(SwiftNaming.fieldName(proto) == swift)
    }

    @Test("type prefixes from packages and swift_prefix")
    func typePrefixes() {
        #expect(SwiftNaming.typePrefix(package: "foo.bar_baz", swiftPrefix: nil) == "Foo_BarBaz_")
        #expect(SwiftNaming.typePrefix(package: "spooled.v1", swiftPrefix: nil) == "Spooled_V1_")
        #expect(SwiftNaming.typePrefix(package: "", swiftPrefix: nil) == "")
        #expect(SwiftNaming.typePrefix(package: "a.b", swiftPrefix: "XY") == "XY")
    }

    @Test("enum cases lose the enum's name as a prefix when a letter follows", arguments: [
        ("COLOR_RED", "Color", "red"), ("JOB_STATUS_DEAD_LETTER", "JobStatus", "deadLetter"),
        ("HTTP_STATUS_KIND_2XX", "HTTPStatusKind", "httpStatusKind2Xx"), ("TYPE_ENUM", "Type", "`enum`"),
        ("SELF", "Kind", "self_"), ("FOO", "NestedEnum", "foo"), ("LABEL_OPTIONAL", "Label", "optional"),
    ])
    func enumCases(value: String, enumName: String, swift: String) {
        #expect(SwiftNaming.enumCaseName(value, enumName: enumName) == swift)
    }

    @Test("nested types that clash with Swift get a disambiguator")
    func nestedTypes() {
        #expect(SwiftNaming.nestedTypeName("Type", disambiguator: "Enum") == "TypeEnum")
        #expect(SwiftNaming.nestedTypeName("Protocol", disambiguator: "Message") == "ProtocolMessage")
        #expect(SwiftNaming.nestedTypeName("Inner", disambiguator: "Message") == "Inner")
    }
}

@Suite("Generator options")
struct OptionsTests {
    @Test("options parse as swift-protobuf spells them")
    func parse() throws {
        let options = try CodeGenOptions(parameter: "Visibility=Public,FileNaming=DropPath,ModuleMapping=a/b.proto=ModB")
        #expect(options.visibility == .public)
        #expect(options.fileNaming == .dropPath)
        #expect(options.modules.module(for: "a/b.proto") == "ModB")
        #expect(options.outputPath(for: "x/y/z.proto") == "z.pb.swift")
        #expect(try CodeGenOptions(parameter: "FileNaming=PathToUnderscores").outputPath(for: "x/y/z.proto") == "x_y_z.pb.swift")
        #expect(try CodeGenOptions(parameter: "").outputPath(for: "x/y/z.proto") == "x/y/z.pb.swift")
        #expect(try CodeGenOptions(parameter: "Visibility=Package").visibility.keyword == "package")
    }

    @Test("an unknown option or value is an error, not a crash")
    func invalid() {
        #expect(throws: CodeGenError.unknownOption("Bogus")) { try CodeGenOptions(parameter: "Bogus=1") }
        #expect(throws: CodeGenError.invalidOptionValue(option: "Visibility", value: "Open", valid: ["Internal", "Public", "Package"])) {
            try CodeGenOptions(parameter: "Visibility=Open")
        }
        #expect(throws: CodeGenError.invalidOptionValue(option: "ModuleMapping", value: "nomodule", valid: ["path/to/file.proto=SwiftModule"])) {
            try CodeGenOptions(parameter: "ModuleMapping=nomodule")
        }
    }

    @Test("well-known types map to SluiceProto, descriptors to SluiceDescriptors")
    func defaultModules() {
        let modules = ModuleMap()
        #expect(modules.module(for: "google/protobuf/timestamp.proto") == "SluiceProto")
        #expect(modules.module(for: "google/protobuf/descriptor.proto") == "SluiceDescriptors")
        #expect(modules.module(for: "google/protobuf/compiler/plugin.proto") == "SluiceDescriptors")
        #expect(modules.module(for: "mine.proto") == nil)
    }
}

@Suite("Layout of generated code")
struct LayoutTests {
    @Test("indentation comes from braces; case labels sit level with their switch")
    func indentation() {
        let input = """
        struct A {
        var x: Int {
        get { 1 }
        }

        func f() {
        switch x {
        case 1:
        print("{")
        default:
        break
        }
        }


        }
        """
        let expected = """
        struct A {
            var x: Int {
                get { 1 }
            }

            func f() {
                switch x {
                case 1:
                    print("{")
                default:
                    break
                }
            }
        }

        """
        #expect(SwiftLayout.format(input) == expected)
    }
}
