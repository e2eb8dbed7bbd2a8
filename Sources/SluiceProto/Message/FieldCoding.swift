#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The per-field helpers generated code calls. Each shape of field (singular, repeated,
// packed, map, message, group, closed enum) is decoded, measured and encoded here once.

// MARK: - Decoding

extension WireReader {
    /// Reads a singular value.
    @inlinable
    public mutating func read<C: FieldCodec>(_ codec: C.Type, fieldNumber: Int) throws -> C.Value {
        try C.read(from: &self, fieldNumber: fieldNumber)
    }

    /// Appends one value, or a packed run of values, to a repeated scalar field. Both wire
    /// forms are accepted whatever the field's `packed` option says, as the spec requires.
    @inlinable
    public mutating func readRepeated<C: PackableCodec>(
        _ codec: C.Type, into values: inout [C.Value], wireType: WireType, fieldNumber: Int
    ) throws {
        guard wireType == .lengthDelimited else {
            values.append(try C.read(from: &self, fieldNumber: fieldNumber))
            return
        }
        let length = try readLength()
        let outerLimit = limit
        limit = position + length
        defer { limit = outerLimit }
        // The run's values are counted first (fixed: from the length; varints: the bytes without
        // a continuation bit) and written straight into an array of that capacity: no growth,
        // no uniqueness or capacity check per value.
        let count: Int
        if let fixed = C.fixedSize {
            guard length % fixed == 0 else {
                // A partial last value: read one by one, so that the error says where it is.
                while position < limit { values.append(try C.read(from: &self, fieldNumber: fieldNumber)) }
                return
            }
            count = length / fixed
        } else {
            count = countVarints(in: length)
        }
        let run = try [C.Value](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            if C.storesWireBytes, MemoryLayout<C.Value>.size == C.fixedSize, let destination = buffer.baseAddress {
                UnsafeMutableRawPointer(destination).copyMemory(from: base + position, byteCount: length)
                position += length
                initialized = count
                return
            }
            #endif
            while initialized < count {
                buffer[initialized] = try C.read(from: &self, fieldNumber: fieldNumber)
                initialized += 1
            }
        }
        if position < limit {
            // Only bytes with a continuation bit are left (every varint's last byte was
            // counted): an unterminated varint, which reading reports with its offset.
            _ = try C.read(from: &self, fieldNumber: fieldNumber)
            throw error(.truncated)
        }
        if values.isEmpty { values = run } else { values.append(contentsOf: run) }
    }

    /// How many varints end in the next `length` bytes: the bytes without a continuation bit,
    /// counted eight at a time.
    @inlinable
    func countVarints(in length: Int) -> Int {
        var count = 0
        var offset = position
        let end = position + length
        while end - offset >= 8 {
            let word = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            count += 8 - (word & 0x8080_8080_8080_8080).nonzeroBitCount
            offset += 8
        }
        while offset < end {
            if base.load(fromByteOffset: offset, as: UInt8.self) < 0x80 { count += 1 }
            offset += 1
        }
        return count
    }

    /// Appends one value to a repeated length-delimited field (strings, bytes).
    @inlinable
    public mutating func readRepeated<C: FieldCodec>(
        _ codec: C.Type, into values: inout [C.Value], fieldNumber: Int
    ) throws {
        values.append(try C.read(from: &self, fieldNumber: fieldNumber))
    }

    /// Reads a singular closed-enum field; an unknown value goes to `unknownFields`.
    @inlinable
    public mutating func readClosedEnum<E: ProtoEnum>(
        _ type: E.Type, fieldNumber: Int, unknownFields: inout UnknownFields
    ) throws -> E? {
        let value = try ProtoEnumCodec<E>.readIfKnown(from: &self, fieldNumber: fieldNumber)
        if value == nil { captureField(into: &unknownFields) }
        return value
    }

    /// Appends to a repeated closed-enum field, packed or not. Unknown values are kept as
    /// unpacked varint fields in `unknownFields`, as the C++ runtime does.
    @inlinable
    public mutating func readRepeatedClosedEnum<E: ProtoEnum>(
        _ type: E.Type, into values: inout [E], wireType: WireType, fieldNumber: Int,
        unknownFields: inout UnknownFields
    ) throws {
        guard wireType == .lengthDelimited else {
            if let value = try readClosedEnum(E.self, fieldNumber: fieldNumber, unknownFields: &unknownFields) {
                values.append(value)
            }
            return
        }
        let length = try readLength()
        let outerLimit = limit
        limit = position + length
        while position < limit {
            let raw = try readVarint()
            if let value = E(rawValue: Int(Int32(truncatingIfNeeded: raw))) {
                values.append(value)
            } else {
                unknownFields.appendVarintField(fieldNumber, raw)
            }
        }
        limit = outerLimit
    }

    /// Merges an embedded message into an optional field, creating it if absent.
    @inlinable
    public mutating func readMessage<M: Message>(into field: inout M?) throws {
        // Moving the value out (rather than copying it) keeps its storage uniquely referenced,
        // so merging mutates in place.
        var message = field.take() ?? M()
        try mergeMessage(into: &message)
        field = consume message
    }

    /// Merges an embedded message into a boxed (recursive) optional field.
    @inlinable
    public mutating func readMessage<M: Message>(into field: inout Indirect<M>?) throws {
        var message = field.take()?.wrapped ?? M()
        try mergeMessage(into: &message)
        field = Indirect(consume message)
    }

    /// Appends an embedded message to a repeated field.
    @inlinable
    public mutating func readRepeatedMessage<M: Message>(into values: inout [M]) throws {
        // Decoded in place in the array: no temporary to copy in and release. On error the
        // whole decode fails, so a half-filled last element is never seen.
        values.append(M())
        try mergeMessage(into: &values[values.count - 1])
    }

    /// Merges a group into an optional field.
    @inlinable
    public mutating func readGroup<M: Message>(into field: inout M?, fieldNumber: Int) throws {
        var message = field.take() ?? M()
        try mergeGroup(into: &message, fieldNumber: fieldNumber)
        field = consume message
    }

    /// Merges a group into a boxed (recursive) optional field.
    @inlinable
    public mutating func readGroup<M: Message>(into field: inout Indirect<M>?, fieldNumber: Int) throws {
        var message = field.take()?.wrapped ?? M()
        try mergeGroup(into: &message, fieldNumber: fieldNumber)
        field = Indirect(consume message)
    }

    /// Appends a group to a repeated field.
    @inlinable
    public mutating func readRepeatedGroup<M: Message>(into values: inout [M], fieldNumber: Int) throws {
        values.append(M())
        try mergeGroup(into: &values[values.count - 1], fieldNumber: fieldNumber)
    }

    /// Reads one map entry (a length-delimited message with key 1 and value 2) into `map`.
    /// A missing key or value takes its type's default. An entry whose closed-enum value is
    /// unknown is kept whole in `unknownFields`.
    @inlinable
    public mutating func readMapEntry<K: MapKeyCodec, V: FieldCodec>(
        _ key: K.Type, _ value: V.Type, into map: inout [K.Value: V.Value], unknownFields: inout UnknownFields
    ) throws where K.Value: Hashable {
        let entryStart = fieldStart
        let length = try readLength()
        let outerLimit = limit
        let outerGroup = openGroup
        limit = position + length
        openGroup = 0
        depth += 1
        guard depth <= options.recursionLimit else {
            throw error(.recursionLimitExceeded(limit: options.recursionLimit))
        }
        var k = K.defaultValue
        var v: V.Value? = V.defaultValue
        var scratch = UnknownFields()
        while let (number, wireType) = try nextTag() {
            if number == 1 && wireType == K.wireType {
                k = try K.read(from: &self, fieldNumber: 1)
            } else if number == 2 && wireType == V.wireType {
                v = try V.readIfKnown(from: &self, fieldNumber: 2)
            } else {
                try skipField(wireType: wireType, fieldNumber: number, into: &scratch)
            }
        }
        depth -= 1
        openGroup = outerGroup
        limit = outerLimit
        if let v {
            map[k] = v
        } else {
            unknownFields.append(UnsafeRawBufferPointer(start: base + entryStart, count: position - entryStart))
        }
        fieldStart = entryStart
    }
}

extension UnknownFields {
    /// Appends a varint field, for unknown values found inside a packed closed-enum field.
    @inlinable
    public mutating func appendVarintField(_ fieldNumber: Int, _ value: UInt64) {
        var scratch = [UInt8]()
        var v = UInt64(fieldNumber) << 3
        for _ in 0..<2 {
            while v >= 0x80 {
                scratch.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            scratch.append(UInt8(v))
            v = value
        }
        bytes.append(contentsOf: scratch)
    }
}

// MARK: - Sizing

extension SizeCache {
    /// Size of a singular field, tag included.
    @inlinable
    public mutating func size<C: FieldCodec>(_ codec: C.Type, field: Int, _ value: C.Value) -> Int {
        WireSize.tag(field) + C.size(of: value, cache: &self)
    }

    /// Size of an unpacked repeated field.
    @inlinable
    public mutating func sizeRepeated<C: FieldCodec>(_ codec: C.Type, field: Int, _ values: [C.Value]) -> Int {
        if values.isEmpty { return 0 }
        var total = WireSize.tag(field) * values.count
        for value in values { total += C.size(of: value, cache: &self) }
        return total
    }

    /// Size of a packed repeated field. A varint payload's length is cached for the writer.
    @inlinable
    public mutating func sizePacked<C: PackableCodec>(_ codec: C.Type, field: Int, _ values: [C.Value]) -> Int {
        if values.isEmpty { return 0 }
        let payload: Int
        if let fixed = C.fixedSize {
            payload = fixed * values.count
        } else {
            let slot = reserveSlot()
            var sum = 0
            for value in values { sum += C.size(of: value, cache: &self) }
            fill(slot, with: sum)
            payload = sum
        }
        return WireSize.tag(field) + WireSize.lengthDelimited(payload)
    }

    /// Size of an embedded message field.
    @inlinable
    public mutating func sizeMessage<M: Message>(field: Int, _ value: M) -> Int {
        WireSize.tag(field) + ProtoMessageCodec<M>.size(of: value, cache: &self)
    }

    /// Size of a repeated embedded message field.
    @inlinable
    public mutating func sizeRepeatedMessage<M: Message>(field: Int, _ values: [M]) -> Int {
        sizeRepeated(ProtoMessageCodec<M>.self, field: field, values)
    }

    /// Size of a group field: start tag, fields, end tag.
    @inlinable
    public mutating func sizeGroup<M: Message>(field: Int, _ value: M) -> Int {
        2 * WireSize.tag(field) + value.computeSize(&self)
    }

    /// Size of a repeated group field.
    @inlinable
    public mutating func sizeRepeatedGroup<M: Message>(field: Int, _ values: [M]) -> Int {
        var total = 0
        for value in values { total += sizeGroup(field: field, value) }
        return total
    }

    /// Size of a map field. Each entry's size is cached for the writer.
    @inlinable
    public mutating func sizeMap<K: MapKeyCodec, V: FieldCodec>(
        _ key: K.Type, _ value: V.Type, field: Int, _ map: [K.Value: V.Value]
    ) -> Int where K.Value: Hashable {
        if map.isEmpty { return 0 }
        var total = WireSize.tag(field) * map.count
        if deterministic {
            for (k, v) in map.sorted(by: { K.less($0.key, $1.key) }) {
                total += sizeMapEntry(K.self, V.self, k, v)
            }
        } else {
            for (k, v) in map { total += sizeMapEntry(K.self, V.self, k, v) }
        }
        return total
    }

    @inlinable
    mutating func sizeMapEntry<K: MapKeyCodec, V: FieldCodec>(_ key: K.Type, _ value: V.Type, _ k: K.Value, _ v: V.Value) -> Int {
        let slot = reserveSlot()
        let entry = 2 + K.size(of: k, cache: &self) + V.size(of: v, cache: &self)
        fill(slot, with: entry)
        return WireSize.lengthDelimited(entry)
    }
}

// MARK: - Encoding

extension WireWriter {
    /// Writes a singular field.
    @inlinable
    public mutating func write<C: FieldCodec>(_ codec: C.Type, field: Int, _ value: C.Value) {
        writeTag(field, C.wireType)
        C.write(value, to: &self)
    }

    /// Writes an unpacked repeated field.
    @inlinable
    public mutating func writeRepeated<C: FieldCodec>(_ codec: C.Type, field: Int, _ values: [C.Value]) {
        for value in values {
            writeTag(field, C.wireType)
            C.write(value, to: &self)
        }
    }

    /// Writes a packed repeated field.
    @inlinable
    public mutating func writePacked<C: PackableCodec>(_ codec: C.Type, field: Int, _ values: [C.Value]) {
        if values.isEmpty { return }
        writeTag(field, .lengthDelimited)
        if let fixed = C.fixedSize {
            writeVarint(UInt64(fixed * values.count))
            #if _endian(little)
            if C.storesWireBytes, MemoryLayout<C.Value>.size == fixed {
                // The array's memory is the run's wire bytes: one copy.
                values.withUnsafeBytes { writeRaw($0) }
                return
            }
            #endif
        } else {
            writeVarint(UInt64(takeCachedSize()))
        }
        for value in values { C.write(value, to: &self) }
    }

    /// Writes an embedded message field.
    @inlinable
    public mutating func writeMessage<M: Message>(field: Int, _ value: M) {
        write(ProtoMessageCodec<M>.self, field: field, value)
    }

    /// Writes a repeated embedded message field.
    @inlinable
    public mutating func writeRepeatedMessage<M: Message>(field: Int, _ values: [M]) {
        writeRepeated(ProtoMessageCodec<M>.self, field: field, values)
    }

    /// Writes a group field.
    @inlinable
    public mutating func writeGroup<M: Message>(field: Int, _ value: M) {
        writeTag(field, .startGroup)
        value.encode(to: &self)
        writeTag(field, .endGroup)
    }

    /// Writes a repeated group field.
    @inlinable
    public mutating func writeRepeatedGroup<M: Message>(field: Int, _ values: [M]) {
        for value in values { writeGroup(field: field, value) }
    }

    /// Writes a map field, one entry message per key, in the order the size pass used.
    @inlinable
    public mutating func writeMap<K: MapKeyCodec, V: FieldCodec>(
        _ key: K.Type, _ value: V.Type, field: Int, _ map: [K.Value: V.Value]
    ) where K.Value: Hashable {
        if map.isEmpty { return }
        if deterministic {
            for (k, v) in map.sorted(by: { K.less($0.key, $1.key) }) {
                writeMapEntry(K.self, V.self, field: field, k, v)
            }
        } else {
            for (k, v) in map { writeMapEntry(K.self, V.self, field: field, k, v) }
        }
    }

    @inlinable
    mutating func writeMapEntry<K: MapKeyCodec, V: FieldCodec>(
        _ key: K.Type, _ value: V.Type, field: Int, _ k: K.Value, _ v: V.Value
    ) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(takeCachedSize()))
        writeTag(1, K.wireType)
        K.write(k, to: &self)
        writeTag(2, V.wireType)
        V.write(v, to: &self)
    }
}
