import Foundation
import Testing
import Attribution
import PacketDecoding

/// `kubectl get pods,svc -A -o json` of the small dual-stack cluster in `Fixtures.cluster`.
struct ClusterFixtureTests {
    let cluster: ClusterDirectory

    init() throws {
        cluster = try readDirectory(Fixtures.cluster)
    }

    static let coreDNSA = PodIdentity(namespace: "kube-system", name: "coredns-5dd5756b68-7xkqp", node: "node-a",
                                      labels: ["k8s-app": "kube-dns", "pod-template-hash": "5dd5756b68"])
    static let coreDNSB = PodIdentity(namespace: "kube-system", name: "coredns-5dd5756b68-l9zvt", node: "node-b",
                                      labels: ["k8s-app": "kube-dns", "pod-template-hash": "5dd5756b68"])
    static let kubeDNS = ServiceIdentity(
        namespace: "kube-system", name: "kube-dns",
        ports: [ServicePort(name: "dns", port: 53, transportProtocol: "UDP", targetPort: "53"),
                ServicePort(name: "dns-tcp", port: 53, transportProtocol: "TCP", targetPort: "53"),
                ServicePort(name: "metrics", port: 9153, transportProtocol: "TCP", targetPort: "9153")],
        selector: ["k8s-app": "kube-dns"])

    /// Every address in the fixture, and the line a report prints for it.
    static let expectedIdentities: [(String, String)] = [
        ("10.244.0.2", "kube-system/coredns-5dd5756b68-7xkqp (node-a)"),
        ("fd00:10:244::2", "kube-system/coredns-5dd5756b68-7xkqp (node-a)"),
        ("10.244.1.3", "kube-system/coredns-5dd5756b68-l9zvt (node-b)"),
        ("fd00:10:244:1::3", "kube-system/coredns-5dd5756b68-l9zvt (node-b)"),
        ("10.0.1.10", "node node-a (host network)"),
        ("fd00:10:0:1::a", "node node-a (host network)"),
        ("10.0.1.11", "node node-b (host network)"),
        ("fd00:10:0:1::b", "node node-b (host network)"),
        ("10.244.0.15", "payments/payments-api-6f7c8d9b5-q2w8e (node-a)"),
        ("fd00:10:244::f", "payments/payments-api-6f7c8d9b5-q2w8e (node-a)"),
        ("10.244.1.30", "payments/payments-db-0 (node-b)"),
        ("fd00:10:244:1::1e", "payments/payments-db-0 (node-b)"),
        ("10.244.1.22", "payments/payments-worker-7b9d4c6f8-zx4lm (node-b)"),
        ("fd00:10:244:1::16", "payments/payments-worker-7b9d4c6f8-zx4lm (node-b)"),
        ("10.244.0.31", "sales/redis-0 (node-a)"),
        ("fd00:10:244::1f", "sales/redis-0 (node-a)"),
        ("10.244.1.41", "sales/sales-web-84d5f7c9b-m2n4p (node-b)"),
        ("fd00:10:244:1::29", "sales/sales-web-84d5f7c9b-m2n4p (node-b)"),
        ("10.96.0.1", "default/kubernetes (Service)"),
        ("10.96.0.10", "kube-system/kube-dns (Service)"),
        ("fd00:10:96::a", "kube-system/kube-dns (Service)"),
        ("10.96.120.15", "payments/payments-api (Service)"),
        ("10.96.45.210", "sales/redis (Service)"),
        ("10.105.33.7", "sales/sales-web (Service)"),
        ("169.254.20.10", "NodeLocal DNSCache"),
    ]

    @Test(arguments: expectedIdentities)
    func everyAddressHasItsIdentity(text: String, expected: String) throws {
        #expect(cluster.identity(of: try address(text))?.description == expected)
        #expect(cluster.annotation(for: try address(text)) == expected)
    }

    @Test(arguments: ["8.8.8.8", "10.244.0.99", "10.96.0.11", "fd00:10:244::99", "10.0.1.12", "10.100.0.10"])
    func unknownAddressesHaveNoIdentity(text: String) throws {
        #expect(cluster.identity(of: try address(text)) == nil)
        #expect(cluster.isDNSServer(try address(text)) == false)
        // Services were loaded, so a well-known kube-dns address is not guessed at.
        #expect(cluster.annotation(for: try address(text)) == nil)
    }

    @Test func counts() {
        #expect(cluster.podCount == 10)      // the Pending pod included
        #expect(cluster.serviceCount == 6)   // the headless Service included
        #expect(cluster.nodeCount == 2)
        #expect(cluster.skippedItemCount == 0)
    }

    @Test func podIdentityCarriesNodeAndLabels() throws {
        let pod = try #require(cluster.pod(at: try address("10.244.0.15")))
        #expect(pod == PodIdentity(namespace: "payments", name: "payments-api-6f7c8d9b5-q2w8e", node: "node-a",
                                   labels: ["app": "payments-api", "pod-template-hash": "6f7c8d9b5", "team": "payments"]))
        #expect(cluster.identity(of: try address("10.244.0.15")) == .pod(pod))
        #expect(cluster.service(at: try address("10.244.0.15")) == nil)
    }

    @Test func serviceIdentityCarriesPortsAndSelector() throws {
        #expect(cluster.service(at: try address("10.96.0.10")) == Self.kubeDNS)
        #expect(cluster.service(at: try address("fd00:10:96::a")) == Self.kubeDNS)
        #expect(Self.kubeDNS.ports.map(\.description) == ["53/UDP", "53/TCP", "9153/TCP"])
        // A named targetPort stays a name; nodePort is ignored.
        let api = try #require(cluster.service(at: try address("10.96.120.15")))
        #expect(api.ports == [ServicePort(name: "http", port: 8080, transportProtocol: "TCP", targetPort: "http")])
        let web = try #require(cluster.service(at: try address("10.105.33.7")))
        #expect(web.ports == [ServicePort(name: "http", port: 80, transportProtocol: "TCP", targetPort: "8080")])
        #expect(web.selector == ["app": "sales-web"])
        // The kubernetes Service has no selector.
        #expect(cluster.service(at: try address("10.96.0.1"))?.selector == [:])
        #expect(cluster.pod(at: try address("10.96.0.10")) == nil)
    }

    /// kube-proxy shares the node's address: the node is named, the pod is listed, not blamed.
    @Test func hostNetworkPodsDoNotClaimTheNodeAddress() throws {
        let kubeProxy = PodIdentity(namespace: "kube-system", name: "kube-proxy-4xj2k", node: "node-a",
                                    labels: ["controller-revision-hash": "7f8d6c9b4", "k8s-app": "kube-proxy",
                                             "pod-template-generation": "1"])
        for text in ["10.0.1.10", "fd00:10:0:1::a"] {
            let ip = try address(text)
            #expect(cluster.identity(of: ip) == .hostNetwork(node: "node-a", pods: [kubeProxy]))
            #expect(cluster.pod(at: ip) == nil)
            #expect(cluster.node(at: ip) == "node-a")
            #expect(cluster.hostNetworkPods(at: ip) == [kubeProxy])
        }
        #expect(cluster.node(at: try address("10.0.1.11")) == "node-b")
        #expect(cluster.node(at: try address("10.244.0.15")) == nil)
    }

    @Test func headlessServiceClaimsNoAddress() throws {
        // payments-db is `clusterIP: None`: its pod keeps its own address.
        let db = try address("10.244.1.30")
        #expect(cluster.service(at: db) == nil)
        #expect(cluster.pod(at: db)?.name == "payments-db-0")
        #expect(IPAddress("None") == nil)
    }

    @Test func pendingPodWithoutAddressIsCountedButOwnsNothing() throws {
        let pending = "sales-web-84d5f7c9b-r8t6v"
        for (text, _) in Self.expectedIdentities {
            #expect(cluster.pod(at: try address(text))?.name != pending)
        }
    }

    @Test func dualStackPodIsFoundByBothFamilies() throws {
        let v4 = cluster.pod(at: try address("10.244.1.22"))
        let v6 = cluster.pod(at: try address("fd00:10:244:1::16"))
        #expect(v4 != nil)
        #expect(v4 == v6)
    }

    @Test(arguments: ["FD00:10:244:1::16", "fd00:10:244:1:0:0:0:16", "fd00:0010:0244:0001:0000:0000:0000:0016",
                      "fd00:10:244:1::0.0.0.22"])
    func ipv6LookupIsByValueNotText(text: String) throws {
        #expect(cluster.pod(at: try address(text))?.name == "payments-worker-7b9d4c6f8-zx4lm")
    }

    @Test func ipv6ServiceAddressInAnySpelling() throws {
        #expect(cluster.dnsRole(of: try address("FD00:10:96:0::A")) == .kubeDNSService(Self.kubeDNS))
        #expect(try address("fd00::A") == address("fd00::a"))
        #expect(try address("fd00::A").description == "fd00::a")
    }

    @Test func ipv4MappedIPv6IsTheIPv4Address() throws {
        #expect(cluster.identity(of: try address("::ffff:10.96.0.10"))?.description == "kube-system/kube-dns (Service)")
        #expect(cluster.dnsRole(of: try address("::ffff:10.244.0.2")) == .coreDNSPod(Self.coreDNSA))
    }

    // MARK: DNS servers

    @Test(arguments: ["10.96.0.10", "fd00:10:96::a"])
    func kubeDNSClusterIPIsADNSServer(text: String) throws {
        let ip = try address(text)
        #expect(cluster.isDNSServer(ip))
        #expect(cluster.dnsRole(of: ip) == .kubeDNSService(Self.kubeDNS))
    }

    @Test func coreDNSPodAddressesAreDNSServers() throws {
        for (text, pod) in [("10.244.0.2", Self.coreDNSA), ("fd00:10:244::2", Self.coreDNSA),
                            ("10.244.1.3", Self.coreDNSB), ("fd00:10:244:1::3", Self.coreDNSB)] {
            #expect(cluster.dnsRole(of: try address(text)) == .coreDNSPod(pod), "\(text)")
        }
    }

    @Test func onlyDNSAddressesAreDNSServers() throws {
        let servers = ["10.96.0.10", "fd00:10:96::a", "10.244.0.2", "fd00:10:244::2", "10.244.1.3",
                       "fd00:10:244:1::3", "169.254.20.10"]
        for (text, _) in Self.expectedIdentities {
            #expect(cluster.isDNSServer(try address(text)) == servers.contains(text), "\(text)")
        }
        #expect(cluster.dnsServers == (try servers.map { try address($0) }.sorted()))
        #expect(cluster.dnsRole(of: try address("169.254.20.10")) == .nodeLocalDNSCache)
        // kube-proxy's node address and the kubernetes Service are not DNS servers.
        #expect(cluster.dnsRole(of: try address("10.0.1.10")) == nil)
        #expect(cluster.dnsRole(of: try address("10.96.0.1")) == nil)
    }

    @Test func userGivenServerAddsToTheClusterOnes() throws {
        var cluster = cluster
        cluster.addDNSServer(try address("8.8.8.8"))
        cluster.addDNSServer(try address("10.96.0.10"))   // already known: keeps the richer role
        #expect(cluster.dnsRole(of: try address("8.8.8.8")) == .userGiven)
        #expect(cluster.dnsRole(of: try address("10.96.0.10")) == .kubeDNSService(Self.kubeDNS))
        #expect(cluster.identity(of: try address("8.8.8.8")) == nil)
    }

    @Test func loadingTheFileGivesTheSameDirectory() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("pods.json")
        try Data(Fixtures.cluster.utf8).write(to: file)
        let loaded = try ClusterDirectory.load(path: file.path)
        #expect(loaded.podCount == 10)
        for (text, expected) in Self.expectedIdentities {
            #expect(loaded.identity(of: try address(text))?.description == expected)
        }
    }
}
