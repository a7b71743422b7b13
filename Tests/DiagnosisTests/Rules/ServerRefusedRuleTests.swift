import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// ServerRefusedRule: REFUSED from a server, an access list at the server.
struct ServerRefusedRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction]) -> [Finding] { Shapes().findings(transactions) }

    @Test func serverRefusingOnePodWhileAnsweringAnother() throws {
        var transactions = (0..<3).map { index in
            Shapes.transaction(client: "10.244.1.11", port: UInt16(41000 + index), server: "10.96.0.10", at: Int64(index),
                               id: UInt16(index), name: "db\(index).example.", outcome: .answered, rcode: .refused)
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 10, outcome: .answered))
        let result = findings(transactions)
        #expect(result.map(\.kind) == [.serverRefused])
        let finding = try #require(result.first)
        #expect(finding.confidence == .high)
        #expect(finding.title == "DNS server 10.96.0.10 (probably the kube-dns Service) refuses queries from 10.244.1.11")
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(finding.counts.first { $0.0 == "refused_answers" }?.1 == 3)
        #expect(finding.counts.first { $0.0 == "answered_otherwise" }?.1 == 1)
        #expect(finding.explanation.contains("to 1 other source"))
        #expect(finding.examples.count == 3)
    }

    /// NXDOMAIN and SERVFAIL are not refusals.
    @Test func otherErrorsAreNotRefusals() {
        let result = findings([
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 0, outcome: .answered, rcode: .nxDomain),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 1, id: 2, outcome: .answered, rcode: .servFail),
        ])
        #expect(!result.contains { $0.kind == .serverRefused })
    }

    /// A dynamic UPDATE or a NOTIFY refused is the zone's policy, and one refused query is a
    /// name asked of the wrong server (public captures zeek_dynamic-update, zeek_Teredo).
    @Test func updatesNotifiesAndASingleRefusalAreNoFinding() {
        var update = Shapes.transaction(client: "192.168.1.106", server: "192.168.1.108", at: 0, outcome: .answered, rcode: .refused)
        update.opcode = DNSOpcode(5)
        var notify = Shapes.transaction(client: "192.168.1.106", server: "192.168.1.108", at: 1, id: 2, outcome: .answered,
                                        rcode: .refused)
        notify.opcode = DNSOpcode(4)
        let single = Shapes.transaction(client: "192.168.2.16", server: "192.168.2.1", at: 2, id: 3, outcome: .answered,
                                        rcode: .refused)
        #expect(findings([update, notify, single]).isEmpty)
    }
}
