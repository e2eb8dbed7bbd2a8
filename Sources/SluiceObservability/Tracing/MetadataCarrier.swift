import Instrumentation
import Sluice

/// Writes trace context (W3C `traceparent`/`tracestate`, or whatever the bootstrapped
/// instrument uses) into a call's request metadata.
public struct MetadataInjector: Injector {
    public init() {}

    public func inject(_ value: String, forKey key: String, into metadata: inout Metadata) {
        let name = key.lowercased()
        metadata.removeAll(name)
        metadata.add(name, .string(value))
    }
}

/// Reads trace context from a call's request metadata.
public struct MetadataExtractor: Extractor {
    public init() {}

    public func extract(key: String, from metadata: Metadata) -> String? {
        if case .string(let value)? = metadata[key.lowercased()].first { return value }
        return nil
    }
}
