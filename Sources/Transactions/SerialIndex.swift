/// A value an index slot can hold, with one reserved for empty slots.
protocol SerialIndexValue {
    /// Stored in empty slots; never a live value.
    static var vacant: Self { get }
}

extension Int: SerialIndexValue {
    static var vacant: Int { -1 }
}

/// The engine's index tables over outstanding transactions (exchange, retry, client): open
/// addressing like `FlatTable` (power-of-two capacity, at most half full, linear probing,
/// backward-shift deletion), but a slot keeps only the key's folded word and a serial,
/// 16 bytes, never the key. The key is already in the pending transaction the serial
/// names: a lookup compares folded words and lets the caller confirm a candidate against
/// that transaction (`where:`). Several serials under one key (the exchange and client
/// indexes) take a slot each, in the order added (`forEach(forFolded:)`); keys with the
/// same folded word share a probe sequence, as in `FlatTable`.
///
/// Issue 14.3: at 1 M outstanding queries (2^21 slots per table) the keys made three
/// tables of 56 to 80 bytes a slot, 470 MB; folded words and serials make them 100 MB.
struct SerialIndex<Value: SerialIndexValue> {
    /// A key's folded word (0 in an empty slot; a key whose word is 0 is stored as 1) and
    /// its value, side by side: a probe reads one cache line, and a change checks that one
    /// array is unique once (two arrays cost two checks and two lines per operation).
    private struct Slot: WordSlot {
        var word: UInt64
        var value: Value

        static var empty: Slot { Slot(word: 0, value: .vacant) }
    }

    private var slots: ContiguousArray<Slot>
    private var shift: UInt64
    private(set) var count = 0

    init() {
        self.init(minimumCapacity: 0)
    }

    /// A table that holds `minimumCapacity` entries without growing.
    init(minimumCapacity: Int) {
        var bits: UInt64 = 4
        while 1 << bits < minimumCapacity * 2 { bits += 1 }
        slots = ContiguousArray(repeating: .empty, count: 1 << bits)
        shift = 64 - bits
    }

    var isEmpty: Bool { count == 0 }

    /// Slots in the table (twice the entries it can hold before growing).
    var capacity: Int { slots.count }

    /// The first slot, in probe order, whose key folds to `folded` and whose value `matches`
    /// confirms (the caller checks the transaction it names has the key looked for).
    @inline(__always)
    func index(forFolded folded: UInt64, where matches: (Value) -> Bool) -> Int? {
        let word = OpenAddressing.stored(folded)
        return slots.withUnsafeBufferPointer { slots in
            // Never full (at most half), so every probe ends at an empty slot.
            let mask = slots.count - 1
            var index = OpenAddressing.home(word, shift: shift)
            while slots[index].word != 0 {
                if slots[index].word == word && matches(slots[index].value) { return index }
                index = (index + 1) & mask
            }
            return nil
        }
    }

    /// The value in a slot returned by `index(forFolded:where:)` (valid until the next insertion or removal).
    subscript(slot index: Int) -> Value {
        get { slots[index].value }
        _modify { yield &slots[index].value }
    }

    /// Adds an entry for a key known to have none.
    @inline(__always)
    mutating func insertNew(folded: UInt64, _ value: Value) {
        if (count + 1) * 2 > slots.count { grow() }
        let shift = shift
        slots.withUnsafeMutableBufferPointer { OpenAddressing.place(Slot(word: OpenAddressing.stored(folded), value: value), in: $0, shift: shift) }
        count += 1
    }

    /// Removes the entry in a slot, moving back the entries after it that probed past it,
    /// so every entry stays reachable from its home slot.
    @inline(__always)
    mutating func remove(at index: Int) {
        let shift = shift
        slots.withUnsafeMutableBufferPointer { OpenAddressing.remove(at: index, in: $0, shift: shift) }
        count -= 1
    }

    private mutating func grow() {
        let old = slots
        slots = ContiguousArray(repeating: .empty, count: old.count * 2)
        shift -= 1
        let shift = shift
        // From an empty slot on, cyclically: a probe sequence that wraps past the end is
        // moved in its order, so entries of one folded word keep theirs.
        let mask = old.count - 1
        let start = old.firstIndex { $0.word == 0 } ?? 0
        slots.withUnsafeMutableBufferPointer { slots in
            for offset in old.indices {
                let slot = old[(start + offset) & mask]
                if slot.word != 0 { OpenAddressing.place(slot, in: slots, shift: shift) }
            }
        }
    }

    /// Calls `body` with the value of every entry whose key folds to `folded`, in the order
    /// they were added: a new entry goes after those of its folded word (they share a home
    /// slot), removal shifts entries back without passing one another, growth moves them in order.
    @inline(__always)
    func forEach(forFolded folded: UInt64, _ body: (Value) -> Void) {
        let word = OpenAddressing.stored(folded)
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var index = OpenAddressing.home(word, shift: shift)
            while slots[index].word != 0 {
                if slots[index].word == word { body(slots[index].value) }
                index = (index + 1) & mask
            }
        }
    }
}

extension SerialIndex {
    /// The slot of `key` (see `index(forFolded:where:)`).
    @inline(__always)
    func index<Key: FlatKey>(forKey key: Key, where matches: (Value) -> Bool) -> Int? {
        index(forFolded: key.folded, where: matches)
    }

    mutating func insertNew<Key: FlatKey>(_ key: Key, _ value: Value) {
        insertNew(folded: key.folded, value)
    }
}
