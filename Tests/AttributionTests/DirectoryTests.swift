import Foundation
import Testing
import Attribution
import PacketDecoding

/// Without a file, and with the other fixture shapes (raw PodList, EKS endpoints).
struct DirectoryTests {
    @Test func emptyDirectoryKnowsNodeLocalDNSCache() throws {
        let empty = ClusterDirectory()
        let nodeLocal = try address("169.254.20.10")
        #expect(ClusterDirectory.nodeLocalDNSCacheAddress == nodeLocal)
        #expect(empty.identity(of: nodeLocal) == .nodeLocalDNSCache)
        #expect(empty.identity(of: nodeLocal)?.description == "NodeLocal DNSCache")
        #expect(empty.isDNSServer(nodeLocal))
        #expect(empty.dnsRole(of: nodeLocal) == .nodeLocalDNSCache)
        #expect(empty.dnsServers == [nodeLocal])
        #expect(empty.podCount == 0 && empty.serviceCount == 0 && empty.nodeCount == 0)
    }

    /// 10.96.0.10 and friends are only "probably" kube-dns: not a DNS server without evidence.
    @Test(arguments: ["10.96.0.10", "10.100.0.10", "172.20.0.10"])
    func wellKnownKubeDNSAddressesAreNotAssumed(text: String) throws {
        let ip = try address(text)
        var empty = ClusterDirectory()
        #expect(ClusterDirectory.wellKnownKubeDNSAddresses.contains(ip))
        #expect(ClusterDirectory.isWellKnownKubeDNSAddress(ip))
        #expect(empty.identity(of: ip) == nil)
        #expect(empty.isDNSServer(ip) == false)
        #expect(empty.annotation(for: ip) == "probably the kube-dns Service")
        empty.addDNSServer(ip)
        #expect(empty.dnsRole(of: ip) == .userGiven)
        #expect(empty.isDNSServer(ip))
    }

    @Test func wellKnownList() {
        #expect(ClusterDirectory.wellKnownKubeDNSAddresses.map(\.description) == ["10.96.0.10", "10.100.0.10", "172.20.0.10"])
        #expect(ClusterDirectory.isWellKnownKubeDNSAddress(IPAddress(ipv4: 0x0A60_000B)) == false)
    }

    @Test func userGivenDNSServers() throws {
        var directory = ClusterDirectory()
        for text in ["8.8.8.8", "2001:4860:4860::8888", "2001:4860:4860:0:0:0:0:8888"] {
            directory.addDNSServer(try address(text))
        }
        #expect(directory.dnsRole(of: try address("8.8.8.8")) == .userGiven)
        #expect(directory.dnsRole(of: try address("2001:4860:4860::8888")) == .userGiven)
        #expect(directory.dnsServers.map(\.description) == ["8.8.8.8", "169.254.20.10", "2001:4860:4860::8888"])
        #expect(directory.isDNSServer(try address("8.8.4.4")) == false)
    }

    @Test func extraNodeLocalDNSCacheAddress() throws {
        var directory = ClusterDirectory()
        let kubespray = try address("169.254.25.10")
        #expect(directory.identity(of: kubespray) == nil)
        directory.addNodeLocalDNSCacheAddress(kubespray)
        #expect(directory.identity(of: kubespray) == .nodeLocalDNSCache)
        #expect(directory.dnsRole(of: kubespray) == .nodeLocalDNSCache)
        #expect(directory.nodeLocalDNSCacheAddresses.count == 2)
    }

    // MARK: Raw PodList

    @Test func rawPodListItemsWithoutKindArePods() throws {
        let monitoring = try readDirectory(Fixtures.monitoringPodList)
        #expect(monitoring.podCount == 3)
        #expect(monitoring.serviceCount == 0)
        #expect(monitoring.identity(of: try address("10.244.2.5"))?.description == "monitoring/prometheus-k8s-0 (node-c)")
    }

    /// A finished Job pod keeps its `podIP` in the API; the running pod that got the address wins.
    @Test func runningPodWinsAReusedAddress() throws {
        let monitoring = try readDirectory(Fixtures.monitoringPodList)
        #expect(monitoring.pod(at: try address("10.244.2.9"))?.name == "grafana-7c9f8d6b5-2kq4z")
    }

    @Test func nodeAddressWithoutHostNetworkPodsIsTheNode() throws {
        let monitoring = try readDirectory(Fixtures.monitoringPodList)
        let nodeC = try address("10.0.1.12")
        #expect(monitoring.identity(of: nodeC) == .node("node-c"))
        #expect(monitoring.identity(of: nodeC)?.description == "node node-c")
        #expect(monitoring.hostNetworkPods(at: nodeC) == [])
        #expect(monitoring.nodeCount == 1)
    }

    @Test func documentsMerge() throws {
        var merged = try readDirectory(Fixtures.cluster)
        try merged.add(kubectlJSON: Data(Fixtures.monitoringPodList.utf8))
        #expect(merged.podCount == 13)
        #expect(merged.nodeCount == 3)
        #expect(merged.pod(at: try address("10.244.2.5"))?.name == "prometheus-k8s-0")
        #expect(merged.service(at: try address("10.96.0.10"))?.name == "kube-dns")
        // Reading the same document again replaces objects, it does not duplicate them.
        try merged.add(kubectlJSON: Data(Fixtures.cluster.utf8))
        #expect(merged.podCount == 13)
        #expect(merged.serviceCount == 6)
    }

    @Test func loadSeveralFiles() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = folder.appendingPathComponent("cluster.json"), second = folder.appendingPathComponent("monitoring.json")
        try Data(Fixtures.cluster.utf8).write(to: first)
        try Data(Fixtures.monitoringPodList.utf8).write(to: second)
        let both = try ClusterDirectory.load(paths: [first.path, second.path])
        #expect(both.podCount == 13)
    }

    // MARK: EndpointSlices and Endpoints (EKS, no pods in the file)

    @Test func eksKubeDNSServiceAndEndpointsWithoutPods() throws {
        let eks = try readDirectory(Fixtures.eksKubeSystemDNS)
        #expect(eks.podCount == 0)
        #expect(eks.serviceCount == 1)
        let clusterIP = try address("172.20.0.10")
        #expect(eks.identity(of: clusterIP)?.description == "kube-system/kube-dns (Service)")
        guard case .kubeDNSService(let service)? = eks.dnsRole(of: clusterIP) else {
            Issue.record("172.20.0.10 is not the kube-dns Service")
            return
        }
        #expect(service.ports.map(\.description) == ["53/UDP", "53/TCP", "9153/TCP"])
    }

    /// The EndpointSlice's targetRefs name the CoreDNS pods (the ready one and the one that is not).
    @Test func endpointsNameCoreDNSPods() throws {
        let eks = try readDirectory(Fixtures.eksKubeSystemDNS)
        let ready = PodIdentity(namespace: "kube-system", name: "coredns-7975d6fb9b-2kq9x",
                                node: "ip-192-168-10-20.eu-west-1.compute.internal")
        let notReady = PodIdentity(namespace: "kube-system", name: "coredns-7975d6fb9b-wp4lx",
                                   node: "ip-192-168-40-11.eu-west-1.compute.internal")
        #expect(eks.pod(at: try address("192.168.12.34")) == ready)
        #expect(eks.pod(at: try address("192.168.45.6")) == notReady)
        #expect(eks.dnsRole(of: try address("192.168.12.34")) == .coreDNSPod(ready))
        #expect(eks.dnsRole(of: try address("192.168.45.6")) == .coreDNSPod(notReady))
        #expect(eks.dnsServers.map(\.description) == ["169.254.20.10", "172.20.0.10", "192.168.12.34", "192.168.45.6"])
    }

    /// With the pods loaded too, their labels enrich what the endpoints said.
    @Test func podsFromAnotherFileWinOverEndpointReferences() throws {
        let pod = #"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"coredns-7975d6fb9b-2kq9x","namespace":"kube-system",
         "labels":{"k8s-app":"kube-dns","eks.amazonaws.com/component":"coredns"}},
         "spec":{"nodeName":"ip-192-168-10-20.eu-west-1.compute.internal"},
         "status":{"phase":"Running","podIP":"192.168.12.34","podIPs":[{"ip":"192.168.12.34"}],"hostIP":"192.168.10.20"}}
        """#
        var eks = try readDirectory(Fixtures.eksKubeSystemDNS)
        try eks.add(kubectlJSON: Data(pod.utf8))
        let identity = try #require(eks.pod(at: try address("192.168.12.34")))
        #expect(identity.labels["eks.amazonaws.com/component"] == "coredns")
        #expect(eks.dnsRole(of: try address("192.168.12.34")) == .coreDNSPod(identity))
        #expect(eks.identity(of: try address("192.168.10.20")) == .node("ip-192-168-10-20.eu-west-1.compute.internal"))
    }
}
