import Foundation
import NIOSSL

/// A PEM file that could not be used for TLS: missing, unreadable, or not what it should hold.
public struct TLSFileError: Error, Hashable, CustomStringConvertible {
    /// The file as given.
    public var path: String
    /// What was wrong.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "TLS file \(path): \(reason)" }
}

extension HTTP2ServerTransport.Configuration {
    /// A configuration serving TLS with the certificate chain and private key in PEM files,
    /// without importing NIOSSL:
    ///
    ///     HTTP2ServerTransport(target: .host("0.0.0.0", port: 8443),
    ///                          configuration: try .tls(certificateChain: "server.pem", privateKey: "server.key"))
    ///
    /// - Parameters:
    ///   - certificateChain: The server's certificate, then any intermediates.
    ///   - privateKey: The certificate's private key (unencrypted PEM).
    ///   - clientTrustRoots: With a CA bundle, clients must present a certificate it signed
    ///     (mutual TLS).
    /// - Throws: ``TLSFileError`` naming the file that is missing or unusable.
    public static func tls(certificateChain: String, privateKey: String, clientTrustRoots: String? = nil) throws -> Self {
        var configuration = Self()
        configuration.tls = try PEMFiles.serverTLS(certificateChain: certificateChain, privateKey: privateKey,
                                                   clientTrustRoots: clientTrustRoots)
        return configuration
    }
}

extension HTTP2ClientTransport.Configuration {
    /// A configuration connecting over TLS, without importing NIOSSL:
    ///
    ///     try HTTP2ClientTransport(target: .host("api.example.com", port: 443), configuration: try .tls())
    ///
    /// - Parameters:
    ///   - trustRoots: A PEM bundle of the CAs to trust; nil trusts the system's.
    ///   - certificateChain: With `privateKey`, the client certificate to present (mutual TLS).
    ///   - privateKey: The client certificate's private key (unencrypted PEM).
    ///   - serverHostname: The name to verify the server's certificate against (and send as
    ///     `:authority`), when it is not the target's host.
    /// - Throws: ``TLSFileError`` naming the file that is missing or unusable.
    public static func tls(trustRoots: String? = nil, certificateChain: String? = nil, privateKey: String? = nil,
                           serverHostname: String? = nil) throws -> Self {
        var configuration = Self()
        configuration.tls = try PEMFiles.clientTLS(trustRoots: trustRoots, certificateChain: certificateChain, privateKey: privateKey)
        configuration.serverHostname = serverHostname
        return configuration
    }
}

/// NIOSSL configurations from PEM files, each file checked so that errors name it.
public enum PEMFiles {
    /// A server presenting `certificateChain` and `privateKey`; with `clientTrustRoots`, clients
    /// must present a certificate signed by one of those CAs.
    public static func serverTLS(certificateChain: String, privateKey: String, clientTrustRoots: String? = nil) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try certificates(certificateChain).map { .certificate($0) },
            privateKey: .privateKey(try key(privateKey)))
        if let clientTrustRoots {
            tls.trustRoots = .certificates(try certificates(clientTrustRoots))
            // Client certificates name no host to check; the chain is what is verified.
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    /// A client trusting `trustRoots` (the system's when nil), presenting `certificateChain`
    /// and `privateKey` when both are given.
    public static func clientTLS(trustRoots: String? = nil, certificateChain: String? = nil, privateKey: String? = nil) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustRoots { tls.trustRoots = .certificates(try certificates(trustRoots)) }
        switch (certificateChain, privateKey) {
        case (let chain?, let key?):
            tls.certificateChain = try certificates(chain).map { .certificate($0) }
            tls.privateKey = .privateKey(try self.key(key))
        case (let chain?, nil):
            throw TLSFileError(path: chain, reason: "a client certificate needs its private key too")
        case (nil, let key?):
            throw TLSFileError(path: key, reason: "a private key needs its client certificate too")
        case (nil, nil):
            break
        }
        return tls
    }

    private static func contents(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw TLSFileError(path: path, reason: "no such file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw TLSFileError(path: path, reason: "cannot be read") }
        return Array(data)
    }

    private static func certificates(_ path: String) throws -> [NIOSSLCertificate] {
        let bytes = try contents(path)
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSFileError(path: path, reason: "not PEM certificates (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFileError(path: path, reason: "holds no PEM certificate") }
        return chain
    }

    private static func key(_ path: String) throws -> NIOSSLPrivateKey {
        let bytes = try contents(path)
        do {
            // Parsed as PEM explicitly: NIOSSL's file loader guesses the format from the
            // extension and takes `.key` for DER.
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            throw TLSFileError(path: path, reason: "not an unencrypted PEM private key (\(error))")
        }
    }
}
