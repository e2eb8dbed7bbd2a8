import Foundation
import Synchronization

/// The Python OTLP/HTTP receiver (Receiver/otlp_receiver.py, on opentelemetry-proto), run as
/// a child process; it prints one JSON line per span it decodes. Nothing here blocks a
/// thread: output arrives through a readability handler, the exit through a termination
/// handler.
final class OTLPReceiver: Sendable {
    /// A span as the receiver decoded it.
    struct Span: Decodable, Sendable {
        var resource: [String: JSONScalar]
        var name: String
        var kind: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var attributes: [String: JSONScalar]
        var events: [String]
        var status: String
        var statusMessage: String

        enum CodingKeys: String, CodingKey {
            case resource, name, kind, attributes, events, status
            case traceID = "trace_id", spanID = "span_id", parentSpanID = "parent_span_id", statusMessage = "status_message"
        }
    }

    private let process: Process
    private let output = Mutex(Data())
    private let exited = Mutex(false)

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "Receiver/otlp_receiver.py")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            output.withLock { $0.append(chunk) }
        }
        let exited = self.exited
        process.terminationHandler = { _ in exited.withLock { $0 = true } }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    private var lines: [Substring] {
        output.withLock { String(decoding: $0, as: UTF8.self) }.split(separator: "\n")
    }

    /// The port it listens on, once it says.
    func port() async throws -> Int {
        for _ in 0..<200 {
            if let line = lines.first(where: { $0.hasPrefix("otlp-receiver listening on ") }),
               let port = Int(line.split(separator: " ").last ?? "") {
                return port
            }
            if exited.withLock({ $0 }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ReceiverError.didNotStart(lines.joined(separator: "\n"))
    }

    /// Every span decoded so far.
    func spans() throws -> [Span] {
        let decoder = JSONDecoder()
        return try lines.filter { $0.hasPrefix("{\"attributes\"") }.map { try decoder.decode(Span.self, from: Data($0.utf8)) }
    }

    /// Requests it refused (malformed, wrong path or type), as it reported them.
    var rejections: [Substring] { lines.filter { $0.hasPrefix("{\"message\"") } }

    func stop() {
        process.terminate()
    }

    enum ReceiverError: Error {
        case didNotStart(String)
    }
}

/// A JSON attribute value as the receiver prints it.
enum JSONScalar: Decodable, Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .other
        }
    }
}
