import Foundation
import Testing
import Attribution
import PacketDecoding

/// Which Service a DNS server's pod backs, when the ClusterIP never crossed the wire.
struct ServiceBackendTests {
    static let cluster = """
        {"kind": "List", "items": [
          {"kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
           "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "selector": {"k8s-app": "kube-dns"},
                    "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}},
          {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"clusterIP": "10.96.5.5", "selector": {"app": "web"}}},
          {"kind": "Pod", "metadata": {"name": "coredns-a", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
           "spec": {"nodeName": "node-a"}, "status": {"phase": "Running", "podIP": "10.244.0.53", "hostIP": "172.18.0.10"}},
          {"kind": "Pod", "metadata": {"name": "coredns-host", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
           "spec": {"nodeName": "node-b", "hostNetwork": true},
           "status": {"phase": "Running", "podIP": "172.18.0.11", "hostIP": "172.18.0.11"}},
          {"kind": "Pod", "metadata": {"name": "kube-proxy-b", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
           "spec": {"nodeName": "node-b", "hostNetwork": true},
           "status": {"phase": "Running", "podIP": "172.18.0.11", "hostIP": "172.18.0.11"}},
          {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
           "spec": {"nodeName": "node-a"}, "status": {"phase": "Running", "podIP": "10.244.1.10", "hostIP": "172.18.0.10"}}
        ]}
        """

    @Test func aCoreDNSPodBacksTheKubeDNSService() throws {
        let directory = try ClusterDirectory(kubectlJSON: Data(Self.cluster.utf8))
        let backed = directory.services(backedBy: try address("10.244.0.53"))
        #expect(backed.map { "\($0.service.namespace)/\($0.service.name)" } == ["kube-system/kube-dns"])
        #expect(backed.first?.clusterIPs.map(\.description) == ["10.96.0.10"])
    }

    /// A selector matches only pods of the Service's own namespace.
    @Test func aPodOfAnotherNamespaceBacksNothing() throws {
        let directory = try ClusterDirectory(kubectlJSON: Data(Self.cluster.utf8))
        #expect(directory.services(backedBy: try address("10.244.1.10")).isEmpty)
        #expect(directory.services(backedBy: try address("192.0.2.1")).isEmpty)
    }

    /// A node address: the host-network pods on it, and among them the one the Service selects.
    @Test func aHostNetworkCoreDNSIsFoundAmongTheNodesPods() throws {
        let directory = try ClusterDirectory(kubectlJSON: Data(Self.cluster.utf8))
        let node = try address("172.18.0.11")
        let backed = directory.services(backedBy: node)
        #expect(backed.map(\.service.name) == ["kube-dns"])
        let service = try #require(backed.first?.service)
        #expect(directory.hostNetworkPods(at: node, backing: service).map(\.name) == ["coredns-host"])
        #expect(directory.hostNetworkPods(at: node).map(\.name) == ["coredns-host", "kube-proxy-b"])
    }
}
