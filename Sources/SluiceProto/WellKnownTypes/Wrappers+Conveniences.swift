#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A wrapper well-known type (`google.protobuf.Int32Value` and friends): one `value` field.
public protocol ProtoWrapper: Message {
    associatedtype Wrapped
    var value: Wrapped { get set }
}

extension ProtoWrapper {
    /// A wrapper holding `value`.
    public init(_ value: Wrapped) {
        self.init()
        self.value = value
    }
}

extension Google_Protobuf_DoubleValue: ProtoWrapper, ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self.init(value) }
}
extension Google_Protobuf_FloatValue: ProtoWrapper, ExpressibleByFloatLiteral {
    public init(floatLiteral value: Float) { self.init(value) }
}
extension Google_Protobuf_Int64Value: ProtoWrapper, ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self.init(value) }
}
extension Google_Protobuf_UInt64Value: ProtoWrapper, ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt64) { self.init(value) }
}
extension Google_Protobuf_Int32Value: ProtoWrapper, ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int32) { self.init(value) }
}
extension Google_Protobuf_UInt32Value: ProtoWrapper, ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt32) { self.init(value) }
}
extension Google_Protobuf_BoolValue: ProtoWrapper, ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self.init(value) }
}
extension Google_Protobuf_StringValue: ProtoWrapper, ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}
extension Google_Protobuf_BytesValue: ProtoWrapper {}
