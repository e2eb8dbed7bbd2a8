import Foundation
import Sluice
import SluiceHTTP2
import SpooledAPI
import SpooledQueue

/// Spooled's two services on a store, served over HTTP/2 on loopback in this process.
struct TestServer {
    let server: GRPCServer
    let serving: Task<Void, any Error>
    let port: Int
    let store: any JobStore

    static let keys = [
        APIKey(key: "sk_acme_all_queues", tenant: "acme"),
        APIKey(key: "sk_acme_sms_only", tenant: "acme", queues: ["sms"]),
        // One call per 10 s after a burst of 3: slow enough that a busy machine cannot refill
        // the bucket between the test's calls.
        APIKey(key: "sk_globex_limited", tenant: "globex", rateLimit: RateLimit(perSecond: 0.1, burst: 3)),
    ]

    init(store: any JobStore, subscribeTimeout: Duration = .seconds(10), maxMessageBytes: Int = 1 << 20) async throws {
        var configuration = HTTP2ServerTransport.Configuration()
        configuration.maxReceiveMessageSize = maxMessageBytes
        let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0), configuration: configuration)
        let tenants = TenantDirectory(keys: Self.keys)
        var worker = WorkerServiceProvider(store: store, tenants: tenants)
        worker.subscribeTimeout = subscribeTimeout
        let server = GRPCServer(transport: transport, services: [QueueServiceProvider(store: store, tenants: tenants), worker])
        self.server = server
        self.store = store
        serving = Task { try await server.serve() }
        port = try await server.listeningAddress.port ?? 0
    }

    func client() throws -> GRPCClient {
        GRPCClient(transport: try GRPCChannel(http2: "ipv4:127.0.0.1:\(port)"))
    }

    func stop() async {
        server.beginGracefulShutdown()
        _ = try? await serving.value
    }
}

/// `x-api-key` metadata.
func key(_ key: String) -> Metadata { ["x-api-key": .string(key)] }

let acme = key("sk_acme_all_queues")

func enqueueRequest(_ queue: String = "emails", payload: String = "{}", priority: Int32 = 0, maxRetries: Int32 = 2,
                    idempotencyKey: String = "") -> Spooled_V1_EnqueueRequest {
    var request = Spooled_V1_EnqueueRequest()
    request.queueName = queue
    request.payload = payload
    request.priority = priority
    request.maxRetries = maxRetries
    request.idempotencyKey = idempotencyKey
    return request
}
