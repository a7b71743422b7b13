import Testing
@testable import Transactions

/// The engine's open-addressing table against `Dictionary` as the model.
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
}
