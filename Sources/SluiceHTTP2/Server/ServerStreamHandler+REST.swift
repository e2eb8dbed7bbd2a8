import NIOCore
import NIOHPACK
import NIOHTTP2
import Sluice

/// REST/JSON on an HTTP/2 stream of the gRPC port: a request whose content type is not
/// gRPC's, when the transport has a ``RESTTranscoder``. The body is read whole (up to the
/// transcoder's limit), the transcoder runs the call through the server, and its answer goes
/// out through the stream's outbox, as plain HTTP: `.headers` carries `:status` among its
/// metadata, `.message`s are body chunks, `.end` ends the stream.
extension ServerStreamHandler {
    func receiveRESTHeaders(_ headers: HPACKHeaders, endStream: Bool) {
        var fields: [(name: String, value: String)] = []
        for (name, value, _) in headers where !name.hasPrefix(":") { fields.append((name.lowercased(), value)) }
        let request = RESTRequest(method: headers.first(name: ":method") ?? "GET", target: headers.first(name: ":path") ?? "/",
                                  headers: fields, peer: peer)
        state = .readingREST(request)
        if endStream { startREST(request) }
    }

    func receiveRESTBody(_ data: HTTP2Frame.FramePayload.Data) {
        guard case .readingREST(var request) = state, let rest else { return }
        if case .byteBuffer(let buffer) = data.data {
            guard request.body.count + buffer.readableBytes <= rest.configuration.maxBodyBytes else {
                state = .closed
                let body = Array(#"{"code":8,"message":"the body exceeds the \#(rest.configuration.maxBodyBytes)-byte limit"}"#.utf8)
                respondAtOnce(RESTResponse(status: 413, headers: [("content-type", "application/json")], body: .complete(body)))
                return
            }
            request.body += buffer.readableBytesView
        }
        state = .readingREST(request)
        if data.endStream { startREST(request) }
    }

    /// Runs the request in a task; its answer comes back through the outbox.
    func startREST(_ request: RESTRequest) {
        guard let rest, let eventLoop = table.eventLoop else { return }
        state = .halfClosed
        answersREST = true
        let outbox = responses
        responses.setWritable(table.isWritable(streamID))
        _ = responses.attach(on: eventLoop, drainer: self)
        let accept = self.accept
        let dispatch: @Sendable (ServerStream) async -> Void = { stream in
            guard let call = accept(stream) else {
                stream.responses.yield(.end(RPCError(code: .unavailable, message: "the server is shutting down"), trailers: [:]))
                stream.responses.finish()
                return
            }
            await call.value
        }
        task = Task {
            let response = await rest.respond(to: request, dispatch: dispatch)
            do {
                var metadata: Metadata = [":status": .string(String(response.status))]
                for (name, value) in response.headers { metadata.add(name, .string(value)) }
                try await outbox.send(.headers(metadata))
                switch response.body {
                case .complete(let bytes):
                    if !bytes.isEmpty { try await outbox.send(.message(SerializedMessage(bytes, compressed: false))) }
                case .stream(let chunks):
                    for await chunk in chunks { try await outbox.send(.message(SerializedMessage(chunk, compressed: false))) }
                }
                try await outbox.send(.end(nil, trailers: [:]))
            } catch {
                // The client went away; the stream is already closed.
            }
            outbox.finish()
        }
    }

    /// A part of a REST answer, as plain HTTP/2.
    func writeREST(_ part: ResponsePart) {
        switch part {
        case .headers(let metadata, _):
            guard !headersSent else { return }
            headersSent = true
            var headers = HPACKHeaders()
            headers.add(name: ":status", value: metadata.first(":status") ?? "500")
            for element in metadata where element.key != ":status" {
                if case .string(let value) = element.value, element.key != "connection", element.key != "transfer-encoding" {
                    headers.add(name: element.key, value: value)
                }
            }
            table.write(.headers(.init(headers: headers)), on: streamID)
        case .message(let message):
            table.write(.data(.init(data: .byteBuffer(ByteBuffer(bytes: message.bytes)))), on: streamID)
        case .end:
            ended = true
            responses.close()
            table.write(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)), on: streamID)
        }
    }

    /// Answers without a call (the body was too large): headers and body, then the end.
    private func respondAtOnce(_ response: RESTResponse) {
        answersREST = true
        ended = true
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: String(response.status))
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let body = response.completeBody ?? []
        table.write(.headers(.init(headers: headers, endStream: body.isEmpty)), on: streamID)
        if !body.isEmpty { table.write(.data(.init(data: .byteBuffer(ByteBuffer(bytes: body)), endStream: true)), on: streamID) }
        table.flush()
    }
}
