import Attribution
import Foundation
import PacketDecoding
import Testing
@testable import KubernetesWatch

/// `live --kubernetes`: list then watch against the loopback stand-in of the API server
/// (its real wire format over HTTPS with a CA made for the test).
@Suite(.serialized) struct NameWatcherTests {
    static var timing: WatchTiming {
        var timing = WatchTiming()
        timing.initialBackoff = .milliseconds(200)
        timing.maximumBackoff = .seconds(1)
        timing.publishInterval = .milliseconds(50)
        timing.deletionGrace = .seconds(2)
        timing.listTimeout = .seconds(10)
        timing.connectTimeout = .seconds(2)
        return timing
    }

    static func watcher(_ standIn: StandIn, token: String = "s3cret", node: String? = "node-a",
                        timing: WatchTiming = timing) throws -> KubernetesNameWatcher {
        let connection = APIServerConnection(server: standIn.server, certificateAuthorityPEM: standIn.authorityPEM,
                                             token: .value(token))
        return try KubernetesNameWatcher(connection: connection, scope: WatchScope(node: node), timing: timing)
    }

    static func ip(_ text: String) -> IPAddress { IPAddress(text) ?? IPAddress(ipv4: 0) }

    static func name(_ watcher: KubernetesNameWatcher, _ ip: String) -> String? {
        watcher.currentDirectory?.pod(at: Self.ip(ip)).map { "\($0.namespace)/\($0.name)" }
    }

    /// Collects the notices the live loop would print.
    final class Notices: @unchecked Sendable {
        var lines: [String] = []
        func take(_ watcher: KubernetesNameWatcher) -> [String] {
            if let update = watcher.takeUpdate() { lines += update.notices }
            return lines
        }
    }

    /// The first list names this node's pods, the DNS servers' pods (by label, on any node)
    /// and the Services; another node's pods stay out; every request carries the bearer
    /// token; the watch starts from the list's resourceVersion with bookmarks asked for.
    @Test func listNamesThisNodesPodsTheDNSPodsAndServicesWithTheBearerToken() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try Self.watcher(standIn)
            watcher.start()
            let notices = Notices()
            #expect(await eventually { notices.take(watcher).contains { $0.contains("watching \(standIn.server)") } })
            let directory = try #require(watcher.currentDirectory)
            #expect(Self.name(watcher, "10.244.1.10") == "shop/web-1")
            #expect(directory.pod(at: Self.ip("10.244.2.10")) == nil, "node-b's pod is not watched")
            #expect(directory.dnsRole(of: Self.ip("10.244.2.53"))?.description == "CoreDNS pod kube-system/coredns-5d78c9869d-abcde (node-b)")
            #expect(directory.dnsRole(of: Self.ip("10.96.0.10"))?.description == "kube-dns Service kube-system/kube-dns")
            #expect(notices.lines.contains { $0.contains("1 pods on node node-a") && $0.contains("1 Services") })

            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count >= 3 })
            let requests = standIn.httpRequests
            #expect(!requests.isEmpty)
            #expect(requests.allSatisfy { $0["authorization"] as? String == "Bearer s3cret" })
            let podLists = standIn.requests(path: "/api/v1/pods", watch: false).compactMap { $0["query"] as? [String: String] }
            #expect(podLists.contains { $0["fieldSelector"] == "spec.nodeName=node-a" })
            #expect(podLists.contains { $0["labelSelector"] == "k8s-app in (kube-dns,coredns)" })
            let watches = standIn.requests(path: "/api/v1/pods", watch: true).compactMap { $0["query"] as? [String: String] }
            #expect(watches.allSatisfy { $0["resourceVersion"] == "104" && $0["allowWatchBookmarks"] == "true" })
            await watcher.shutdown()
        }
    }

    /// ADDED, MODIFIED and DELETED events change the names as they come, without a new list.
    @Test func watchEventsAddChangeAndRemoveNames() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            var timing = Self.timing
            timing.deletionGrace = .zero
            let watcher = try Self.watcher(standIn, timing: timing)
            watcher.start()
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count >= 3 })
            try standIn.event("ADDED", "pods", Objects.pod("shop", "cart-1", ip: "10.244.1.20", node: "node-a"))
            #expect(await eventually { Self.name(watcher, "10.244.1.20") == "shop/cart-1" })
            try standIn.event("MODIFIED", "pods", Objects.pod("shop", "cart-1", ip: "10.244.1.21", node: "node-a"))
            #expect(await eventually { Self.name(watcher, "10.244.1.21") == "shop/cart-1" && Self.name(watcher, "10.244.1.20") == nil })
            try standIn.event("ADDED", "services", Objects.service("shop", "cart", clusterIP: "10.96.7.7", selector: #"{"app":"cart"}"#))
            #expect(await eventually { watcher.currentDirectory?.service(at: Self.ip("10.96.7.7"))?.name == "cart" })
            try standIn.event("DELETED", "pods", Objects.pod("shop", "cart-1", ip: "10.244.1.21", node: "node-a"))
            #expect(await eventually { Self.name(watcher, "10.244.1.21") == nil })
            // Another node's pod sent to this node's watch by no one: the selector kept it out.
            try standIn.event("ADDED", "pods", Objects.pod("shop", "far-1", ip: "10.244.2.30", node: "node-b"))
            #expect(standIn.eventLog.contains("sent ADDED pods shop/far-1 rv=109 to 0 watches"))
            #expect(standIn.requests(path: "/api/v1/pods", watch: false).count == 3, "one list per pod collection, no more")
            await watcher.shutdown()
        }
    }

    /// A deleted pod keeps naming its address for the grace period (late answers, queries
    /// at their deadline), then no longer; a live pod that took the address over wins at once.
    @Test func deletedPodKeepsItsNameForTheGracePeriodOnly() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try Self.watcher(standIn)   // grace 2 s
            watcher.start()
            #expect(await eventually { Self.name(watcher, "10.244.1.10") == "shop/web-1" && standIn.requests(path: "/api/v1/pods", watch: true).count >= 3 })
            let builds = watcher.buildCount
            let deleted = ContinuousClock.now
            try standIn.event("DELETED", "pods", Objects.pod("shop", "web-1", ip: "10.244.1.10", node: "node-a"))
            #expect(await eventually { watcher.buildCount > builds })
            #expect(Self.name(watcher, "10.244.1.10") == "shop/web-1", "kept within the grace period")
            #expect(await eventually { Self.name(watcher, "10.244.1.10") == nil })
            let kept = ContinuousClock.now - deleted
            #expect(kept >= .milliseconds(1900), "gone only after the grace period, was \(kept)")

            // Deleted, then its address reused by a new pod within the grace period: the new pod.
            try standIn.event("ADDED", "pods", Objects.pod("shop", "old-1", ip: "10.244.1.40", node: "node-a"))
            #expect(await eventually { Self.name(watcher, "10.244.1.40") == "shop/old-1" })
            try standIn.event("DELETED", "pods", Objects.pod("shop", "old-1", ip: "10.244.1.40", node: "node-a"))
            try standIn.event("ADDED", "pods", Objects.pod("shop", "new-1", ip: "10.244.1.40", node: "node-a", phase: "Pending"))
            #expect(await eventually { Self.name(watcher, "10.244.1.40") == "shop/new-1" })
            await watcher.shutdown()
        }
    }

    /// A watch ERROR event with a 410 Status (history compacted): the collection is listed
    /// again, and what changed meanwhile is named.
    @Test func watchErrorEvent410MakesItListAgain() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try Self.watcher(standIn)
            watcher.start()
            let notices = Notices()
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count >= 3 })
            let lists = standIn.requests(path: "/api/v1/pods", watch: false).count
            try standIn.command(#"{"op":"compact"}"#)
            try standIn.event("ADDED", "pods", Objects.pod("shop", "late-1", ip: "10.244.1.50", node: "node-a"))
            #expect(await eventually { Self.name(watcher, "10.244.1.50") == "shop/late-1" })
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: false).count >= lists + 3 })
            #expect(await eventually { notices.take(watcher).contains { $0.contains("watch expired (410 Expired: too old resource version") } })
            await watcher.shutdown()
        }
    }

    /// A watch answered with HTTP 410 Gone: listed again. (The 410 is for the next pods
    /// watch only: the Services watch may start after the command, and must not take it.)
    @Test func httpGoneOnWatchMakesItListAgain() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try Self.watcher(standIn, node: nil)   // one pod collection: all pods
            watcher.start()
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count == 1 })
            #expect(standIn.requests(path: "/api/v1/pods", watch: false).count == 1)
            try standIn.command(#"{"op":"gone-next-watch","resource":"pods"}"#)
            try standIn.command(#"{"op":"drop-watches","resource":"pods"}"#)
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: false).count == 2 })
            #expect(standIn.requests(path: "/api/v1/pods", watch: true).contains { $0["status"] as? Int == 410 })
            #expect(!standIn.requests(path: "/api/v1/services", watch: true).contains { $0["status"] as? Int == 410 })
            #expect(await eventually { Self.name(watcher, "10.244.2.10") == "shop/api-9" }, "every pod without a node")
            await watcher.shutdown()
        }
    }

    /// A stream cut in the middle of an event: the watch resumes from the last version seen
    /// (a bookmark's, here) without listing again, and gets what happened while it was away.
    @Test func droppedStreamResumesFromTheLastVersionWithoutListing() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try Self.watcher(standIn, node: nil)
            watcher.start()
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count == 1 })
            try standIn.event("ADDED", "pods", Objects.pod("shop", "x-1", ip: "10.244.1.60", node: "node-a"))   // rv 105
            try standIn.event("ADDED", "services", Objects.service("shop", "x", clusterIP: "10.96.8.8", selector: "{}"))   // rv 106
            try standIn.command(#"{"op":"bookmark","resource":"pods"}"#)   // pods are current up to 106
            #expect(await eventually { Self.name(watcher, "10.244.1.60") == "shop/x-1" })
            try await Task.sleep(for: .milliseconds(300))
            try standIn.command(#"{"op":"drop-watches","resource":"pods"}"#)
            try standIn.event("ADDED", "pods", Objects.pod("shop", "y-1", ip: "10.244.1.61", node: "node-a"))   // rv 107
            #expect(await eventually { Self.name(watcher, "10.244.1.61") == "shop/y-1" })
            let watches = standIn.requests(path: "/api/v1/pods", watch: true).compactMap { $0["query"] as? [String: String] }
            #expect(watches.map { $0["resourceVersion"] ?? "" } == ["104", "106"])
            #expect(standIn.requests(path: "/api/v1/pods", watch: false).count == 1, "no list again")
            await watcher.shutdown()
        }
    }

    /// A server certificate signed by another CA is refused: no request is sent, the
    /// failure is said, no names are published.
    @Test func serverCertificateFromAnotherCAIsRefused() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster, wrongCA: true)
            let watcher = try Self.watcher(standIn)
            watcher.start()
            let notices = Notices()
            #expect(await eventually { notices.take(watcher).contains {
                $0.contains("TLS handshake failed: the server's certificate does not verify against the CA given (CERTIFICATE_VERIFY_FAILED)")
            } })
            #expect(standIn.requests.allSatisfy { $0["tls"] as? String == "handshake failed" })
            #expect(!standIn.requests.isEmpty)
            #expect(watcher.currentDirectory == nil)
            await watcher.shutdown()
        }
    }

    /// A wrong token: 401 from the server, said once per collection, nothing named.
    @Test func rejectedTokenIsSaidAndNothingIsNamed() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try Self.watcher(standIn, token: "wrong", node: nil)
            watcher.start()
            let notices = Notices()
            #expect(await eventually { notices.take(watcher).filter { $0.contains("HTTP 401: Unauthorized") }.count == 2 })
            #expect(!standIn.httpRequests.isEmpty)
            #expect(standIn.httpRequests.allSatisfy { $0["status"] as? Int == 401 && $0["authorization"] as? String == "Bearer wrong" })
            #expect(watcher.currentDirectory == nil)
            await watcher.shutdown()
        }
    }

    /// The capture thread never waits on the network: with a server that accepts and never
    /// answers, `takeUpdate` returns at once with nothing.
    @Test func takeUpdateNeverWaitsForTheServer() async throws {
        try await onOwnThread {
            let listener = try SilentListener()
            let connection = APIServerConnection(server: "https://127.0.0.1:\(listener.port)", certificateAuthorityPEM: nil,
                                                 token: .value("t"))
            let watcher = try KubernetesNameWatcher(connection: connection, scope: WatchScope(node: "node-a"), timing: Self.timing)
            watcher.start()
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            var update: NamesUpdate?
            let took = clock.measure { update = watcher.takeUpdate() }
            #expect(update == nil)
            #expect(took < .milliseconds(50))
            await watcher.shutdown()
        }
    }
}

/// A TCP listener that accepts connections into its backlog and never answers.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw StandInError.didNotStart("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Paging and bad events.
struct WatchEdgeTests {
    /// A list in pages of `limit` objects follows `continue` to the end.
    @Test func listFollowsContinueTokensToTheLastPage() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            var timing = NameWatcherTests.timing
            timing.listPageSize = 1
            let watcher = try NameWatcherTests.watcher(standIn, node: nil, timing: timing)
            watcher.start()
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count == 1 })
            let pages = standIn.requests(path: "/api/v1/pods", watch: false).compactMap { $0["query"] as? [String: String] }
            #expect(pages.map { $0["continue"] ?? "-" } == ["-", "1", "2"])
            #expect(pages.allSatisfy { $0["limit"] == "1" })
            #expect(await eventually {
                NameWatcherTests.name(watcher, "10.244.1.10") == "shop/web-1"
                    && NameWatcherTests.name(watcher, "10.244.2.10") == "shop/api-9"
                    && watcher.currentDirectory?.dnsRole(of: NameWatcherTests.ip("10.244.2.53")) != nil
            })
            await watcher.shutdown()
        }
    }

    /// An event whose object has no name is skipped, counted and said; the watch goes on.
    @Test func unreadableWatchEventIsSkippedCountedAndSaid() async throws {
        try await onOwnThread {
            let standIn = try StandIn(objects: Objects.cluster)
            let watcher = try NameWatcherTests.watcher(standIn, node: nil)
            watcher.start()
            let notices = NameWatcherTests.Notices()
            #expect(await eventually { standIn.requests(path: "/api/v1/pods", watch: true).count == 1 })
            try standIn.event("ADDED", "pods", #"{"metadata":{"namespace":"shop"},"status":{"podIP":"10.244.1.70"}}"#)
            try standIn.event("ADDED", "pods", Objects.pod("shop", "ok-1", ip: "10.244.1.71", node: "node-a"))
            #expect(await eventually { NameWatcherTests.name(watcher, "10.244.1.71") == "shop/ok-1" })
            #expect(await eventually { notices.take(watcher).contains("Kubernetes API: pods: 1 unreadable watch event(s) skipped") })
            #expect(watcher.currentDirectory?.pod(at: NameWatcherTests.ip("10.244.1.70")) == nil)
            await watcher.shutdown()
        }
    }
}
