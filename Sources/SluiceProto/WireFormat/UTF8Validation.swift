/// UTF-8 validation for `string` fields (Unicode 15, table 3-7: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
///
/// The standard library's `String(validating:as:)` is generic over the encoding and, on
/// Linux, pays runtime metadata lookups on every call; the benchmarks showed it as a quarter
/// of decode time for string-heavy messages. ASCII, the common case, is checked eight bytes
/// at a time.
@usableFromInline
enum UTF8Validation {
    @inlinable
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while true {
            // Skip ASCII a word at a time.
            while i + 8 <= count {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            while i < count && base[i] < 0x80 { i += 1 }
            if i >= count { return true }
            let lead = base[i]
            let remaining = count - i
            switch lead {
            case 0xC2...0xDF:
                guard remaining >= 2, isContinuation(base[i + 1]) else { return false }
                i += 2
            case 0xE0...0xEF:
                guard remaining >= 3, isContinuation(base[i + 2]) else { return false }
                let second = base[i + 1]
                switch lead {
                case 0xE0: guard (0xA0...0xBF).contains(second) else { return false }
                case 0xED: guard (0x80...0x9F).contains(second) else { return false }  // no surrogates
                default: guard isContinuation(second) else { return false }
                }
                i += 3
            case 0xF0...0xF4:
                guard remaining >= 4, isContinuation(base[i + 2]), isContinuation(base[i + 3]) else { return false }
                let second = base[i + 1]
                switch lead {
                case 0xF0: guard (0x90...0xBF).contains(second) else { return false }
                case 0xF4: guard (0x80...0x8F).contains(second) else { return false }  // <= U+10FFFF
                default: guard isContinuation(second) else { return false }
                }
                i += 4
            default:
                return false  // continuation byte without a lead, C0, C1, F5...FF
            }
        }
    }

    @inlinable
    static func isContinuation(_ byte: UInt8) -> Bool {
        byte & 0xC0 == 0x80
    }
}
