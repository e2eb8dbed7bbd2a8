/// `grpc-message` percent-encoding (PROTOCOL-HTTP2.md): bytes outside 0x20...0x7E, and `%`
/// itself, become `%XX` of their UTF-8 bytes.
enum StatusMessageEncoding {
    static func encode(_ message: String) -> String {
        var out = ""
        out.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hex(byte >> 4) + hex(byte & 0xF)
            }
        }
        return out
    }

    /// Decodes; malformed escapes are kept as they are, and invalid UTF-8 is repaired, as the
    /// spec asks receivers to be lenient.
    static func decode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let high = value(bytes[i + 1]), let low = value(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ nibble: UInt8) -> String {
        String(UnicodeScalar(nibble < 10 ? nibble + 48 : nibble + 55))
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 55
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
        default: return nil
        }
    }
}
