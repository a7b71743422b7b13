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
    private struct Slot: WordSlot {
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

    /// The slot holding `key`, if any; `folded` is `key.folded` when the caller has it.
    @inline(__always)
    func index(forKey key: Key, folded: UInt64? = nil) -> Int? {
        let word = OpenAddressing.stored(folded ?? key.folded)
        return slots.withUnsafeBufferPointer { slots in
            // Never full (at most half), so every probe ends at an empty slot.
            let mask = slots.count - 1
            var index = OpenAddressing.home(word, shift: shift)
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
        let slot = Slot(word: OpenAddressing.stored(folded ?? key.folded), key: key, value: value)
        let shift = shift
        slots.withUnsafeMutableBufferPointer { OpenAddressing.place(slot, in: $0, shift: shift) }
        count += 1
    }

    /// Removes the entry in a slot returned by `index(forKey:)`, moving back the entries
    /// after it that probed past it, so every entry stays reachable from its home slot.
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
        slots.withUnsafeMutableBufferPointer { slots in
            for slot in old where slot.word != 0 { OpenAddressing.place(slot, in: slots, shift: shift) }
        }
    }

    mutating func removeAll() {
        self = FlatTable()
    }
}
