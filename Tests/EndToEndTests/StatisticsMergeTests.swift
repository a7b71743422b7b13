import Foundation
import Pipeline
import Testing
import Transactions

/// Counts of several parts of a run (vantages now, shards of a parallel run later) add up
/// field by field: a field added to a statistics type but not to its `add` is caught here.
struct StatisticsMergeTests {
    /// Every integer field of `merged` (a run added to itself) is twice `single`'s, except
    /// the peaks, which stay; dictionaries of counts double too. Fields at zero in every
    /// bundled capture cannot be told apart and are listed in the failure, not checked.
    static func expectDoubled(_ single: Any, _ merged: Any, peaks: Set<String> = []) {
        let mergedFields = Dictionary(uniqueKeysWithValues: Mirror(reflecting: merged).children.compactMap { child in
            child.label.map { ($0, child.value) }
        })
        for child in Mirror(reflecting: single).children {
            guard let label = child.label else { continue }
            if let value = child.value as? Int, let sum = mergedFields[label] as? Int {
                #expect(sum == (peaks.contains(label) ? value : 2 * value), "\(label)")
            } else if let counts = child.value as? [String: Int], let sums = mergedFields[label] as? [String: Int] {
                #expect(sums == counts.mapValues { 2 * $0 }, "\(label)")
            }
        }
    }

    @Test func packetEngineAndReassemblyCountsAddFieldByField() throws {
        var run = RunResult()
        for capture in Paths.bundledCaptures {
            let part = try analyzeFiles([capture.path], options: AnalysisOptions()) { _ in }
            run.packets.add(part.packets)
            run.engine.add(part.engine)
            run.reassembly.add(part.reassembly)
        }
        // Counters no bundled capture moves (multicast, caps, rare ICMP): given a value here.
        run.engine.multicastQueries = 3
        run.engine.responsesRejectedByClient = 5
        run.engine.unmatchedICMPErrors = 7
        run.engine.evicted = 11
        run.engine.expiredReleasedEarly = 13
        var packets = run.packets, engine = run.engine, reassembly = run.reassembly
        packets.add(run.packets)
        engine.add(run.engine)
        reassembly.add(run.reassembly)
        Self.expectDoubled(run.packets, packets)
        Self.expectDoubled(run.engine, engine, peaks: ["peakPending", "peakExpired"])
        Self.expectDoubled(run.reassembly, reassembly)
        #expect(engine.unsolicited.mapValues { $0 / 2 } == run.engine.unsolicited)
        #expect(packets.skipped.counts == run.packets.skipped.counts.map { 2 * $0 })
        // Every counter is non-zero, so every one was checked; a new field at zero in every
        // capture shows here (give it a value above).
        let zero = Mirror(reflecting: run.engine).children.filter { ($0.value as? Int) == 0 }.compactMap(\.label)
        #expect(zero.isEmpty, "engine counters not checked (zero): \(zero)")
    }
}
