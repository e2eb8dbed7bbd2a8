import Foundation
import SeedServices
import Sluice
import SluiceHTTP2
import SluiceProto
import SluiceTestSupport
import Testing

@Suite("TLS from PEM files, without importing NIOSSL", .timeLimit(.minutes(2)))
struct TLSShortcutTests {
    func product(over client: GRPCClient) async throws -> String {
        var request = Catalog_GetProductRequest()
        request.productID = "tls"
        return try await Catalog_ProductService.Client(wrapping: client).getProduct(request).id
    }

    @Test("a server from .tls(certificateChain:privateKey:) answers a client from .tls(trustRoots:)")
    func serverAndClient() async throws {
        let certs = try await testCertificates().path
        let configuration = try HTTP2ServerTransport.Configuration.tls(certificateChain: "\(certs)/server.pem", privateKey: "\(certs)/server.key")
        let client = try HTTP2ClientTransport.Configuration.tls(trustRoots: "\(certs)/ca.pem", serverHostname: "foo.test.google.fr")
        let id = try await withHTTP2Server([CatalogService()], serverConfiguration: configuration, clientConfiguration: client) { client, _ in
            try await product(over: client)
        }
        #expect(id == "tls")
    }

    @Test("with clientTrustRoots the server requires a client certificate signed by them")
    func mutualTLS() async throws {
        let certs = try await testCertificates().path
        let server = try HTTP2ServerTransport.Configuration.tls(
            certificateChain: "\(certs)/server.pem", privateKey: "\(certs)/server.key", clientTrustRoots: "\(certs)/ca.pem")
        let withCertificate = try HTTP2ClientTransport.Configuration.tls(
            trustRoots: "\(certs)/ca.pem", certificateChain: "\(certs)/client.pem", privateKey: "\(certs)/client.key",
            serverHostname: "localhost")
        let id = try await withHTTP2Server([CatalogService()], serverConfiguration: server, clientConfiguration: withCertificate) { client, _ in
            try await product(over: client)
        }
        #expect(id == "tls")

        let without = try HTTP2ClientTransport.Configuration.tls(trustRoots: "\(certs)/ca.pem", serverHostname: "localhost")
        _ = try await withHTTP2Server([CatalogService()], serverConfiguration: server, clientConfiguration: without) { client, _ in
            await #expect(throws: RPCError.self) { _ = try await product(over: client) }
        }
    }

    @Test("a missing or wrong file is a TLSFileError naming it")
    func fileErrors() async throws {
        let certs = try await testCertificates().path
        #expect(throws: TLSFileError(path: "/nowhere/cert.pem", reason: "no such file")) {
            _ = try HTTP2ServerTransport.Configuration.tls(certificateChain: "/nowhere/cert.pem", privateKey: "\(certs)/server.key")
        }
        #expect(throws: TLSFileError.self) {
            // A certificate where the key should be.
            _ = try HTTP2ServerTransport.Configuration.tls(certificateChain: "\(certs)/server.pem", privateKey: "\(certs)/server.pem")
        }
        do {
            _ = try HTTP2ClientTransport.Configuration.tls(trustRoots: "\(certs)/server.key")
            Issue.record("a private key was accepted as trust roots")
        } catch let error as TLSFileError {
            #expect(error.path == "\(certs)/server.key")
        }
        #expect(throws: TLSFileError(path: "\(certs)/client.pem", reason: "a client certificate needs its private key too")) {
            _ = try HTTP2ClientTransport.Configuration.tls(certificateChain: "\(certs)/client.pem")
        }
    }
}
