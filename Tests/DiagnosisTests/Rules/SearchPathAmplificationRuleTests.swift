import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// SearchPathAmplificationRule: NXDOMAIN through the search list before the real name.
struct SearchPathAmplificationRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        Shapes().findings(transactions, directory: directory)
    }

    /// ndots:5: three search suffixes answered NXDOMAIN before the real name.
    @Test func searchPathAmplification() throws {
        let suffixes = ["default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."]
        var transactions = suffixes.enumerated().map { index, suffix in
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: Int64(index), id: UInt16(index),
                             name: "api.github.com." + suffix, outcome: .answered, rcode: .nxDomain)
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 5, id: 9,
                                             name: "api.github.com.", outcome: .answered))
        let result = findings(transactions)
        #expect(result.map(\.kind) == [.searchPathAmplification])
        #expect(result.first?.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 3)
    }

    /// One search expansion (redis.sales → redis.sales.svc.cluster.local) is the search
    /// path doing its job, as in the healthy capture.
    @Test func oneSearchExpansionIsNormal() {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, id: 1,
                             name: "redis.sales.default.svc.cluster.local.", outcome: .answered, rcode: .nxDomain),
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 1, id: 2,
                             name: "redis.sales.svc.cluster.local.", outcome: .answered),
        ])
        #expect(result.isEmpty)
    }
}


/// The search-path rule's memory over all sources is capped, and expired prefixes leave.
struct SearchPathMemoryTests {
    @Test func prefixesOverAllSourcesStayCappedAndExpire() throws {
        var diagnoser = Diagnoser()
        let cap = Diagnoser.maximumSearchBasesInAll
        // 600 sources × 500 NXDOMAIN names, one prefix each ("nS-N."): more than the cap.
        var frame = 1
        for source in 0..<600 {
            for name in 0..<500 {
                diagnoser.add(DiagnoserTests.transaction(
                    client: "10.244.\(source / 200).\(source % 200 + 1)", server: "10.96.0.10", at: Int64(source),
                    id: UInt16(name), name: "n\(source)-\(name).example.", outcome: .answered, rcode: .nxDomain,
                    frame: frame))
                frame += 3
            }
            #expect(diagnoser.searchPrefixesHeld <= cap)
        }
        #expect(diagnoser.searchPrefixesHeld == cap)
        // Well after the search window: a new client's amplification is learnt again
        // (the full table was swept of expired prefixes).
        let late: Int64 = 600 + 2 * Diagnoser.searchWindow.nanoseconds / 1_000_000
        var transactions = ["default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."].enumerated().map {
            DiagnoserTests.transaction(client: "10.245.0.1", server: "10.96.0.10", at: late + Int64($0), id: UInt16($0),
                                       name: "api.github.com." + $1, outcome: .answered, rcode: .nxDomain)
        }
        transactions.append(DiagnoserTests.transaction(client: "10.245.0.1", server: "10.96.0.10", at: late + 5, id: 9,
                                                       name: "api.github.com.", outcome: .answered))
        for transaction in transactions { diagnoser.add(transaction) }
        #expect(diagnoser.searchPrefixesHeld < 100)
        let findings = diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: .seconds(5)))
        let amplification = try #require(findings.first { $0.kind == .searchPathAmplification })
        #expect(amplification.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 3)
    }
}
