import ShopAPI
import Sluice

/// Reserves stock: the end of the chain. A SKU named `sold-out` has none, so the chain's
/// failure path can be traced too.
public struct InventoryService: Shop_Inventory.ServiceProtocol {
    public init() {}

    public func reserve(request: Shop_ReserveRequest, context: ServerContext) async throws -> Shop_ReserveResponse {
        guard request.quantity > 0 else {
            throw RPCError(code: .invalidArgument, message: "quantity must be positive")
        }
        guard request.sku != "sold-out" else {
            throw RPCError(code: .failedPrecondition, message: "\(request.sku) is out of stock")
        }
        var response = Shop_ReserveResponse()
        response.reserved = request.quantity
        return response
    }
}

/// Checks out by reserving through the inventory service: the middle of the chain, whose call
/// to the inventory is a child of the span of the call it is handling.
public struct FrontendService: Shop_Frontend.ServiceProtocol {
    let inventory: Shop_Inventory.Client

    public init(inventory: Shop_Inventory.Client) {
        self.inventory = inventory
    }

    public func checkout(request: Shop_CheckoutRequest, context: ServerContext) async throws -> Shop_CheckoutResponse {
        var reserve = Shop_ReserveRequest()
        reserve.sku = request.sku
        reserve.quantity = request.quantity
        let reserved = try await inventory.reserve(reserve).message
        var response = Shop_CheckoutResponse()
        response.orderID = "order-\(request.sku)-\(reserved.reserved)"
        response.reserved = reserved.reserved
        return response
    }
}
