import Foundation
import NIOCore
import NIOPosix
import SluiceTestSupport

/// A free loopback TCP port: bound, read and released (Prometheus cannot be told port 0).
func freeLoopbackPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

/// Debian's `prometheus` on loopback, with a temporary data folder and a generated config
/// that scrapes `targets` every second; stopped by ``stop()``.
final class RealPrometheus: Sendable {
    let port: Int
    let folder: URL
    private let process: ChildProcess

    init(scraping targets: [String], job: String = "sluice") async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-prometheus-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: \(job)
                static_configs:
                  - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]
            """
        try config.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        port = try await freeLoopbackPort()
        process = try ChildProcess("prometheus", [
            "--config.file=\(folder.appendingPathComponent("prometheus.yml").path)",
            "--storage.tsdb.path=\(folder.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
        ])
        _ = try await process.waitForLine(containing: "Server is ready to receive web requests")
    }

    /// The value of an instant PromQL query's first sample, nil while it has none.
    func query(_ promQL: String) async throws -> Double? {
        let encoded = promQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promQL
        let result = try await run("curl", ["-sf", "http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)"])
        guard result.status == 0,
              let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
              let data = json["data"] as? [String: Any],
              let samples = data["result"] as? [[String: Any]],
              let value = samples.first?["value"] as? [Any], value.count == 2,
              let text = value[1] as? String
        else { return nil }
        return Double(text)
    }

    /// The health Prometheus reports for its scrape of each target, by target.
    func targetHealth() async throws -> [String: String] {
        let result = try await run("curl", ["-sf", "http://127.0.0.1:\(port)/api/v1/targets"])
        guard let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
              let data = json["data"] as? [String: Any],
              let active = data["activeTargets"] as? [[String: Any]]
        else { return [:] }
        var health: [String: String] = [:]
        for target in active {
            if let labels = target["labels"] as? [String: String], let instance = labels["instance"] {
                health[instance] = (target["health"] as? String ?? "?") + " " + (target["lastError"] as? String ?? "")
            }
        }
        return health
    }

    func stop() async {
        await process.kill()
        try? FileManager.default.removeItem(at: folder)
    }
}
