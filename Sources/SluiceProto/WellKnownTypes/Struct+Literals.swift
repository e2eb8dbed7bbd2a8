// google.protobuf.Struct, Value and ListValue built from Swift literals:
// `let s: Google_Protobuf_Struct = ["name": "sluice", "tags": ["a", 1, true, nil]]`

extension Google_Protobuf_Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) {
        self.init()
        kind = .nullValue(.nullValue)
    }

    public init(booleanLiteral value: Bool) {
        self.init()
        kind = .boolValue(value)
    }

    public init(integerLiteral value: Int) {
        self.init()
        kind = .numberValue(Double(value))
    }

    public init(floatLiteral value: Double) {
        self.init()
        kind = .numberValue(value)
    }

    public init(stringLiteral value: String) {
        self.init()
        kind = .stringValue(value)
    }

    public init(arrayLiteral elements: Google_Protobuf_Value...) {
        self.init()
        kind = .listValue(Google_Protobuf_ListValue(values: elements))
    }

    public init(dictionaryLiteral elements: (String, Google_Protobuf_Value)...) {
        self.init()
        var fields: [String: Google_Protobuf_Value] = [:]
        for (key, value) in elements { fields[key] = value }
        kind = .structValue(Google_Protobuf_Struct(fields: fields))
    }
}

extension Google_Protobuf_Struct: ExpressibleByDictionaryLiteral {
    /// A struct with `fields`.
    public init(fields: [String: Google_Protobuf_Value]) {
        self.init()
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, Google_Protobuf_Value)...) {
        self.init()
        for (key, value) in elements { fields[key] = value }
    }

    /// The value of `key`, or nil.
    public subscript(key: String) -> Google_Protobuf_Value? {
        get { fields[key] }
        set { fields[key] = newValue }
    }
}

extension Google_Protobuf_ListValue: ExpressibleByArrayLiteral {
    /// A list of `values`.
    public init(values: [Google_Protobuf_Value]) {
        self.init()
        self.values = values
    }

    public init(arrayLiteral elements: Google_Protobuf_Value...) {
        self.init(values: elements)
    }
}
