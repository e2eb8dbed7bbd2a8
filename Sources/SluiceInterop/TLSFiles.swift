import NIOSSL
import SluiceHTTP2

/// TLS settings of the interop executables from PEM files (the interop flags' names).
public enum InteropTLS {
    /// A server presenting `certificate` and `key`; with `clientCA`, clients must present a
    /// certificate signed by it (mTLS).
    public static func server(certificate: String, key: String, clientCA: String? = nil) throws -> TLSConfiguration {
        try PEMFiles.serverTLS(certificateChain: certificate, privateKey: key, clientTrustRoots: clientCA)
    }

    /// A client trusting `ca` (the system roots when nil), optionally presenting a certificate.
    public static func client(ca: String?, certificate: String? = nil, key: String? = nil) throws -> TLSConfiguration {
        try PEMFiles.clientTLS(trustRoots: ca, certificateChain: certificate, privateKey: key)
    }
}
