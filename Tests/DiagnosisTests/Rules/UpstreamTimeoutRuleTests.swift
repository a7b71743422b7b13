import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// UpstreamTimeoutRule: a server answering SERVFAIL or late while its upstream queries go unanswered.
struct UpstreamTimeoutRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        Shapes().findings(transactions, directory: directory)
    }

    @Test func upstreamTimeoutNamesTheForwarderAndItsUpstream() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.244.0.53", at: 0, name: "example.com.", outcome: .answered, rcode: .servFail, answerAfter: 5000),
            Shapes.transaction(client: "10.244.1.10", server: "10.244.0.53", at: 10, name: "example.org.", outcome: .answered, rcode: .servFail),
            Shapes.transaction(client: "10.244.0.53", server: "192.0.2.53", at: 1, name: "example.com.", outcome: .unanswered),
            Shapes.transaction(client: "10.244.0.53", server: "192.0.2.53", at: 11, name: "example.org.", outcome: .unanswered),
        ])
        #expect(result.map(\.kind) == [.upstreamTimeout])
        #expect(result.first?.sources.map(\.ip.description) == ["10.244.0.53"])
        #expect(result.first?.servers.map(\.ip.description) == ["192.0.2.53"])
    }

    /// Clients ask the kube-dns ClusterIP, DNATed to the CoreDNS pod, whose own queries to
    /// the upstream leave from the pod's address: linked through the DNAT backend.
    @Test func serverBehindAServiceIsLinkedThroughItsBackend() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, name: "example.com.", outcome: .answered,
                               rcode: .servFail, answerAfter: 4000, backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 10, id: 2, name: "example.org.",
                               outcome: .answered, rcode: .servFail, answerAfter: 4000, backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.0.53", port: 30001, server: "192.0.2.53", at: 1, name: "example.com.",
                               outcome: .unanswered),
            Shapes.transaction(client: "10.244.0.53", port: 30002, server: "192.0.2.53", at: 11, id: 3, name: "example.org.",
                               outcome: .unanswered),
        ])
        #expect(result.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(result.first)
        #expect(finding.title == "DNS server 10.244.0.53 behind 10.96.0.10 (probably the kube-dns Service) gets no answer from its upstream 192.0.2.53")
        #expect(finding.sources.map(\.ip.description) == ["10.244.0.53"])
        #expect(finding.servers.map(\.ip.description) == ["192.0.2.53"])
        #expect(finding.confidence == .high)
        #expect(finding.counts.first { $0.0 == "servfail_answers" }?.1 == 2)
    }

    /// hostNetwork CoreDNS: the DNAT to the node's address is local and never on the wire,
    /// so the link is the forwarded question: the same name, asked upstream from the node
    /// while the client waited for the SERVFAIL.
    @Test func hostNetworkServerIsLinkedByTheForwardedQuestion() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, name: "Example.COM.", outcome: .answered,
                               rcode: .servFail, answerAfter: 3000),
            Shapes.transaction(client: "192.168.1.20", port: 30001, server: "192.0.2.53", at: 2, name: "example.com.",
                               outcome: .unanswered, retryAfter: 1000),
        ])
        #expect(result.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(result.first)
        #expect(finding.title == "DNS server 192.168.1.20 behind 10.96.0.10 (probably the kube-dns Service) gets no answer from its upstream 192.0.2.53")
        #expect(finding.explanation.contains(", asking the very names those clients asked, while they waited"))
    }

    /// The same name asked upstream only after the client had its answer is no forwarding.
    @Test func sameNameAskedAfterTheAnswerIsNoLink() {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, name: "example.com.", outcome: .answered,
                               rcode: .servFail, answerAfter: 100),
            Shapes.transaction(client: "192.168.1.20", port: 30001, server: "192.0.2.53", at: 500, name: "example.com.",
                               outcome: .unanswered),
        ])
        #expect(!result.contains { $0.kind == .upstreamTimeout })
    }

    /// NodeLocal DNSCache forwards to the ClusterIP (over TCP, force_tcp); CoreDNS's
    /// upstream is dead: one finding for CoreDNS, naming the cache that passed it on.
    @Test func nodeLocalCacheInFrontIsNamedAsARelay() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "169.254.20.10", at: 0, name: "example.com.", outcome: .answered,
                               rcode: .servFail, answerAfter: 5000),
            Shapes.transaction(client: "169.254.20.10", port: 30001, server: "10.96.0.10", at: 1, id: 7, name: "example.com.",
                               outcome: .answered, rcode: .servFail, answerAfter: 4000, backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.0.53", port: 30002, server: "192.0.2.53", at: 2, id: 8, name: "example.com.",
                               outcome: .unanswered),
        ])
        #expect(result.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(result.first)
        #expect(finding.title == "DNS server 10.244.0.53 behind 10.96.0.10 (probably the kube-dns Service) gets no answer from its upstream 192.0.2.53")
        #expect(finding.explanation.contains("NodeLocal DNSCache (169.254.20.10) passed the same failures on to its own clients"))
    }

    /// A capture shorter than the timeout: the upstream query still in flight at the end
    /// counts once it had waited 2 s, while the client already got SERVFAIL.
    @Test func upstreamQueryWaitingTwoSecondsAtTheEndCounts() throws {
        let shapes = [
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, name: "example.com.", outcome: .answered,
                               rcode: .servFail, answerAfter: 1500, backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.0.53", port: 30001, server: "192.0.2.53", at: 100, name: "example.com.",
                               outcome: .inFlight),
        ]
        let found = Shapes().findings(shapes, captureEndMilliseconds: 2_600)
        let finding = try #require(found.first { $0.kind == .upstreamTimeout })
        #expect(finding.counts.first { $0.0 == "upstream_queries_waiting_at_end" }?.1 == 1)
        #expect(finding.counts.first { $0.0 == "unanswered_upstream_queries" }?.1 == 0)
        #expect(finding.explanation.contains("1 still waiting 2.0 s or more when the capture ended"))
        // Waiting 1.5 s only: in flight, no evidence yet.
        #expect(Shapes().findings(shapes, captureEndMilliseconds: 1_600).isEmpty)
    }

    /// Upstream queries unanswered but every client answered fine: nothing to blame.
    @Test func noSERVFAILNoFinding() {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, name: "example.com.", outcome: .answered,
                               backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.0.53", port: 30001, server: "192.0.2.53", at: 1, name: "example.com.",
                               outcome: .unanswered),
        ])
        #expect(!result.contains { $0.kind == .upstreamTimeout })
    }

    /// Pods asking two CoreDNS replicas the same popular names: one pod's unanswered query
    /// while another pod got SERVFAIL for that name is no forwarding (its server answers
    /// SERVFAIL itself, and the pod is a client of the server) — a false alarm on the
    /// benchmark's synthetic capture before.
    @Test func clientsOfTheSameServersAreNoForwarders() {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.244.0.53", at: 0, name: "example.com.", outcome: .answered,
                               rcode: .servFail, answerAfter: 50),
            Shapes.transaction(client: "10.244.1.10", server: "10.244.0.54", at: 20, id: 2, name: "example.com.",
                               outcome: .answered, rcode: .servFail, answerAfter: 50),
            Shapes.transaction(client: "10.244.1.11", port: 30001, server: "10.244.0.54", at: 10, id: 3, name: "example.com.",
                               outcome: .unanswered),
            Shapes.transaction(client: "10.244.1.12", port: 30002, server: "10.244.0.60", at: 30, id: 4, name: "example.com.",
                               outcome: .unanswered),
            Shapes.transaction(client: "10.244.1.12", port: 30003, server: "10.244.0.53", at: 40, id: 5, name: "other.com.",
                               outcome: .answered),
        ])
        #expect(!result.contains { $0.kind == .upstreamTimeout }, "\(result.map(\.title))")
    }
}
