import Testing
import WireCore
@testable import Diagnosis

/// SearchPrefixTable against a Dictionary doing the same operations: every lookup, removal,
/// filter and count agrees, through growth, shrinking and the backward shifts of removal.
struct SearchPrefixTableTests {
    typealias Base = SearchPathAmplificationRule.SearchBase

    static func base(_ time: Int64, count: Int = 1) -> Base {
        var base = Base(time: Timestamp(nanoseconds: time))
        base.count = count
        return base
    }

    static func agree(_ table: SearchPrefixTable, _ model: [UInt64: Base], probes: [UInt64]) {
        #expect(table.count == model.count)
        #expect(table.isEmpty == model.isEmpty)
        for key in probes {
            let found = table.index(forKey: key).map { table[slot: $0] }
            #expect(found?.time == model[key]?.time, "key \(key)")
            #expect(found?.count == model[key]?.count, "key \(key)")
        }
        #expect(table.values.map(\.time.nanoseconds).sorted() == model.values.map(\.time.nanoseconds).sorted())
    }

    @Test func agreesWithADictionary() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<40 {
            var table = SearchPrefixTable()
            var model: [UInt64: Base] = [:]
            // Few distinct keys in some rounds (many hits and removals), many in others
            // (growth); 0 among them (the empty slots' marker: its entry is kept apart).
            let universe: [UInt64] = [0, 1, .max] + (0..<(round % 2 == 0 ? 20 : 600)).map { _ in
                UInt64.random(in: .min ... .max, using: &generator)
            }
            for step in 0..<3_000 {
                let key = universe.randomElement(using: &generator)!
                switch Int.random(in: 0..<10, using: &generator) {
                case 0..<5:
                    if let index = table.index(forKey: key) {
                        table[slot: index].count += 1
                        model[key]!.count += 1
                    } else {
                        #expect(model[key] == nil)
                        table.insertNew(key, Self.base(Int64(step)))
                        model[key] = Self.base(Int64(step))
                    }
                case 5..<9:
                    #expect(table.removeValue(forKey: key)?.time == model.removeValue(forKey: key)?.time)
                default:
                    let cut = Int64.random(in: 0...Int64(step), using: &generator)
                    let earliest = table.filter(keepingTimes: { $0.nanoseconds >= cut })
                    model = model.filter { $0.value.time.nanoseconds >= cut }
                    #expect(earliest == model.values.map(\.time).min())
                }
                if step % 97 == 0 { Self.agree(table, model, probes: universe) }
            }
            Self.agree(table, model, probes: universe)
        }
    }

    /// A copy is independent: changing it leaves the original as it was (the live diagnosis
    /// probes a copy of the rules).
    @Test func copiesAreIndependent() {
        var original = SearchPrefixTable()
        for key in UInt64(1)...100 { original.insertNew(key, Self.base(Int64(key))) }
        var copy = original
        _ = copy.removeValue(forKey: 5)
        copy.filter(keepingTimes: { $0.nanoseconds > 50 })
        copy[slot: copy.index(forKey: 60)!].count = 9
        #expect(original.count == 100)
        #expect(original.index(forKey: 5) != nil)
        #expect(original[slot: original.index(forKey: 60)!].count == 1)
        #expect(copy.count == 50)
    }

    /// Names and frames move with their prefix through growth, the backward shifts of
    /// removal and a filter's shrinking; a table that never kept any has no room for them,
    /// and one whose last were removed drops it at its next rebuild.
    @Test func namesMoveWithTheirPrefix() {
        var table = SearchPrefixTable()
        for key in UInt64(1)...40 { table.insertNew(key, Self.base(Int64(key))) }
        #expect(table.evidenceCapacity == 0)
        for key in UInt64(41)...400 {
            var base = Self.base(Int64(key))
            if key % 3 == 0 {
                base.evidence = SearchEvidence()
                base.evidence?.names = ["n\(key)"]
            }
            table.insertNew(key, base)
        }
        #expect(table.evidenceCapacity == table.capacity + 1)
        for key in stride(from: UInt64(41), through: 400, by: 7) { _ = table.removeValue(forKey: key) }
        table.filter(keepingTimes: { $0.nanoseconds > 100 })
        for key in UInt64(1)...400 {
            let removed = key <= 100 || (key >= 41 && (key - 41) % 7 == 0)
            guard let index = table.index(forKey: key) else {
                #expect(removed, "key \(key)")
                continue
            }
            #expect(!removed, "key \(key)")
            #expect(table[slot: index].names == (key % 3 == 0 ? ["n\(key)"] : []), "key \(key)")
            table[slot: index].count += 1
            #expect(table[slot: index].names == (key % 3 == 0 ? ["n\(key)"] : []), "key \(key)")
        }
        table.filter(keepingTimes: { $0.nanoseconds % 3 != 0 })
        #expect(table.values.allSatisfy { $0.names.isEmpty })
        table.filter(keepingTimes: { $0.nanoseconds > 300 })
        #expect(table.count > 0 && table.evidenceCapacity == 0)
    }

    /// A filter gives back the memory of what it removed.
    @Test func filterThatLeavesFewShrinks() {
        var table = SearchPrefixTable()
        for key in UInt64(1)...5_000 { table.insertNew(key, Self.base(Int64(key))) }
        table.filter(keepingTimes: { $0.nanoseconds <= 10 })
        #expect(table.count == 10)
        #expect(table.capacity == 16)  // 10 entries at most 3/4 full
        for key in UInt64(1)...10 { #expect(table.index(forKey: key) != nil) }
        #expect(table.index(forKey: 11) == nil)
        table.filter(keepingTimes: { _ in false })
        #expect(table.capacity == 0 && table.isEmpty && table.index(forKey: 1) == nil)
    }
}
