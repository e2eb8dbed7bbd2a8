import Foundation
import Synchronization

/// The repository root, found from this file's path.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The folder holding the test bundle and the package's built executables.
public let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

/// A child process started by a test, waited for without blocking a thread of Swift's
/// cooperative pool.
///
/// Its combined output is read by a thread of its own (a plain `Thread`, not one of the
/// concurrency runtime's few), and its exit is reported by Foundation's termination handler;
/// the async methods poll what those two recorded. Blocking `waitUntilExit()` or
/// `readDataToEndOfFile()` inside an async test holds one of the runtime's threads (two on
/// this machine) for the whole child's life, which starves every other test running beside.
public final class ChildProcess: Sendable {
    private struct State {
        var output = Data()
        var outputClosed = false
        var status: Int32?
    }

    /// Shared with the termination handler and the reader thread, which start before `self`
    /// is whole.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let process: Process
    private let shared: Shared

    /// The child's process ID.
    public let processIdentifier: Int32

    /// Starts `executable` (looked up in `PATH` through `/usr/bin/env`) with `arguments`.
    public init(_ executable: String, _ arguments: [String], in directory: URL = repositoryRoot,
                environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        process.currentDirectoryURL = directory
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let shared = Shared()
        process.terminationHandler = { finished in
            let status = finished.terminationStatus
            shared.state.withLock { $0.status = status }
        }
        try process.run()
        self.process = process
        self.shared = shared
        self.processIdentifier = process.processIdentifier
        // The parent's copy of the write end must go, or the reader never sees end of file.
        try? pipe.fileHandleForWriting.close()
        let reading = pipe.fileHandleForReading
        let reader = Thread {
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                shared.state.withLock { $0.output.append(chunk) }
            }
            shared.state.withLock { $0.outputClosed = true }
        }
        reader.start()
    }

    /// Everything the child printed so far.
    public var output: String {
        shared.state.withLock { String(decoding: $0.output, as: UTF8.self) }
    }

    /// Whether the child is still running.
    public var isRunning: Bool { shared.state.withLock { $0.status == nil } }

    /// Waits until a line of output contains `marker` and returns that line.
    public func waitForLine(containing marker: String, timeout: Duration = .seconds(60)) async throws -> String {
        let end = ContinuousClock.now + timeout
        while true {
            let (text, over) = shared.state.withLock { (String(decoding: $0.output, as: UTF8.self), $0.outputClosed) }
            if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            if over || ContinuousClock.now >= end {
                throw ChildProcessError(description: "no line with '\(marker)' in: \(text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the child to exit and its output to end; returns its status and all of it.
    public func finish() async -> (status: Int32, output: String) {
        while true {
            let done = shared.state.withLock { state -> (Int32, String)? in
                guard let status = state.status, state.outputClosed else { return nil }
                return (status, String(decoding: state.output, as: UTF8.self))
            }
            if let done { return done }
            // Not `Task.sleep`'s error: a cancelled test still reaps its child.
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends `signal` (SIGKILL unless told otherwise) and waits for the child to exit. SIGKILL
    /// by default because a child inherits the spawning thread's signal mask, and the test
    /// runner's threads may block SIGTERM.
    public func kill(_ signal: Int32 = SIGKILL) async {
        if isRunning { Foundation.kill(processIdentifier, signal) }
        _ = await finish()
    }

    /// For `defer` blocks, which cannot await: signals the child and lets it be reaped in the
    /// background.
    public func killNow() {
        if isRunning { Foundation.kill(processIdentifier, SIGKILL) }
    }
}

/// A child process did not print what a test waited for.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Runs a command to completion (in the repository root unless told otherwise) and returns
/// its exit status and combined output, without blocking a cooperative thread.
public func run(_ executable: String, _ arguments: [String], in directory: URL = repositoryRoot,
                environment: [String: String]? = nil) async throws -> (status: Int32, output: String) {
    try await ChildProcess(executable, arguments, in: directory, environment: environment).finish()
}

/// Reads records of (kind byte, varint length, bytes), as crosscheck.py writes them.
public func readRecords(_ data: [UInt8]) -> [(kind: UInt8, bytes: ArraySlice<UInt8>)] {
    var records: [(UInt8, ArraySlice<UInt8>)] = []
    var i = 0
    while i < data.count {
        let kind = data[i]
        i += 1
        var length = 0
        var shift = 0
        while true {
            let b = data[i]
            i += 1
            length |= Int(b & 0x7F) << shift
            shift += 7
            if b < 0x80 { break }
        }
        records.append((kind, data[i..<(i + length)]))
        i += length
    }
    return records
}

/// Appends a record in the same format.
public func appendRecord(_ kind: UInt8, _ bytes: [UInt8], to out: inout [UInt8]) {
    out.append(kind)
    var n = bytes.count
    while n >= 0x80 {
        out.append(UInt8(n & 0x7F) | 0x80)
        n >>= 7
    }
    out.append(UInt8(n))
    out += bytes
}

/// A value made once, on first use, by async work (a certificate folder, a peer built from
/// source): a `static let` initializer cannot await, and blocking in one would hold a
/// cooperative thread.
public actor AsyncOnce<Value: Sendable> {
    private var making: Task<Value, any Error>?

    public init() {}

    /// The value, made by `make` the first time; callers that come while it is being made
    /// wait for that same work (the actor is re-entered at the await, so a flag would let a
    /// second caller start it again).
    public func get(_ make: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let making { return try await making.value }
        let task = Task { try await make() }
        making = task
        return try await task.value
    }
}

private let testCertificatesOnce = AsyncOnce<URL>()

/// Test certificates made by scripts/make-test-certs, once per test process: `ca.pem`, and
/// `server.pem`/`server.key` and `client.pem`/`client.key` signed by it, valid for
/// localhost, foo.test.google.fr, 127.0.0.1 and ::1.
public func testCertificates() async throws -> URL {
    try await testCertificatesOnce.get {
        let dir = FileManager.default.temporaryDirectory.appending(path: "sluice-certs-\(getpid())")
        let made = try await run(repositoryRoot.appending(path: "scripts/make-test-certs").path, [dir.path])
        guard made.status == 0 else { throw ChildProcessError(description: "make-test-certs: \(made.output)") }
        return dir
    }
}
