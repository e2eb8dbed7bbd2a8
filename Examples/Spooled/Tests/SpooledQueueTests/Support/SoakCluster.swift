import Foundation
import Synchronization

/// Spooled server and worker processes for the fault soak, each restartable on its port after a
/// SIGKILL, with every incarnation's output kept.
final class SoakProcess: Sendable {
    let name: String
    private let executable: URL
    private let arguments: [String]
    private let current = Mutex<Child?>(nil)
    private let finishedOutputs = Mutex<[String]>([])

    init(name: String, executable: String, arguments: [String]) {
        self.name = name
        self.executable = binDirectory.appending(path: executable)
        self.arguments = arguments
    }

    /// Starts it and waits for the line that says it is ready.
    func start(readyWhen marker: String) async throws {
        let child = try Child(executable, arguments, name: name)
        current.withLock { $0 = child }
        _ = try await child.line(containing: marker, timeout: .seconds(60))
    }

    /// SIGKILL, as a crash: no shutdown code runs.
    func crash() async {
        guard let child = current.withLock({ $0 }) else { return }
        let ended = await child.signal(SIGKILL)
        finishedOutputs.withLock { $0.append(ended.output) }
        current.withLock { $0 = nil }
    }

    /// SIGTERM, and the output once it has exited.
    func stop() async -> Int32? {
        guard let child = current.withLock({ $0 }) else { return nil }
        let ended = await child.signal(SIGTERM)
        finishedOutputs.withLock { $0.append(ended.output) }
        current.withLock { $0 = nil }
        return ended.status
    }

    var isRunning: Bool { current.withLock { $0?.isRunning ?? false } }

    /// The output of every incarnation so far, the running one's included.
    var outputs: [String] {
        finishedOutputs.withLock { $0 } + (current.withLock { $0?.output }.map { [$0] } ?? [])
    }
}

/// A free TCP port on loopback, for a server that must come back on the same one.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ChildError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw ChildError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
