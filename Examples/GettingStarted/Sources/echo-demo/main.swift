// Serves the Echo service over HTTP/2 on a free loopback port and calls each method, then does
// the same over the in-process transport.
import EchoAPI
import EchoServer
import Sluice
import SluiceHTTP2

// HTTP/2 on loopback; port 0 lets the kernel choose.
let transport = HTTP2ServerTransport(target: .host("127.0.0.1", port: 0))
let server = GRPCServer(transport: transport, services: [EchoService()])
try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await server.serve() }
    let address = try await server.listeningAddress
    print("echo-demo: serving on \(address)")
    let lines = try await withGRPCClient(
        transport: try HTTP2ClientTransport(target: .host("127.0.0.1", port: address.port ?? 0))
    ) { client in
        try await exerciseEcho(Echo_Echo.Client(wrapping: client))
    }
    for line in lines { print("  http/2      \(line)") }
    // Cancelling the task that serves stops the server: gracefully, then by force after its
    // grace period.
    group.cancelAll()
}

// The same service in process: no sockets, the same behaviour.
let (clientSide, serverSide) = InProcessTransport.makePair()
let inProcess = GRPCServer(transport: serverSide, services: [EchoService()])
try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await inProcess.serve() }
    // Calls made before the server listens wait for it.
    let lines = try await withGRPCClient(transport: clientSide) { client in
        try await exerciseEcho(Echo_Echo.Client(wrapping: client))
    }
    for line in lines { print("  in-process  \(line)") }
    inProcess.beginGracefulShutdown()
}
print("echo-demo: done")
