import Foundation
import SluiceProto

// Demo_Inventory_Shelf was generated from inventory.proto during `swift build`.
var shelf = Demo_Inventory_Shelf()
shelf.label = "A3"
var item = Demo_Inventory_Item()
item.sku = "SKU-1001"
item.name = "Espresso cups"
item.quantity = 12
item.condition = .new
item.attributes = ["colour": "white", "set": "6"]
item.restockedAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_795_000_000))
shelf.items = [item]

let bytes = shelf.serializedBytes()
let decoded = try Demo_Inventory_Shelf(serializedBytes: bytes)
precondition(decoded == shelf, "round trip changed the message")
print("PluginDemo: shelf \(decoded.label) with \(decoded.items.count) item(s), \(bytes.count) bytes on the wire")
print("PluginDemo: \(decoded.items[0].name) x\(decoded.items[0].quantity), restocked \(decoded.items[0].restockedAt.date)")
