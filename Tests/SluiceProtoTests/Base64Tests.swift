import Foundation
import SluiceProto
import Testing

@Suite("Base64 (the embedded descriptors' encoding)")
struct Base64Tests {
    @Test("every length from 0 to 300 round-trips and matches Foundation's encoding both ways")
    func roundTrips() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString(), "length \(length)")
            #expect(Base64.decode(text) == bytes, "length \(length)")
            #expect(Base64.decode(Data(bytes).base64EncodedString(options: .lineLength76Characters)) == bytes)
        }
    }

    @Test("whitespace and line breaks are skipped; padding may be left out")
    func lenient() {
        #expect(Base64.decode("  aGVs\n bG8=\r\n") == Array("hello".utf8))
        #expect(Base64.decode("aGVsbG8") == Array("hello".utf8))
        #expect(Base64.decode("aGk") == Array("hi".utf8))
    }

    @Test("bytes outside the alphabet, data after padding, and a lone final character are refused")
    func refuses() {
        #expect(Base64.decode("aGVs*G8=") == nil)
        #expect(Base64.decode("aGk=aGk=") == nil)
        #expect(Base64.decode("aGVsb") == nil)
        #expect(Base64.decode("aGk===") == nil)
        #expect(Base64.decode("aGVsbG8-") == nil)
    }
}
