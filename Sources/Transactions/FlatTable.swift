/// A key that folds itself into one well-mixed word (`Endpoint.mixed` and friends).
protocol FlatKey: Equatable {
    var folded: UInt64 { get }
}

/// The engine's hash tables: open addressing with linear probing in one flat array,
/// power-of-two capacity, at most half full, backward-shift deletion (no tombstones).
///
/// Swift's `Dictionary` hashes every key with SipHash (about 430 instructions here) and
/// the engine makes a dozen table operations per transaction; this table hashes a key with
/// one multiplication of its folded word (Fibonacci hashing: the top bits pick the slot)
/// and finds it in one or two probes. Slots are addressed by index so that a lookup's
/// result can be read, changed in place or removed without hashing again.
///
/// Like `Dictionary` with the engine's one-word `hash(into:)`, keys whose folded words
/// collide share a probe sequence; the folded words mix every field, so that takes keys
/// built for it.
struct FlatTable<Key: FlatKey, Value> {
    /// A key with its folded word (0 in an empty slot; a key whose word is 0 is stored as
    /// 1) and its value, in one slot: a probe compares words first and reads one cache line;
    /// a removal's shifting and a growth move entries without folding their keys again; a
    /// change checks one array for uniqueness, not two.
    private struct Slot {
        var word: UInt64
        var key: Key?
        var value: Value?

        static var empty: Slot { Slot(word: 0, key: nil, value: nil) }
    }

    private var slots: ContiguousArray<Slot>
    private var shift: UInt64
    private(set) var count = 0

    init() {
        slots = ContiguousArray(repeating: .empty, count: 16)
        shift = 64 - 4
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private static func stored(_ folded: UInt64) -> UInt64 { folded == 0 ? 1 : folded }

    @inline(__always)
    private static func home(_ word: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, if any; `folded` is `key.folded` when the caller has it.
    @inline(__always)
    func index(forKey key: Key, folded: UInt64? = nil) -> Int? {
        let word = FlatTable.stored(folded ?? key.folded)
        return slots.withUnsafeBufferPointer { slots in
            // Never full (at most half), so every probe ends at an empty slot.
            let mask = slots.count - 1
            var index = FlatTable.home(word, shift: shift)
            while slots[index].word != 0 {
                if slots[index].word == word && slots[index].key == key { return index }
                index = (index + 1) & mask
            }
            return nil
        }
    }

    /// The value in a slot returned by `index(forKey:)` (valid until the next insertion or removal).
    subscript(slot index: Int) -> Value {
        get { slots[index].value! }
        _modify { yield &slots[index].value! }
    }

    subscript(key: Key) -> Value? {
        get { index(forKey: key).map { slots[$0].value! } }
        set {
            if let index = index(forKey: key) {
                if let newValue {
                    slots[index].value = newValue
                } else {
                    remove(at: index)
                }
            } else if let newValue {
                insertNew(key, newValue)
            }
        }
    }

    /// Adds a key known to be absent; `folded` is `key.folded` when the caller has it.
    @inline(__always)
    mutating func insertNew(_ key: Key, _ value: Value, folded: UInt64? = nil) {
        if (count + 1) * 2 > slots.count { grow() }
        let slot = Slot(word: FlatTable.stored(folded ?? key.folded), key: key, value: value)
        let shift = shift
        slots.withUnsafeMutableBufferPointer { FlatTable.place(slot, in: $0, shift: shift) }
        count += 1
    }

    @inline(__always)
    private static func place(_ slot: Slot, in slots: UnsafeMutableBufferPointer<Slot>, shift: UInt64) {
        let mask = slots.count - 1
        var index = home(slot.word, shift: shift)
        while slots[index].word != 0 { index = (index + 1) & mask }
        slots[index] = slot
    }

    /// Removes the entry in a slot returned by `index(forKey:)`, moving back the entries
    /// after it that probed past it, so every entry stays reachable from its home slot.
    @inline(__always)
    mutating func remove(at index: Int) {
        let shift = shift
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count - 1
            var hole = index
            slots[hole] = .empty
            var next = (hole + 1) & mask
            while slots[next].word != 0 {
                // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
                let distanceToHole = (next - hole) & mask
                let distanceFromHome = (next - FlatTable.home(slots[next].word, shift: shift)) & mask
                if distanceFromHome >= distanceToHole {
                    slots.swapAt(hole, next)
                    hole = next
                }
                next = (next + 1) & mask
            }
        }
        count -= 1
    }

    private mutating func grow() {
        let old = slots
        slots = ContiguousArray(repeating: .empty, count: old.count * 2)
        shift -= 1
        let shift = shift
        slots.withUnsafeMutableBufferPointer { slots in
            for slot in old where slot.word != 0 { FlatTable.place(slot, in: slots, shift: shift) }
        }
    }

    mutating func removeAll() {
        self = FlatTable()
    }
}
