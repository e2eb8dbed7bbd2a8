import Foundation
import Sluice

extension EtcdClient {
    /// The key `key` at the newest revision, or nil if it does not exist.
    public func get(_ key: String) async throws -> Mvccpb_KeyValue? {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        return try await range(request).kvs.first
    }

    /// Every key that starts with `prefix`, in key order, and the revision they were read at.
    ///
    /// - Parameter revision: Read at this revision; 0, the default, for the newest.
    public func get(prefix: String, revision: Int64 = 0) async throws -> (kvs: [Mvccpb_KeyValue], revision: Int64) {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(prefix.utf8)
        request.rangeEnd = Self.rangeEnd(ofPrefix: Data(prefix.utf8))
        request.revision = revision
        let response = try await range(request)
        return (response.kvs, response.header.revision)
    }

    /// A Range request as etcd takes it.
    public func range(_ request: Etcdserverpb_RangeRequest) async throws -> Etcdserverpb_RangeResponse {
        try await call { try await kv.range(request, metadata: [:], options: requestOptions).message }
    }

    /// Writes `value` at `key`, bound to `lease` (0 for none); returns the revision written.
    @discardableResult
    public func put(_ key: String, value: String, lease: Int64 = 0) async throws -> Int64 {
        try await put(key, value: Data(value.utf8), lease: lease)
    }

    /// Writes `value` at `key`, bound to `lease` (0 for none); returns the revision written.
    @discardableResult
    public func put(_ key: String, value: Data, lease: Int64 = 0) async throws -> Int64 {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key.utf8)
        request.value = value
        request.lease = lease
        return try await call { try await kv.put(request, metadata: [:], options: requestOptions).message.header.revision }
    }

    /// Deletes `key`; returns how many keys were deleted (0 or 1).
    @discardableResult
    public func delete(_ key: String) async throws -> Int64 {
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = Data(key.utf8)
        return try await call { try await kv.deleteRange(request, metadata: [:], options: requestOptions).message.deleted }
    }

    /// Deletes every key that starts with `prefix`; returns how many.
    @discardableResult
    public func delete(prefix: String) async throws -> Int64 {
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = Data(prefix.utf8)
        request.rangeEnd = Self.rangeEnd(ofPrefix: Data(prefix.utf8))
        return try await call { try await kv.deleteRange(request, metadata: [:], options: requestOptions).message.deleted }
    }

    /// A transaction as etcd takes it: if every comparison holds, the success operations,
    /// else the failure ones, atomically.
    public func txn(_ request: Etcdserverpb_TxnRequest) async throws -> Etcdserverpb_TxnResponse {
        try await call { try await kv.txn(request, metadata: [:], options: requestOptions).message }
    }

    /// Drops the history before `revision`: watches from earlier revisions then fail as
    /// compacted.
    public func compact(revision: Int64) async throws {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = true
        _ = try await call { try await kv.compact(request, metadata: [:], options: requestOptions) }
    }

    /// The end of the range of keys that start with `prefix`: the prefix with its last byte
    /// below 0xFF raised by one and what follows dropped; "\0" (every key) when every byte is
    /// 0xFF or the prefix is empty, as etcd's clientv3 computes it.
    public static func rangeEnd(ofPrefix prefix: Data) -> Data {
        var end = [UInt8](prefix)
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return Data(end)
            }
            end.removeLast()
        }
        return Data([0])
    }
}
