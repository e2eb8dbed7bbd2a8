import SeedServices
import Sluice
import SluiceProto
import SluiceTestSupport
import Testing

/// An order service that looks up products in the catalog while handling each call.
struct OrderService: Order_OrderService.ServiceProtocol {
    let catalog: Catalog_ProductService.Client
    let remaining = Observed<Duration?>(nil)

    func createOrder(request: Order_CreateOrderRequest, context: ServerContext) async throws -> Order_Order {
        remaining.update { $0 = context.timeRemaining }
        // No timeout given here: the call inherits this handler's deadline.
        _ = try await catalog.getRecommendations(Catalog_GetRecommendationsRequest())
        return Order_Order()
    }

    func getUserOrders(request: Order_GetUserOrdersRequest, context: ServerContext) async throws -> Order_GetUserOrdersResponse {
        Order_GetUserOrdersResponse()
    }
}

@Suite("Deadline propagation", .timeLimit(.minutes(1)))
struct DeadlinePropagationTests {
    @Test("a call made inside a handler inherits the handler's deadline and cancellation")
    func inherits() async throws {
        let catalogService = CatalogService()
        try await withInProcessServer([catalogService]) { catalogClient in
            let orders = OrderService(catalog: Catalog_ProductService.Client(wrapping: catalogClient))
            try await withInProcessServer([orders]) { client in
                let api = Order_OrderService.Client(wrapping: client)
                let start = ContinuousClock.now
                let error = await #expect(throws: RPCError.self) {
                    try await api.createOrder(Order_CreateOrderRequest(), options: CallOptions(timeout: .milliseconds(1500)))
                }
                #expect(error?.code == .deadlineExceeded)
                #expect(start.duration(to: .now) < .seconds(10))
                let seen = try #require(orders.remaining.value)
                #expect(seen > .zero && seen <= .milliseconds(1500))
            }
            #expect(catalogService.started.value, "the downstream call never reached the catalog")
            try await waitWhile { !catalogService.cancelled.value }
            #expect(catalogService.cancelled.value, "the downstream handler ran past the inherited deadline")
        }
    }
}
