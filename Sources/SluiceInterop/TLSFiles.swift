import NIOSSL
import SluiceHTTP2

/// TLS settings of the interop executables from PEM files.
public enum InteropTLS {
    /// A server presenting `certificate` and `key`; with `clientCA`, clients must present a
    /// certificate signed by it (mTLS).
    public static func server(certificate: String, key: String, clientCA: String? = nil) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        // Loaded explicitly as PEM: NIOSSL's `.file` guesses the format from the extension and
        // takes `.key` for DER.
        let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        if let clientCA {
            tls.trustRoots = .file(clientCA)
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    /// A client trusting `ca` (the system roots when nil), optionally presenting a certificate.
    public static func client(ca: String?, certificate: String? = nil, key: String? = nil) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca { tls.trustRoots = .file(ca) }
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return tls
    }
}
