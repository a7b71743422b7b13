import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// BackendUnreachableRule: one DNAT backend answers a client, another never does.
struct BackendUnreachableRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        Shapes().findings(transactions, directory: directory)
    }

    @Test func backendSplitNamesTheSilentBackend() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 0, outcome: .answered, backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 10, outcome: .unanswered, backend: "10.244.2.53"),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 20, outcome: .unanswered, backend: "10.244.2.53"),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 30, outcome: .unanswered, backend: "10.244.2.53"),
        ])
        #expect(result.map(\.kind) == [.backendUnreachable])
        #expect(result.first?.title.contains("10.244.2.53") == true)
        #expect(result.first?.confidence == .high)
    }
}
