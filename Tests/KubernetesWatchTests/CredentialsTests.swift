import Attribution
import Foundation
import PacketDecoding
import Testing
@testable import KubernetesWatch

/// Where the API server is and who we are: kubeconfig files and the in-cluster service account.
struct CredentialsTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-kube-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    /// The current context picks the cluster and user; file paths are relative to the
    /// kubeconfig's folder; certificate-authority-data wins over a path; a token file is
    /// re-read at each request.
    @Test func kubeconfigCurrentContextWithRelativePathsAndTokenFile() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.pem.write(to: folder.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        try "first-token\n".write(to: folder.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let config = """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: dev
              cluster: {server: "https://dev.example:6443", insecure-skip-tls-verify: true}
            - name: prod
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority: ca.pem
            contexts:
            - name: dev
              context: {cluster: dev, user: dev}
            - name: prod
              context:
                cluster: prod
                user: sre
                namespace: payments
            users:
            - name: dev
              user: {token: dev-token}
            - name: sre
              user:
                tokenFile: token
            """
        let path = folder.appendingPathComponent("config").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let connection = try APIServerConnection.kubeconfig(path: path)
        #expect(connection.server == "https://10.0.0.1:6443")
        #expect(connection.certificateAuthorityPEM == Array(Self.pem.utf8))
        #expect(connection.token == .file(folder.appendingPathComponent("token").path))
        #expect(!connection.skipsTLSVerification)
        #expect(try connection.currentToken() == "first-token")
        try "rotated-token".write(to: folder.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        #expect(try connection.currentToken() == "rotated-token")

        let dev = try APIServerConnection.kubeconfig(path: path, context: "dev")
        #expect(dev.server == "https://dev.example:6443" && dev.skipsTLSVerification && dev.token == .value("dev-token"))
    }

    /// Client certificates as -data (base64), a missing context, and a user that needs an
    /// exec plugin: each a one-line error naming the file.
    @Test func kubeconfigClientCertificateDataAndClearErrors() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let base64 = Data(Self.pem.utf8).base64EncodedString()
        let path = folder.appendingPathComponent("config").path
        try """
            current-context: kind
            clusters:
            - name: kind
              cluster: {server: "https://127.0.0.1:40000", certificate-authority-data: \(base64)}
            contexts:
            - name: kind
              context: {cluster: kind, user: admin}
            - name: eks
              context: {cluster: kind, user: aws}
            users:
            - name: admin
              user: {client-certificate-data: \(base64), client-key-data: \(base64)}
            - name: aws
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: aws
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let connection = try APIServerConnection.kubeconfig(path: path)
        #expect(connection.clientCertificatePEM == Array(Self.pem.utf8))
        #expect(connection.clientKeyPEM == Array(Self.pem.utf8))
        #expect(connection.token == nil)
        #expect(throws: KubernetesWatchError.self) { try APIServerConnection.kubeconfig(path: path, context: "none") }
        do {
            _ = try APIServerConnection.kubeconfig(path: path, context: "eks")
            Issue.record("an exec plugin user was accepted")
        } catch {
            #expect(error.description.contains("exec or auth-provider plugin"))
            #expect(error.description.hasPrefix("--kubeconfig '\(path)'"))
            #expect(!error.description.contains("\n"))
        }
        do {
            _ = try APIServerConnection.kubeconfig(path: folder.appendingPathComponent("missing").path)
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.description.contains("No such file or directory"))
        }
        try "just: [a, list".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: KubernetesWatchError.self) { try APIServerConnection.kubeconfig(path: path) }
    }

    /// In a pod: KUBERNETES_SERVICE_HOST/PORT (IPv6 in brackets), the token file re-read,
    /// the CA; outside a pod: a one-line error pointing at --kubeconfig.
    @Test func inClusterServiceAccount() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.pem.write(to: folder.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        try "sa-token".write(to: folder.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let connection = try APIServerConnection.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            serviceAccountDirectory: folder.path)
        #expect(connection.server == "https://10.96.0.1:443")
        #expect(connection.certificateAuthorityPEM == Array(Self.pem.utf8))
        #expect(try connection.currentToken() == "sa-token")
        let six = try APIServerConnection.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "6443"],
            serviceAccountDirectory: folder.path)
        #expect(six.server == "https://[fd00:10:96::1]:6443")
        do {
            _ = try APIServerConnection.inCluster(environment: [:], serviceAccountDirectory: folder.path)
            Issue.record("accepted outside a pod")
        } catch {
            #expect(error.description == "--kubernetes: not running in a pod (KUBERNETES_SERVICE_HOST is not set); use --kubeconfig FILE outside a cluster")
        }
    }

    /// The kubeconfig the stand-in writes (CA data, token) reaches it and names its pods.
    @Test func kubeconfigOfTheStandInConnects() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let connection = try APIServerConnection.kubeconfig(path: standIn.kubeconfig)
            #expect(connection.server == standIn.server)
            #expect(connection.token == .value("s3cret"))
            let watcher = try KubernetesNameWatcher(connection: connection, scope: WatchScope(node: "node-a"),
                                                    timing: NameWatcherTests.timing)
            watcher.start()
            #expect(await eventually { NameWatcherTests.name(watcher, "10.244.1.10") == "shop/web-1" })
            await watcher.shutdown()
        }
    }

    /// A CA file with no certificate is refused before anything starts.
    @Test func unusableCertificateAuthorityIsRefusedAtOnce() {
        let connection = APIServerConnection(server: "https://127.0.0.1:1", certificateAuthorityPEM: Array("not a pem".utf8))
        #expect(throws: KubernetesWatchError.self) {
            try KubernetesNameWatcher(connection: connection, scope: WatchScope(node: nil))
        }
    }
}

/// The wire format of watch streams and lists, decoded with the kubectl mirrors.
struct WireFormatTests {
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func watchEventsOfEveryType() throws {
        let added = WatchEvent.decode(Self.line(#"{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","namespace":"n","resourceVersion":"7"},"status":{"podIP":"10.0.0.1"}}}"#))
        guard case .added(let object)? = added else { Issue.record("not ADDED"); return }
        #expect(object.name == "a" && object.namespace == "n" && object.resourceVersion == "7" && object.isReadable)
        guard case .bookmark(let version)? = WatchEvent.decode(Self.line(#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12746"}}}"#)) else {
            Issue.record("not a bookmark"); return
        }
        #expect(version == "12746")
        guard case .error(let status)? = WatchEvent.decode(Self.line(#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (120)","reason":"Expired","code":410}}"#)) else {
            Issue.record("not an error"); return
        }
        #expect(status.isGone && status.summary == "410 Expired: too old resource version: 1 (120)")
        #expect(WatchEvent.decode(Self.line(#"{"type":"SOMETHING","object":{}}"#)) == nil)
        #expect(WatchEvent.decode(Self.line(#"{"type":"ADDED","object":{"metadata":{}}}"#)) == nil, "no name")
        #expect(WatchEvent.decode(Self.line(#"{"type":"ADDED","#)) == nil)
        let long = String(repeating: "x", count: 1100)
        #expect(WatchEvent.decode(Self.line(#"{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"\#(long)"}}}"#)) == nil,
                "a name longer than the kubectl reader keeps")
    }

    /// A PodList's items carry no kind: read as pods; unreadable items are counted.
    @Test func listItemsTakeTheListsKind() throws {
        let json = #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"abc"},"items":[{"metadata":{"name":"p","namespace":"n"},"status":{"podIP":"10.1.2.3"}},{"metadata":{}},7]}"#
        let list = try JSONDecoder().decode(KubernetesObjectList.self, from: Data(json.utf8))
        #expect(list.resourceVersion == "42" && list.continueToken == "abc" && list.items.count == 1 && list.skippedCount == 2)
        let directory = ClusterDirectory(objects: list.items)
        #expect(directory.pod(at: try #require(IPAddress("10.1.2.3")))?.name == "p")
    }

    /// Lines split across buffers, CRLF, and a line over the limit.
    @Test func linesSplitAcrossBuffersWithALimit() throws {
        var splitter = LineSplitter(limit: 8)
        #expect(try splitter.lines(adding: Array("ab".utf8)).isEmpty)
        #expect(try splitter.lines(adding: Array("c\r\nde\n\nf".utf8)) == [Array("abc".utf8), Array("de".utf8)])
        #expect(splitter.unfinishedCount == 1)
        #expect(throws: APIClientError.self) { try splitter.lines(adding: Array("123456789".utf8)) }
    }

    /// Selector values are percent-encoded in the query.
    @Test func selectorsArePercentEncoded() {
        #expect(APIClient.percentEncoded("k8s-app in (kube-dns,coredns)") == "k8s-app%20in%20%28kube-dns%2Ccoredns%29")
        #expect(APIClient.percentEncoded("spec.nodeName=node-a") == "spec.nodeName%3Dnode-a")
    }
}

/// Reconnecting: capped exponential backoff with jitter.
struct BackoffTests {
    @Test func delaysDoubleUpToTheCapWithJitterAndResetAfterSuccess() {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(4))
        let steps: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)]
        for step in steps {
            let delay = backoff.next()
            #expect(delay <= step && delay >= step * 0.8, "\(delay) for a step of \(step)")
        }
        backoff.reset()
        #expect(backoff.next() <= .milliseconds(500))
    }
}
