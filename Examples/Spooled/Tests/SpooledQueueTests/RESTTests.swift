import Foundation
import Testing

/// Spooled's REST API (seed 004's web and mobile clients), from spooled.proto's
/// google.api.http options, on the gRPC port of a real spooled-server, driven by curl.
@Suite("REST/JSON on spooled-server's gRPC port, driven by curl", .timeLimit(.minutes(2)))
struct RESTTests {
    static let apiKey = "sk_test_rest"

    /// curl's answer: the HTTP status, then the body parsed as a JSON object.
    private func curl(_ method: String, _ url: String, body: String? = nil, key: String? = apiKey,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> (status: Int, json: [String: Any]) {
        var arguments = ["--silent", "--show-error", "-X", method, "-w", "\n%{http_code}", url]
        if let key { arguments += ["-H", "x-api-key: \(key)"] }
        if let body { arguments += ["-H", "content-type: application/json", "--data-binary", body] }
        let result = try await Child(URL(fileURLWithPath: "/usr/bin/curl"), arguments).exit()
        #expect(result.status == 0, "\(result.output)", sourceLocation: sourceLocation)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        let text = lines.dropLast().joined(separator: "\n")
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return (status, json)
    }

    @Test("enqueue, stats, dequeue, renew, complete and fail over REST; a missing key is 401 with code 16")
    func restLifecycle() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "spooled-rest-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try Child(binDirectory.appending(path: "spooled-server"),
                               ["--port", "0", "--api-key", Self.apiKey, "--store", "sqlite:\(directory.path)/jobs.db"])
        // Killed even when an expectation throws first.
        defer { if server.isRunning { kill(server.pid, SIGKILL) } }
        let line = try await server.line(containing: "listening on port")
        let port = String(line.split(separator: " ").last ?? "")
        let base = "http://127.0.0.1:\(port)/v1"

        let missing = try await curl("POST", "\(base)/queues/emails/jobs", body: "{}", key: nil)
        #expect(missing.status == 401)
        #expect(missing.json["code"] as? Int == 16)

        var ids: [String] = []
        for index in 0..<2 {
            let enqueued = try await curl("POST", "\(base)/queues/emails/jobs",
                                          body: #"{"payload": "{\"to\": \"\#(index)@example.com\"}", "maxRetries": 1}"#)
            #expect(enqueued.status == 200, "\(enqueued.json)")
            #expect(enqueued.json["created"] as? Bool == true)
            ids.append(try #require(enqueued.json["jobId"] as? String))
        }
        let stats = try await curl("GET", "\(base)/queues/emails/stats")
        #expect(stats.status == 200, "\(stats.json)")
        // int64 is a string in proto3 JSON.
        #expect(stats.json["pending"] as? String == "2", "\(stats.json)")

        let dequeued = try await curl("POST", "\(base)/queues/emails/jobs:dequeue",
                                      body: #"{"workerId": "curl", "limit": 2, "leaseDurationSecs": 60}"#)
        #expect(dequeued.status == 200, "\(dequeued.json)")
        let jobs = dequeued.json["jobs"] as? [[String: Any]] ?? []
        #expect(Set(jobs.compactMap { $0["id"] as? String }) == Set(ids))
        let first = try #require(jobs.first)
        let firstID = try #require(first["id"] as? String)
        let firstToken = try #require(first["leaseToken"] as? String)
        #expect(first["status"] as? String == "JOB_STATUS_PROCESSING")

        let renewed = try await curl("POST", "\(base)/jobs/\(firstID):renewLease",
                                     body: #"{"leaseDurationSecs": 120, "leaseToken": "\#(firstToken)"}"#)
        #expect(renewed.status == 200, "\(renewed.json)")
        #expect(renewed.json["success"] as? Bool == true)
        let completed = try await curl("POST", "\(base)/jobs/\(firstID):complete",
                                       body: #"{"result": "sent", "leaseToken": "\#(firstToken)"}"#)
        #expect(completed.status == 200, "\(completed.json)")
        #expect(completed.json["success"] as? Bool == true)

        let second = try #require(jobs.last)
        let secondID = try #require(second["id"] as? String)
        let secondToken = try #require(second["leaseToken"] as? String)
        let failed = try await curl("POST", "\(base)/jobs/\(secondID):fail",
                                    body: #"{"error": "smtp down", "leaseToken": "\#(secondToken)"}"#)
        #expect(failed.status == 200, "\(failed.json)")
        #expect(failed.json["willRetry"] as? Bool == true)

        // A stale lease token is refused with the status the service gives, as JSON.
        let stale = try await curl("POST", "\(base)/jobs/\(firstID):complete", body: #"{"leaseToken": "stale"}"#)
        #expect(stale.status >= 400 && stale.status < 500, "\(stale.status) \(stale.json)")
        #expect((stale.json["code"] as? Int ?? 0) != 0)
        // Malformed JSON is a 400 that names the fault.
        let malformed = try await curl("POST", "\(base)/queues/emails/jobs", body: #"{"priority": "high"}"#)
        #expect(malformed.status == 400)
        #expect((malformed.json["message"] as? String)?.contains("$.priority") == true, "\(malformed.json)")
    }
}
