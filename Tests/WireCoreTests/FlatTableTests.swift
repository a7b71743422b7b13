import Testing
@testable import WireCore

/// The open-addressing table (the engine's, the search-path rule's) against `Dictionary` as the model.
struct FlatTableTests {
    struct Key: FlatKey, Hashable {
        var value: UInt64
        /// Few distinct folded words, so probe sequences overlap and deletion has to shift.
        var folded: UInt64 { value % 97 }
    }

    @Test func agreesWithDictionaryUnderRandomOperations() {
        var generator = SystemRandomNumberGenerator()
        var table = FlatTable<Key, Int>()
        var model: [Key: Int] = [:]
        for step in 0..<50_000 {
            let key = Key(value: UInt64.random(in: 0..<600, using: &generator))
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4:
                table[key] = step
                model[key] = step
            case 4..<6:
                if let index = table.index(forKey: key) {
                    table.remove(at: index)
                    model[key] = nil
                } else {
                    #expect(model[key] == nil)
                }
            case 6:
                if let index = table.index(forKey: key) { table[slot: index] += 1 }
                model[key]? += 1
            case 7:
                if table.index(forKey: key) == nil {
                    table.insertNew(key, -step)
                    #expect(model[key] == nil)
                    model[key] = -step
                }
            default:
                #expect(table[key] == model[key])
            }
            #expect(table.count == model.count)
        }
        for key in (0..<600).map({ Key(value: $0) }) { #expect(table[key] == model[key]) }
    }

    /// Grows past many doublings and empties again; every key stays reachable.
    @Test func growsAndEmpties() {
        var table = FlatTable<Key, Int>()
        for value in 0..<10_000 { table.insertNew(Key(value: UInt64(value)), value) }
        #expect(table.count == 10_000)
        for value in stride(from: 0, to: 10_000, by: 2) {
            guard let index = table.index(forKey: Key(value: UInt64(value))) else {
                Issue.record("key \(value) lost")
                return
            }
            table.remove(at: index)
        }
        for value in 0..<10_000 {
            #expect(table[Key(value: UInt64(value))] == (value % 2 == 0 ? nil : value))
        }
        for value in stride(from: 1, to: 10_000, by: 2) { table[Key(value: UInt64(value))] = nil }
        #expect(table.isEmpty)
    }

    /// `removeValue`, `keep(where:)` and `forEachValue` against the model, on colliding keys.
    @Test func removeValueKeepAndForEachAgreeWithDictionary() {
        var table = FlatTable<Key, Int>()
        var model: [Key: Int] = [:]
        for value in 0..<2_000 {
            table.insertNew(Key(value: UInt64(value)), value * 3)
            model[Key(value: UInt64(value))] = value * 3
        }
        for value in stride(from: 0, to: 2_000, by: 7) {
            #expect(table.removeValue(forKey: Key(value: UInt64(value))) == model.removeValue(forKey: Key(value: UInt64(value))))
        }
        #expect(table.removeValue(forKey: Key(value: 5_000)) == nil)
        table.keep { $0 % 2 == 0 }
        model = model.filter { $0.value % 2 == 0 }
        #expect(table.count == model.count)
        for value in 0..<2_000 { #expect(table[Key(value: UInt64(value))] == model[Key(value: UInt64(value))]) }
        var seen: [Int] = []
        table.forEachValue { seen.append($0) }
        #expect(seen.sorted() == model.values.sorted())
        // Still a working table after `keep`: inserts and removals of colliding keys.
        table.insertNew(Key(value: 7), -1)
        #expect(table[Key(value: 7)] == -1)
        #expect(table.removeValue(forKey: Key(value: 7)) == -1)
    }

    /// A precomputed hash is its own key.
    @Test func wordsAreTheirOwnKeys() {
        var table = FlatTable<UInt64, String>()
        table[0xcbf2_9ce4_8422_2325] = "basis"
        table[0] = "zero"
        #expect(table[0xcbf2_9ce4_8422_2325] == "basis")
        #expect(table[0] == "zero")
        #expect(table[1] == nil)
    }
}
