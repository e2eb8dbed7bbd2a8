/// A generated protobuf enum.
///
/// Open (proto3) enums keep values they do not know in an `UNRECOGNIZED(Int)` case, so
/// `init(rawValue:)` always succeeds. Closed (proto2) enums return nil, and the decoder keeps
/// the field in the message's unknown fields instead.
public protocol ProtoEnum: Sendable, Hashable {
    /// The default value, the first one declared.
    init()
    /// The value for `rawValue`, or nil for a closed enum that does not know it.
    init?(rawValue: Int)
    /// The numeric value on the wire.
    var rawValue: Int { get }
}
