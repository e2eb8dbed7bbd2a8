#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Fields a message did not recognise, kept as raw wire bytes in the order they arrived
/// and written back after the known fields.
public struct UnknownFields: Sendable, Hashable {
    /// The raw wire-format bytes: whole fields, tags included.
    public var bytes: Data

    /// No unknown fields.
    @inlinable
    public init() { bytes = Data() }

    /// Unknown fields from raw wire-format bytes.
    @inlinable
    public init(bytes: Data) { self.bytes = bytes }

    /// Whether there are none.
    @inlinable
    public var isEmpty: Bool { bytes.isEmpty }

    /// Their encoded size.
    @inlinable
    public var count: Int { bytes.count }

    /// Appends whole encoded fields.
    @inlinable
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }
}
