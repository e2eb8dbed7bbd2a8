import NIOCore
import NIOHTTP1
import Sluice

/// One HTTP/1.1 connection of REST requests, on ``RESTServer``'s port or the gRPC port:
/// requests are read in order, each body up to the transcoder's limit, and answered in turn.
enum RESTConnection {
    /// Reads requests off one connection and answers each in turn.
    static func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
                      transcoder: RESTTranscoder, dispatch: @escaping @Sendable (ServerStream) async -> Void) async throws {
        let peer = HTTP2ServerTransport.describe(connection.channel.remoteAddress)
        let limit = transcoder.configuration.maxBodyBytes
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var tooLarge = false
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body = []
                    tooLarge = false
                case .body(let buffer):
                    guard !tooLarge else { continue }
                    if body.count + buffer.readableBytes > limit {
                        tooLarge = true
                        body = []
                    } else {
                        body += buffer.readableBytesView
                    }
                case .end:
                    guard let requestHead = head else { continue }
                    head = nil
                    let response: RESTResponse
                    if tooLarge {
                        response = RESTResponse(status: 413, headers: [("content-type", "application/json")], body: .complete(
                            Array(#"{"code":8,"message":"the body exceeds the \#(limit)-byte limit"}"#.utf8)))
                    } else {
                        let request = RESTRequest(
                            method: requestHead.method.rawValue, target: requestHead.uri,
                            headers: requestHead.headers.map { ($0.name.lowercased(), $0.value) }, body: body, peer: peer)
                        response = await transcoder.respond(to: request, dispatch: dispatch)
                    }
                    body = []
                    let keepAlive = requestHead.isKeepAlive && !tooLarge
                    try await write(response, to: outbound, version: requestHead.version, keepAlive: keepAlive,
                                    headOnly: requestHead.method == .HEAD)
                    if !keepAlive { return }
                }
            }
        }
    }

    private static func write(_ response: RESTResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
                              version: HTTPVersion, keepAlive: Bool, headOnly: Bool) async throws {
        var headers = HTTPHeaders(response.headers)
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        switch response.body {
        case .complete(let bytes):
            headers.replaceOrAdd(name: "content-length", value: String(bytes.count))
            try await outbound.write(.head(HTTPResponseHead(version: version, status: status, headers: headers)))
            if !headOnly, !bytes.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes)))) }
            try await outbound.write(.end(nil))
        case .stream(let chunks):
            // HTTP/1.1 frames a body of unknown length in chunks; NIO adds the chunking.
            headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            try await outbound.write(.head(HTTPResponseHead(version: version, status: status, headers: headers)))
            for await chunk in chunks where !headOnly {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
            }
            try await outbound.write(.end(nil))
        }
    }
}
