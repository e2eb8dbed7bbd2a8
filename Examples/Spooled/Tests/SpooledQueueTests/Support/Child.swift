import Foundation
import Synchronization

/// The Spooled package's folder, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The folder of the built executables (`spooled-server`, `spooled-worker`), beside the tests.
let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

/// A process the tests start: a server, a worker, the PostgreSQL cluster's keeper.
///
/// Nothing here blocks a thread of Swift's cooperative pool: a plain `Thread` reads the output,
/// Foundation's termination handler records the exit, and the async methods poll those. Its
/// standard input is a pipe held open until ``closeInput()`` or the test process ends, which is
/// how `throwaway-postgres serve` knows when to stop its cluster.
final class Child: Sendable {
    private struct State {
        var output = Data()
        var exitStatus: Int32?
        var outputEnded = false
    }

    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    private let process: Process
    private let input: FileHandle
    let pid: Int32
    let name: String

    init(_ executable: URL, _ arguments: [String], name: String? = nil, environment: [String: String]? = nil) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input
        let box = self.box
        process.terminationHandler = { ended in box.state.withLock { $0.exitStatus = ended.terminationStatus } }
        try process.run()
        try? output.fileHandleForWriting.close()
        try? input.fileHandleForReading.close()
        self.process = process
        self.input = input.fileHandleForWriting
        self.pid = process.processIdentifier
        self.name = name ?? executable.lastPathComponent
        let reading = output.fileHandleForReading
        Thread {
            while case let chunk = reading.availableData, !chunk.isEmpty {
                box.state.withLock { $0.output.append(chunk) }
            }
            box.state.withLock { $0.outputEnded = true }
        }.start()
    }

    var output: String { box.state.withLock { String(decoding: $0.output, as: UTF8.self) } }
    var isRunning: Bool { box.state.withLock { $0.exitStatus == nil } }

    /// The first whole output line containing `marker` (any line, when nil), waiting for it up
    /// to `timeout`.
    func line(containing marker: String?, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (text, ended) = box.state.withLock { (String(decoding: $0.output, as: UTF8.self), $0.outputEnded) }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if let line = lines.first(where: { marker.map($0.contains) ?? true }) { return String(line) }
            if ended || ContinuousClock.now > deadline {
                throw ChildError("\(name) printed no line with '\(marker ?? "")'; its output: \(text.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the exit; returns the status and the whole output.
    @discardableResult
    func exit() async -> (status: Int32, output: String) {
        while true {
            let ended = box.state.withLock { state -> (Int32, String)? in
                guard let status = state.exitStatus, state.outputEnded else { return nil }
                return (status, String(decoding: state.output, as: UTF8.self))
            }
            if let ended { return ended }
            do {
                try await Task.sleep(for: .milliseconds(10))
            } catch {
                // Cancelled (a test's time limit): end the child rather than spin on a sleep
                // that no longer waits.
                kill(pid, SIGKILL)
                await Task.yield()
            }
        }
    }

    /// Sends `signal` and waits for the exit.
    @discardableResult
    func signal(_ signal: Int32) async -> (status: Int32, output: String) {
        if isRunning { kill(pid, signal) }
        return await exit()
    }

    /// Ends standard input: the child sees end of file.
    func closeInput() {
        try? input.close()
    }
}

struct ChildError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
