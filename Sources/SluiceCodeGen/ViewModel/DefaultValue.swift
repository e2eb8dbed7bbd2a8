import SluiceDescriptors

/// Swift literals for proto2 `[default = ...]` values, which descriptors carry as text.
enum DefaultValue {
    static func literal(_ text: String, type: FieldDescriptor.TypeEnum) throws -> String {
        switch type {
        case .float, .double:
            switch text {
            case "inf": return ".infinity"
            case "-inf": return "-.infinity"
            case "nan": return ".nan"
            default:
                guard Double(text) != nil else { throw CodeGenError.unsupported("default value \(text)") }
                return text.contains(".") || text.contains("e") || text.contains("E") ? text : text + ".0"
            }
        case .bool:
            return text == "true" ? "true" : "false"
        case .string:
            return stringLiteral(text)
        case .bytes:
            let bytes = try unescapeC(text)
            return bytes.isEmpty ? "Data()" : "Data([" + bytes.map { String($0) }.joined(separator: ", ") + "])"
        default:
            guard Int64(text) != nil || UInt64(text) != nil else {
                throw CodeGenError.unsupported("default value \(text)")
            }
            return text
        }
    }

    /// A Swift string literal for arbitrary text.
    static func stringLiteral(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Undoes protoc's C escaping of `bytes` defaults (`\n`, `\001`, `\x7f`, ...).
    static func unescapeC(_ text: String) throws -> [UInt8] {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            let c = input[i]
            guard c == UInt8(ascii: "\\"), i + 1 < input.count else {
                out.append(c)
                i += 1
                continue
            }
            let e = input[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "?"): out.append(e)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < input.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(input[i]) {
                    value = value * 8 + Int(input[i] - UInt8(ascii: "0"))
                    i += 1
                    digits += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                while digits < 2, i < input.count, let d = hexDigit(input[i]) {
                    value = value * 16 + d
                    i += 1
                    digits += 1
                }
                guard digits > 0 else { throw CodeGenError.unsupported("bad escape in bytes default \(text)") }
                out.append(UInt8(value))
            default:
                throw CodeGenError.unsupported("bad escape in bytes default \(text)")
            }
        }
        return out
    }

    private static func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}
