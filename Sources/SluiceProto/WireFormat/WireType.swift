/// The wire type stored in the low three bits of every field tag.
///
/// See the protobuf encoding guide, "Message Structure". Types 6 and 7 are not defined and are
/// rejected by ``WireReader`` with ``ProtobufDecodingError/Kind/invalidWireType(_:)``.
public enum WireType: UInt8, Sendable, Hashable {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, embedded messages, packed repeated fields.
    case lengthDelimited = 2
    /// proto2 group start (deprecated but still on the wire).
    case startGroup = 3
    /// proto2 group end.
    case endGroup = 4
    /// fixed32, sfixed32, float.
    case fixed32 = 5
}

/// Field numbers are 29-bit positive integers (protobuf language guide, "Assigning Field Numbers").
public enum FieldNumber {
    /// The largest legal field number, 2^29 - 1.
    public static let max = 536_870_911
}
