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

/// The search-path rule's memory follows the recent traffic, not the capture's length.
struct SearchPathMemoryOverTimeTests {
    static func nxDomain(_ client: String, _ name: String, at milliseconds: Int64, frame: Int) -> Transaction {
        DiagnoserTests.transaction(client: client, server: "10.96.0.10", at: milliseconds, id: UInt16(frame % 65_536),
                                   name: name, outcome: .answered, rcode: .nxDomain, frame: frame)
    }

    /// Prefixes two search windows old leave at the next sweep, far below any cap: on long
    /// captures the table used to grow until `maximumSearchBasesInAll` (tens of MB).
    @Test func prefixesTwoWindowsOldLeaveBelowTheCap() throws {
        var diagnoser = Diagnoser()
        for index in 0..<200 {
            diagnoser.add(Self.nxDomain("10.244.1.\(index % 50 + 1)", "old\(index).example.", at: Int64(index), frame: index))
        }
        #expect(diagnoser.searchPrefixesHeld == 200)
        // 15 s later (more than one window, less than two): still held, a later answer to an
        // older query can still find them.
        diagnoser.add(Self.nxDomain("10.244.1.1", "mid.example.", at: 15_000, frame: 1_000))
        #expect(diagnoser.searchPrefixesHeld == 201)
        // 30 s after the first ones: two windows old, swept.
        diagnoser.add(Self.nxDomain("10.244.1.1", "new.example.", at: 30_000, frame: 1_001))
        #expect(diagnoser.searchPrefixesHeld == 2)
        // The rule still works after a sweep.
        for (offset, suffix) in ["default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."].enumerated() {
            diagnoser.add(Self.nxDomain("10.244.1.2", "api.github.com." + suffix, at: 30_100 + Int64(offset), frame: 1_010 + offset))
        }
        diagnoser.add(DiagnoserTests.transaction(client: "10.244.1.2", server: "10.96.0.10", at: 30_200, id: 9,
                                                 name: "api.github.com.", outcome: .answered, frame: 1_020))
        let findings = diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: .seconds(5)))
        let amplification = try #require(findings.first { $0.kind == .searchPathAmplification })
        #expect(amplification.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 3)
    }

    /// Once the finding holds its examples and `maximumFramesPerSource` frames, prefixes learnt
    /// later keep no names or frames (they would be thrown away): counts stay exact.
    @Test func prefixesKeepNoEvidenceOnceTheFindingIsFull() throws {
        var diagnoser = Diagnoser()
        var frame = 1
        var time: Int64 = 0
        func lookup(_ client: String, _ name: String) {
            for suffix in ["default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."] {
                diagnoser.add(Self.nxDomain(client, name + suffix, at: time, frame: frame))
                frame += 2
                time += 1
            }
            diagnoser.add(DiagnoserTests.transaction(client: client, server: "10.96.0.10", at: time, id: 9,
                                                     name: name, outcome: .answered, frame: frame))
            frame += 2
            time += 1
        }
        // Each amplified lookup quotes 8 frames (3 NXDOMAIN exchanges and the real one): 250 fill 2,000.
        for index in 0..<500 { lookup("10.244.1.\(index % 100 + 1)", "n\(index).example.") }
        let findings = diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: .seconds(5)))
        let full = try #require(findings.first { $0.kind == .searchPathAmplification })
        #expect(full.frames.count == Diagnoser.maximumFramesPerSource)
        let heldWhenFull = diagnoser.searchEvidenceHeld
        // New NXDOMAIN names now add prefixes without names or frames.
        for index in 0..<50 {
            diagnoser.add(Self.nxDomain("10.244.2.\(index + 1)", "late\(index).example.svc.cluster.local.", at: time, frame: frame))
            frame += 2
        }
        #expect(diagnoser.searchPrefixesHeld > 0)
        #expect(diagnoser.searchEvidenceHeld == heldWhenFull)
        // And a lookup found afterwards is still counted.
        lookup("10.244.3.1", "after.example.")
        let later = diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: .seconds(5)))
        let amplification = try #require(later.first { $0.kind == .searchPathAmplification })
        #expect(amplification.counts.first { $0.0 == "amplified_lookups" }?.1 == 501)
        #expect(amplification.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 1_503)
    }

    /// The prefixes' names and frames are shared by copies of the diagnoser (the live
    /// diagnosis adds held queries to a copy): a copy's answers never reach the original.
    @Test func aCopyOfTheDiagnoserLeavesTheOriginalsPrefixesAlone() throws {
        var original = Diagnoser()
        original.add(Self.nxDomain("10.244.1.2", "api.github.com.default.svc.cluster.local.", at: 0, frame: 1))
        let held = original.searchEvidenceHeld
        var copy = original
        for (offset, suffix) in ["svc.cluster.local.", "cluster.local."].enumerated() {
            copy.add(Self.nxDomain("10.244.1.2", "api.github.com." + suffix, at: 1 + Int64(offset), frame: 10 + offset))
        }
        #expect(copy.searchEvidenceHeld > held)
        #expect(original.searchEvidenceHeld == held)
        // Each finds its own: three NXDOMAIN answers before the name in the copy (its example
        // names all three), one in the original (a search path doing its job: no finding).
        let context = DiagnosisContext(directory: ClusterDirectory(), timeout: .seconds(5))
        var found: [[Finding]] = []
        for var diagnoser in [original, copy] {
            diagnoser.add(DiagnoserTests.transaction(client: "10.244.1.2", server: "10.96.0.10", at: 5, id: 9,
                                                     name: "api.github.com.", outcome: .answered, frame: 20))
            found.append(diagnoser.findings(context: context).filter { $0.kind == .searchPathAmplification })
        }
        #expect(found[0].isEmpty)
        let amplification = try #require(found[1].first)
        #expect(amplification.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 3)
        #expect(amplification.examples.first?.note?.contains("api.github.com.cluster.local.") == true)
    }
}

