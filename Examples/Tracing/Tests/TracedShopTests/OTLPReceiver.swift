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

    /// What the process wrote, and whether it has exited: a box of its own, because the
    /// process's handlers must capture it before `self` exists.
    private final class Output: Sendable {
        let data = Mutex(Data())
        let exited = Mutex(false)
    }

    private let process: Process
    private let output = Output()
    /// The receiver's stdin: it exits when this closes, so it dies with the test process.
    private let lifeline = Pipe()

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "Receiver/otlp_receiver.py")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = lifeline
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            output.data.withLock { $0.append(chunk) }
        }
        process.terminationHandler = { _ in output.exited.withLock { $0 = true } }
        try process.run()
    }

    deinit {
        stop()
    }

    private var lines: [Substring] {
        output.data.withLock { String(decoding: $0, as: UTF8.self) }.split(separator: "\n")
    }

    /// The port it listens on, once it says.
    func port() async throws -> Int {
        for _ in 0..<200 {
            if let line = lines.first(where: { $0.hasPrefix("otlp-receiver listening on ") }),
               let port = Int(line.split(separator: " ").last ?? "") {
                return port
            }
            if output.exited.withLock({ $0 }) { break }
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

    /// Ends the receiver: SIGKILL, which it cannot ignore, then its stdin closed.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? lifeline.fileHandleForWriting.close()
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
