/// Heap storage for a message field whose type contains the message itself (directly or
/// through other messages), which a Swift struct cannot hold inline.
///
/// The generator boxes only fields on a reference cycle; other embedded messages stay inline.
public indirect enum Indirect<Value: Sendable & Hashable>: Sendable, Hashable {
    /// The boxed value.
    case value(Value)

    /// Boxes `value`.
    @inlinable
    public init(_ value: Value) { self = .value(value) }

    /// The boxed value.
    @inlinable
    public var wrapped: Value {
        get { switch self { case .value(let v): return v } }
        set { self = .value(newValue) }
    }
}
