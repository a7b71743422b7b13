import Testing
@testable import Transactions

/// The folded-key index against `Dictionary` as the model: the table keeps only folded
/// words and values, and a lookup is confirmed by the caller (here: value / 1000 is the key).
struct SerialIndexTests {
    /// Few distinct folded words (and 0 among them), so keys share probe sequences and
    /// folded words, and deletion has to shift.
    static func folded(_ key: Int) -> UInt64 { UInt64(key % 37) }

    static func index(of key: Int, in table: SerialIndex<Int>) -> Int? {
        table.index(forFolded: folded(key), where: { $0 / 1000 == key })
    }

    @Test func keysSharingAFoldedWordStayApart() {
        var generator = SystemRandomNumberGenerator()
        var table = SerialIndex<Int>()
        var model: [Int: Int] = [:]
        for step in 0..<50_000 {
            let key = Int.random(in: 0..<600, using: &generator)
            let value = key * 1000 + step % 1000
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4:
                if let slot = Self.index(of: key, in: table) {
                    table[slot: slot] = value
                } else {
                    table.insertNew(folded: Self.folded(key), value)
                }
                model[key] = value
            case 4..<7:
                if let slot = Self.index(of: key, in: table) {
                    table.remove(at: slot)
                    model[key] = nil
                } else {
                    #expect(model[key] == nil)
                }
            default:
                #expect(Self.index(of: key, in: table).map { table[slot: $0] } == model[key])
            }
            #expect(table.count == model.count)
        }
        for key in 0..<600 { #expect(Self.index(of: key, in: table).map { table[slot: $0] } == model[key]) }
    }

    /// Sized up front, it holds that many entries without growing; grown, every key stays reachable.
    @Test func presizedTableDoesNotGrowAndGrownTableKeepsEveryKey() {
        var presized = SerialIndex<Int>(minimumCapacity: 1_000)
        let capacity = presized.capacity
        for key in 0..<1_000 { presized.insertNew(folded: UInt64(key), key * 1000) }
        #expect(presized.capacity == capacity)
        var grown = SerialIndex<Int>()
        for key in 0..<10_000 { grown.insertNew(folded: Self.folded(key), key * 1000) }
        for key in stride(from: 0, to: 10_000, by: 2) {
            guard let slot = Self.index(of: key, in: grown) else {
                Issue.record("key \(key) lost")
                return
            }
            grown.remove(at: slot)
        }
        for key in 0..<10_000 {
            #expect(Self.index(of: key, in: grown).map { grown[slot: $0] } == (key % 2 == 0 ? nil : key * 1000))
        }
    }

    /// Several values under one folded word (the exchange index's serials sharing a
    /// 5-tuple and id) come back in the order added, through removals, growth and probe
    /// sequences that wrap past the end of the table.
    @Test func valuesUnderOneWordKeepTheirOrder() {
        var generator = SystemRandomNumberGenerator()
        var table = SerialIndex<Int>()
        var model: [UInt64: [Int]] = [:]
        for step in 0..<6_000 {
            // Words whose home is the last slot at every size (the table's multiplier times
            // its inverse is 1): their probe sequences wrap.
            let word = (UInt64.max - UInt64.random(in: 0..<12, using: &generator)) &* 0xF1DE_83E1_9937_733D
            if Int.random(in: 0..<3, using: &generator) == 0, let values = model[word], !values.isEmpty {
                let value = values[Int.random(in: 0..<values.count, using: &generator)]
                guard let slot = table.index(forFolded: word, where: { $0 == value }) else {
                    Issue.record("value \(value) lost")
                    return
                }
                table.remove(at: slot)
                model[word]?.removeAll { $0 == value }
            } else {
                table.insertNew(folded: word, step)
                model[word, default: []].append(step)
            }
        }
        for (word, values) in model {
            var found: [Int] = []
            table.forEach(forFolded: word) { found.append($0) }
            #expect(found == values)
        }
    }
}
