#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The wrapper types in JSON: the wrapped value in its own JSON form (`Int64Value` a string,
/// `BytesValue` base64), and `null` for an unset wrapper field.
public protocol JSONWrapperMessage: JSONMessage {
    /// The codec of the wrapped field.
    associatedtype Codec: JSONFieldCodec
    /// The wrapped value.
    var value: Codec.Value { get set }
}

extension JSONWrapperMessage {
    public static var isJSONObjectOfFields: Bool { false }

    public func encodeJSON(to encoder: inout ProtoJSONEncoder) throws {
        try Codec.writeJSON(value, to: &encoder)
    }

    public mutating func mergeJSON(from decoder: inout ProtoJSONDecoder) throws {
        if let decoded = try Codec.readJSON(from: &decoder) { value = decoded }
    }
}

extension Google_Protobuf_DoubleValue: JSONWrapperMessage { public typealias Codec = ProtoDouble }
extension Google_Protobuf_FloatValue: JSONWrapperMessage { public typealias Codec = ProtoFloat }
extension Google_Protobuf_Int64Value: JSONWrapperMessage { public typealias Codec = ProtoInt64 }
extension Google_Protobuf_UInt64Value: JSONWrapperMessage { public typealias Codec = ProtoUInt64 }
extension Google_Protobuf_Int32Value: JSONWrapperMessage { public typealias Codec = ProtoInt32 }
extension Google_Protobuf_UInt32Value: JSONWrapperMessage { public typealias Codec = ProtoUInt32 }
extension Google_Protobuf_BoolValue: JSONWrapperMessage { public typealias Codec = ProtoBool }
extension Google_Protobuf_StringValue: JSONWrapperMessage { public typealias Codec = ProtoString }
extension Google_Protobuf_BytesValue: JSONWrapperMessage { public typealias Codec = ProtoBytes }
