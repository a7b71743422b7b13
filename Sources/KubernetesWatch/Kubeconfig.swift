#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Yams

/// The few fields of a kubeconfig file (`~/.kube/config`) dnstrail reads: the current
/// context's cluster (server, CA) and user (token or client certificate).
struct Kubeconfig: Decodable {
    struct Named<T: Decodable>: Decodable {
        var name: String
        var value: T?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: DynamicKey.self)
            name = try container.decode(String.self, forKey: DynamicKey("name"))
            let key = container.allKeys.first { $0.stringValue != "name" }
            value = try key.flatMap { try container.decodeIfPresent(T.self, forKey: $0) }
        }
    }

    struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ text: String) { stringValue = text }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct Context: Decodable {
        var cluster: String?
        var user: String?
    }

    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var hasExec: Bool
        var hasAuthProvider: Bool
        var hasPassword: Bool
        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec, username, password
            case authProvider = "auth-provider"
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            token = try container.decodeIfPresent(String.self, forKey: .token)
            tokenFile = try container.decodeIfPresent(String.self, forKey: .tokenFile)
            clientCertificate = try container.decodeIfPresent(String.self, forKey: .clientCertificate)
            clientCertificateData = try container.decodeIfPresent(String.self, forKey: .clientCertificateData)
            clientKey = try container.decodeIfPresent(String.self, forKey: .clientKey)
            clientKeyData = try container.decodeIfPresent(String.self, forKey: .clientKeyData)
            hasExec = container.contains(.exec)
            hasAuthProvider = container.contains(.authProvider)
            hasPassword = container.contains(.password)
        }
    }

    var currentContext: String?
    var clusters: [Named<Cluster>]?
    var contexts: [Named<Context>]?
    var users: [Named<User>]?

    enum CodingKeys: String, CodingKey {
        case clusters, contexts, users
        case currentContext = "current-context"
    }

    /// Largest kubeconfig read.
    static let maximumBytes = 4 << 20
}

extension APIServerConnection {
    /// The current context of the kubeconfig at `path` (or `context` when given): its
    /// cluster's server and CA, its user's token or client certificate. Relative file
    /// paths in it are relative to the file's folder, as kubectl reads them.
    public static func kubeconfig(path: String, context wanted: String? = nil) throws(KubernetesWatchError) -> APIServerConnection {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path, limit: Kubeconfig.maximumBytes)
        } catch {
            throw .kubeconfig(path: path, reason: error.reason)
        }
        let config: Kubeconfig
        do {
            config = try YAMLDecoder().decode(Kubeconfig.self, from: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw .kubeconfig(path: path, reason: "not a kubeconfig file (\(oneLine(String(describing: error))))")
        }
        func fail(_ reason: String) -> KubernetesWatchError { .kubeconfig(path: path, reason: reason) }
        guard let contextName = wanted ?? config.currentContext, !contextName.isEmpty else {
            throw fail("no current-context")
        }
        guard let context = config.contexts?.first(where: { $0.name == contextName })?.value else {
            throw fail("no context named '\(contextName)'")
        }
        guard let clusterName = context.cluster,
              let cluster = config.clusters?.first(where: { $0.name == clusterName })?.value else {
            throw fail("context '\(contextName)' names no cluster listed in the file")
        }
        guard let server = cluster.server, server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw fail("cluster '\(clusterName)' has no https:// server")
        }
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") || folder.isEmpty ? file : folder + "/" + file
        }
        func material(data: String?, file: String?, what: String) throws(KubernetesWatchError) -> [UInt8]? {
            if let data {
                guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                    throw fail("\(what)-data is not base64")
                }
                return Array(decoded)
            }
            guard let file else { return nil }
            do {
                return try readFile(resolve(file), limit: maximumPEMBytes)
            } catch {
                throw fail("\(what): \(error.reason)")
            }
        }
        var connection = APIServerConnection(server: server)
        connection.certificateAuthorityPEM = try material(
            data: cluster.certificateAuthorityData, file: cluster.certificateAuthority, what: "certificate-authority")
        connection.skipsTLSVerification = cluster.insecureSkipTLSVerify ?? false
        let user = context.user.flatMap { name in config.users?.first(where: { $0.name == name })?.value }
        if let user {
            if let token = user.token, !token.isEmpty {
                connection.token = .value(token)
            } else if let file = user.tokenFile {
                connection.token = .file(resolve(file))
            }
            connection.clientCertificatePEM = try material(
                data: user.clientCertificateData, file: user.clientCertificate, what: "client-certificate")
            connection.clientKeyPEM = try material(data: user.clientKeyData, file: user.clientKey, what: "client-key")
            if connection.token == nil && connection.clientCertificatePEM == nil {
                if user.hasExec || user.hasAuthProvider {
                    throw fail("user '\(context.user ?? "")' gets its credentials from an exec or auth-provider plugin, which dnstrail does not run; give it a token (kubectl create token) or a client certificate")
                }
                if user.hasPassword { throw fail("user '\(context.user ?? "")' has a password only; basic auth is not supported") }
            }
            if (connection.clientCertificatePEM == nil) != (connection.clientKeyPEM == nil) {
                throw fail("user '\(context.user ?? "")' has a client certificate without its key, or a key without its certificate")
            }
        }
        return connection
    }
}

/// Control characters become spaces, so a message stays one line.
func oneLine(_ text: String) -> String {
    String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 }).split(separator: " ", omittingEmptySubsequences: true)
        .joined(separator: " ")
}
