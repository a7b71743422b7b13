import Testing
import WireCore

/// CachedSlotIndex: the cache in front of the dictionary never gives a wrong slot.
struct CachedSlotIndexTests {
    /// A key whose quick hash is chosen by the test: `collide` puts every key on one line.
    struct Key: QuickHashable {
        var value: Int
        var collide: Bool
        var quickHash: UInt64 { collide ? 7 : UInt64(value) }
        static func == (lhs: Key, rhs: Key) -> Bool { lhs.value == rhs.value }
        func hash(into hasher: inout Hasher) { hasher.combine(value) }
    }

    /// Keys in order of first sight get slots 0, 1, 2, ... whatever the lookups in between,
    /// with every key on its own line or all on one (each lookup evicting the previous).
    @Test(arguments: [false, true])
    func slotsMatchFirstSightWhateverTheCollisions(collide: Bool) {
        var cached = CachedSlotIndex<Key>()
        var plain = SlotIndex<Key>()
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let key = Key(value: Int.random(in: 0..<3_000, using: &generator), collide: collide)
            if step % 3 == 0 {
                #expect(cached.slot(of: key) == plain.slot(of: key))
            } else {
                #expect(cached.slot(makingIfNew: key) == plain.slot(makingIfNew: key))
            }
        }
        #expect(cached.keys == plain.keys.map { Key(value: $0.value, collide: collide) })
        #expect(cached.count == plain.count)
        #expect(cached.slot(of: Key(value: 3_000, collide: collide)) == nil)
    }
}
