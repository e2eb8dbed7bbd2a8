import Sluice
import SluiceProto

extension ServiceInstance {
    /// The instance as the registry stores it: the JSON mapping of
    /// `sluice.discovery.v1.ServiceInstance`.
    func registryValue() throws -> [UInt8] {
        var record = Sluice_Discovery_V1_ServiceInstance()
        record.service = service
        record.instanceID = id
        record.address = address
        record.version = version
        record.zone = zone
        record.weight = UInt32(clamping: weight)
        record.tags = tags
        record.metadata = metadata
        return try record.jsonUTF8Bytes()
    }

    /// An instance read back from the registry. Unknown fields are ignored (a newer writer);
    /// the key's service and id win over the value's, so a value copied under another key
    /// still names where it lives.
    ///
    /// - Throws: What is wrong with the JSON, or a missing address.
    init(registryValue value: [UInt8], service: String, id: String) throws {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        options.maxBytes = 64 << 10
        let record = try Sluice_Discovery_V1_ServiceInstance(jsonUTF8Bytes: value, options: options)
        guard !record.address.isEmpty else { throw EtcdError.protocolViolation("the registry value of \(service)/\(id) has no address") }
        self.init(service: service, id: id, address: record.address, version: record.version, zone: record.zone,
                  weight: record.weight == 0 ? 1 : Int(record.weight), tags: record.tags, metadata: record.metadata)
    }
}
