import CompressNIO
import NIOCore
import Sluice

/// The message encodings Sluice speaks (`grpc-encoding`): identity, gzip and deflate.
/// gRPC's "deflate" is the zlib format (RFC 1950), as grpc-go and C-core write it.
enum MessageCompression {
    /// Encodings this side accepts, for `grpc-accept-encoding`.
    static let acceptEncoding = "identity,deflate,gzip"
    /// ``acceptEncoding``, split.
    static let acceptedNames = ["identity", "deflate", "gzip"]

    static func isSupported(_ name: String) -> Bool {
        name == "identity" || name == "gzip" || name == "deflate"
    }

    private static func zlibAlgorithm(_ encoding: Sluice.CompressionAlgorithm) -> CompressNIO.CompressionAlgorithm? {
        switch encoding.name {
        case "gzip": return .gzip()
        case "deflate": return .zlib()
        default: return nil
        }
    }

    /// Compresses `bytes` with `encoding`.
    static func compress(_ bytes: [UInt8], with encoding: Sluice.CompressionAlgorithm, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = allocator.buffer(bytes: bytes)
        guard let algorithm = zlibAlgorithm(encoding) else { return input }
        return try input.compress(with: algorithm, allocator: allocator)
    }

    /// Decompresses `buffer`, refusing output over `limit` bytes: a small message must not
    /// inflate past the receive limit.
    static func decompress(_ buffer: ByteBuffer, with encoding: Sluice.CompressionAlgorithm, limit: Int,
                           allocator: ByteBufferAllocator) throws -> ByteBuffer {
        guard let algorithm = zlibAlgorithm(encoding) else { return buffer }
        var capacity = min(limit + 1, max(4096, buffer.readableBytes * 4))
        while true {
            var input = buffer
            var output = allocator.buffer(capacity: capacity)
            do {
                try input.decompress(to: &output, with: algorithm)
                guard output.readableBytes <= limit else { break }
                return output
            } catch let error as CompressNIOError where error == .bufferOverflow {
                guard capacity <= limit else { break }
                capacity = min(capacity * 2, limit + 1)
            } catch {
                throw RPCError(code: .internal, message: "could not decompress a \(encoding) message: \(error)")
            }
        }
        throw RPCError(code: .resourceExhausted, message: "decompressed message exceeds the \(limit)-byte limit")
    }
}
