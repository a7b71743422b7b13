#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Where the API server is and how to prove who we are: its URL, the CA that signed its
/// certificate, and a bearer token and/or a client certificate.
public struct APIServerConnection: Sendable, Equatable {
    /// `https://host:port` (a path prefix is kept: `https://rancher/k8s/clusters/c-1`).
    public var server: String
    /// PEM of the CA(s) to trust; nil to use the system's roots.
    public var certificateAuthorityPEM: [UInt8]?
    /// Where the bearer token comes from.
    public var token: TokenSource?
    /// PEM of a client certificate (chain) and its key, for kubeconfigs that use them.
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// `insecure-skip-tls-verify` of a kubeconfig: no certificate check at all.
    public var skipsTLSVerification = false

    /// A bearer token: given, or read from a file before every request (the projected
    /// service account token is rotated by the kubelet).
    public enum TokenSource: Sendable, Equatable {
        case value(String)
        case file(String)
    }

    public init(server: String, certificateAuthorityPEM: [UInt8]? = nil, token: TokenSource? = nil) {
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.token = token
    }

    /// Longest token file read: service account tokens are about 1 KB.
    static let maximumTokenBytes = 64 << 10

    /// The current token (a file is read again each time); nil without one.
    func currentToken() throws(KubernetesWatchError) -> String? {
        switch token {
        case nil: return nil
        case .value(let text): return text
        case .file(let path):
            let bytes = try readFile(path, limit: Self.maximumTokenBytes)
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The standard place of a pod's service account: token, ca.crt, namespace.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In a pod: KUBERNETES_SERVICE_HOST/PORT, the service account's token (re-read before
    /// each request) and CA from `serviceAccountDirectory`.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = serviceAccountDirectory
    ) throws(KubernetesWatchError) -> APIServerConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw .notInCluster(reason: "KUBERNETES_SERVICE_HOST is not set")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let tokenPath = serviceAccountDirectory + "/token"
        let caPath = serviceAccountDirectory + "/ca.crt"
        guard access(tokenPath, R_OK) == 0 else { throw .notInCluster(reason: "cannot read \(tokenPath)") }
        let authority: [UInt8]
        do {
            authority = try readFile(caPath, limit: maximumPEMBytes)
        } catch {
            throw .notInCluster(reason: "cannot read \(caPath)")
        }
        return APIServerConnection(server: "https://\(hostPart):\(port)", certificateAuthorityPEM: authority,
                                   token: .file(tokenPath))
    }

    /// Longest certificate or key file read.
    static let maximumPEMBytes = 1 << 20
}

/// A whole small file, or `.credentials` naming it and the system's reason.
func readFile(_ path: String, limit: Int) throws(KubernetesWatchError) -> [UInt8] {
    guard let handle = fopen(path, "rb") else {
        throw .credentials(reason: "cannot read '\(path)': \(String(cString: strerror(errno)))")
    }
    defer { fclose(handle) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16 << 10)
    while true {
        let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
        if count > 0 {
            guard result.count + count <= limit else {
                throw .credentials(reason: "'\(path)' is larger than \(limit) bytes")
            }
            result.append(contentsOf: buffer[0..<count])
        }
        if count < buffer.count {
            if ferror(handle) != 0 { throw .credentials(reason: "cannot read '\(path)'") }
            return result
        }
    }
}
