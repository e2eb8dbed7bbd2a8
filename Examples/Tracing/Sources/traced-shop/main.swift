// Runs the traced chain once and prints what it did: traced-shop --endpoint URL
// [--service-name NAME] [--sampling-rate R] [--tag key=value ...] [SKU ...]
import ArgumentParser
import Sluice
import TracedShop

@main
struct TracedShopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traced-shop",
        abstract: "Checks out each SKU through client -> Frontend -> Inventory, traced, exporting spans over OTLP/HTTP.")

    @Option(help: "The OTLP/HTTP traces URL.")
    var endpoint = "http://127.0.0.1:4318/v1/traces"

    @Option(name: .customLong("service-name"), help: "service.name on every span.")
    var serviceName = "traced-shop"

    @Option(name: .customLong("sampling-rate"), help: "The share of traces kept, 0 to 1.")
    var samplingRate = 1.0

    @Option(name: .customLong("tag"), help: "A default tag (a resource attribute), key=value; repeatable.")
    var tags: [String] = []

    @Argument(help: "SKUs to check out; sold-out fails at the inventory.")
    var skus = ["tea", "coffee", "sold-out"]

    func run() async throws {
        var attributes: [String: String] = [:]
        for tag in tags {
            let parts = tag.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--tag \(tag): expected key=value") }
            attributes[String(parts[0])] = String(parts[1])
        }
        let options = ShopTracingOptions(serviceName: serviceName, samplingRate: samplingRate, tags: attributes, endpoint: endpoint)
        let run = try await runTracedShop(options, skus: skus)
        for (sku, outcome) in zip(skus, run.outcomes) {
            switch outcome {
            case .success(let order): print("traced-shop: \(sku) -> \(order)")
            case .failure(let error): print("traced-shop: \(sku) -> \(error.code): \(error.message)")
            }
        }
        print("traced-shop: spans exported to \(endpoint) as service \(serviceName)")
    }
}
