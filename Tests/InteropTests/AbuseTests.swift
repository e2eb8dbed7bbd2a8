import Foundation
import SluiceTestSupport
import Testing

/// What the attacker script reported for one attack.
struct AttackReport: CustomStringConvertible {
    let values: [String: Any]
    let raw: String

    init(output: String) throws {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }),
              let json = try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any] else {
            throw ChildProcessError(description: "the attacker reported nothing:\n\(output)")
        }
        values = json
        raw = String(line)
    }

    subscript(_ key: String) -> Any? { values[key] is NSNull ? nil : values[key] }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func string(_ key: String) -> String? { self[key] as? String }
    /// The error code of a GOAWAY the attacker received, if it received one.
    var goAwayCode: Int? { (self["goaway"] as? [Any])?.dropFirst().first.flatMap { ($0 as? NSNumber)?.intValue } }

    var description: String { raw }
}

/// A raw HTTP/2 attacker (Tests/Abuse/attacker.py, frames written by hand) against the
/// interop server in a child process: each attack checks that the server's resident memory
/// stays within its documented bound (`ServerBufferLimits`), that an ordinary client's calls,
/// made every 100 ms on another connection, all succeed meanwhile, and that the server lives.
@Suite("Abuse: a raw HTTP/2 attacker against the server", .serialized, .timeLimit(.minutes(10)))
struct AbuseTests {
    static let mebibyte = 1 << 20

    /// Starts the interop server (under `ulimit -n` when given), runs `attack`, and checks
    /// the common outcome.
    func attack(_ name: String, connections: Int = 1, descriptorLimit: Int? = nil,
                serverArguments: [String] = []) async throws -> AttackReport {
        let server = buildDirectory.appending(path: "interop-server").path
        let command = ([server, "--port", "0"] + serverArguments).joined(separator: " ")
        let limit = descriptorLimit.map { "ulimit -n \($0) && " } ?? ""
        let process = try ChildProcess("bash", ["-c", "\(limit)exec \(command)"])
        defer { process.killNow() }
        let port = String(try await process.waitForLine(containing: "listening on port").split(separator: " ").last ?? "")
        let run = try await ChildProcess("python3", [
            "Tests/Abuse/attacker.py", name, "--port", port, "--server-pid", String(process.processIdentifier),
            "--connections", String(connections),
        ]).finish()
        // A server that died is what the attacker fails on: say so with the server's output.
        #expect(process.isRunning, "the server died under \(name): \(process.output)")
        #expect(run.status == 0, "\(run.output)")
        let report = try AttackReport(output: run.output)
        #expect(report.int("ordinary_failed") == 0, "ordinary calls failed during \(name): \(report)")
        #expect((report.int("ordinary_ok") ?? 0) > 0, "no ordinary call completed during \(name): \(report)")
        return report
    }

    @Test("100 slow-reading streams a connection, each sent its window of 9-byte messages: memory stays bounded")
    func tinyMessages() async throws {
        let report = try await attack("tiny-messages", connections: 3)
        // Per connection: the receive budget (16 MiB) plus one connection window (4 MiB) as
        // received bytes; message objects are no longer made for calls that are behind.
        let peak = try #require(report.int("peak_growth"))
        #expect(peak < 3 * 40 * Self.mebibyte, "\(report)")
        // Past the budget of at least two of the connections (a loaded machine slows the
        // attacker more than the server).
        #expect((report.int("bytes_sent") ?? 0) > 2 * 16 * Self.mebibyte, "the attack did not get going: \(report)")
        // And it is given back: no tail of message objects once the connections are gone.
        #expect((report.int("final_growth") ?? .max) < 48 * Self.mebibyte, "\(report)")
    }

    @Test("100 streams asking for 40 x 256 KiB each with a closed receive window: memory stays bounded")
    func stalledReader() async throws {
        let report = try await attack("stalled-reader")
        // ServerBufferLimits: 100 x (2 x (64 KiB + 256 KiB) + 64 KiB) queued, plus the
        // response each handler holds while it waits.
        let peak = try #require(report.int("peak_growth"))
        #expect(peak < 160 * Self.mebibyte, "\(report)")
    }

    @Test("connections past the descriptor limit are refused; the server and its calls carry on")
    func descriptorExhaustion() async throws {
        let report = try await attack("descriptors", connections: 600, descriptorLimit: 256)
        let turnedAway = (report.int("refused") ?? 0) + (report.int("closed_by_server") ?? 0)
        // 256 descriptors leave room for 192 connections (an eighth, at least 64, held back).
        #expect(turnedAway >= 600 - 192, "\(report)")
    }

    @Test("with no connection cap below the descriptor limit, accept runs out of descriptors (EMFILE), backs off, and calls go on")
    func acceptOutOfDescriptors() async throws {
        // The common checks are the point: the ordinary client's calls all succeed and the
        // server lives while accept fails for want of descriptors (it once died of it).
        let report = try await attack("descriptors", connections: 600, descriptorLimit: 256,
                                      serverArguments: ["--max_connections", "10000"])
        #expect((report.int("peak_growth") ?? .max) < 64 * Self.mebibyte, "\(report)")
    }

    @Test("stream errors reset their stream only; a stream past MAX_CONCURRENT_STREAMS is refused")
    func streamErrorsStayOnTheirStream() async throws {
        let report = try await attack("stream-errors")
        #expect(report.int("overflow_reset") == 0x3, "FLOW_CONTROL_ERROR expected: \(report)")
        #expect(report.int("bad_header_reset") == 0x1, "PROTOCOL_ERROR expected: \(report)")
        #expect(report.string("unary_status") == "0", "\(report)")
        #expect(report.string("sleeper_status") == "0", "\(report)")
        #expect(report["goaway"] == nil, "\(report)")
        #expect(report.int("extra_stream_reset") == 0x7, "REFUSED_STREAM expected: \(report)")
        #expect(report.int("hundred_ok") == 100, "\(report)")
        #expect(report["goaway_after_limit"] == nil, "\(report)")
    }

    @Test("rapid reset, CONTINUATION floods and HPACK bombs end their connection alone")
    func framingAttacks() async throws {
        let reset = try await attack("rapid-reset")
        #expect(reset.goAwayCode == 0xB || reset["closed"] as? Bool == true, "\(reset)")
        let continuation = try await attack("continuation-flood")
        #expect(continuation["goaway"] != nil || continuation["closed"] as? Bool == true, "\(continuation)")
        let bomb = try await attack("hpack-bomb")
        #expect(bomb["goaway"] != nil || bomb["reset"] != nil || bomb["closed"] as? Bool == true, "\(bomb)")
        for report in [reset, continuation, bomb] {
            #expect((report.int("peak_growth") ?? .max) < 64 * Self.mebibyte, "\(report)")
        }
    }

    @Test("ping, SETTINGS and WINDOW_UPDATE floods cost bounded memory; ping floods are cut off")
    func controlFrameFloods() async throws {
        let ping = try await attack("ping-flood")
        #expect(ping["closed_by_server"] as? Bool == true, "\(ping)")
        // 200,000 SETTINGS frames whose ACKs are never read: swift-nio-http2 caps unsent
        // control frames at 10,000, past what the socket's buffers absorb, so the cost stays
        // bounded (as grpc-go, which does not police SETTINGS either).
        let settings = try await attack("settings-flood")
        let window = try await attack("window-update-flood")
        for report in [ping, settings, window] {
            #expect((report.int("peak_growth") ?? .max) < 64 * Self.mebibyte, "\(report)")
        }
    }

    @Test("slowloris: connections that trickle their preface are closed at the handshake timeout")
    func slowloris() async throws {
        let report = try await attack("slowloris", connections: 50, serverArguments: ["--handshake_timeout_ms", "1000"])
        let closedAfter = try #require(report["closed_after"] as? NSNumber).doubleValue
        #expect(closedAfter < 4, "\(report)")
    }

    @Test("a 4 GiB length prefix is refused from the prefix; 100,000-deep nesting is an error, not a crash")
    func hostileMessages() async throws {
        let huge = try await attack("huge-length")
        #expect(huge.string("status") == "8", "RESOURCE_EXHAUSTED expected: \(huge)")
        #expect((huge.int("peak_growth") ?? .max) < 32 * Self.mebibyte, "\(huge)")
        let deep = try await attack("deep-nesting")
        #expect(deep.string("status") != nil && deep.string("status") != "0", "\(deep)")
    }
}
