import Foundation
import Testing
import Attribution

struct IdentityTests {
    static let web = PodIdentity(namespace: "default", name: "web-7d4b9c-x2x", node: "node-a", labels: ["app": "web"])

    @Test func oneLineDescriptions() {
        #expect(Identity.pod(Self.web).description == "default/web-7d4b9c-x2x (node-a)")
        #expect(Identity.pod(PodIdentity(namespace: "default", name: "web-7d4b9c-x2x")).description == "default/web-7d4b9c-x2x")
        #expect(Identity.service(ServiceIdentity(namespace: "kube-system", name: "kube-dns")).description == "kube-system/kube-dns (Service)")
        #expect(Identity.nodeLocalDNSCache.description == "NodeLocal DNSCache")
        #expect(Identity.node("node-a").description == "node node-a")
        #expect(Identity.hostNetwork(node: "node-a", pods: [Self.web]).description == "node node-a (host network)")
    }

    @Test func roleDescriptions() {
        #expect(DNSRole.kubeDNSService(ServiceIdentity(namespace: "kube-system", name: "kube-dns")).description
                == "kube-dns Service kube-system/kube-dns")
        #expect(DNSRole.coreDNSPod(Self.web).description == "CoreDNS pod default/web-7d4b9c-x2x (node-a)")
        #expect(DNSRole.nodeLocalDNSCache.description == "NodeLocal DNSCache")
        #expect(DNSRole.userGiven.description == "DNS server given with --dns-server")
        #expect(ServicePort(port: 53, transportProtocol: "UDP").description == "53/UDP")
    }

    @Test func identitiesRoundTripThroughJSON() throws {
        let service = ServiceIdentity(namespace: "kube-system", name: "kube-dns",
                                      ports: [ServicePort(name: "dns", port: 53, transportProtocol: "UDP", targetPort: "53")],
                                      selector: ["k8s-app": "kube-dns"])
        #expect(try JSONDecoder().decode(PodIdentity.self, from: JSONEncoder().encode(Self.web)) == Self.web)
        #expect(try JSONDecoder().decode(ServiceIdentity.self, from: JSONEncoder().encode(service)) == service)
    }
}
