import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// NodeLocalBlockedRule: queries to the link-local cache unanswered while another server answers.
struct NodeLocalBlockedRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        Shapes().findings(transactions, directory: directory)
    }

    @Test func nodeLocalBlockedWhileTheClusterIPAnswers() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.11", server: "169.254.20.10", at: 0, outcome: .unanswered),
            Shapes.transaction(client: "10.244.1.11", server: "169.254.20.10", at: 10, outcome: .unanswered),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 20, outcome: .answered),
            Shapes.transaction(client: "10.244.1.10", server: "169.254.20.10", at: 30, outcome: .answered),
        ])
        #expect(result.map(\.kind) == [.nodeLocalBlocked])
        let finding = try #require(result.first)
        #expect(finding.confidence == .high)
        #expect(finding.remediation.contains("ipBlock: {cidr: 169.254.20.10/32}"))
        #expect(finding.servers.first?.identity == "NodeLocal DNSCache")
    }
}
