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
    // Keys and values apart: probing reads only keys (plain values, no reference counting).
    private var keys: ContiguousArray<Key?>
    private var values: ContiguousArray<Value?>
    private var shift: UInt64
    private(set) var count = 0

    init() {
        keys = ContiguousArray(repeating: nil, count: 16)
        values = ContiguousArray(repeating: nil, count: 16)
        shift = 64 - 4
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func home(_ key: Key) -> Int {
        Int(truncatingIfNeeded: (key.folded &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, if any.
    func index(forKey key: Key) -> Int? {
        let mask = keys.count - 1
        var index = home(key)
        while let candidate = keys[index] {
            if candidate == key { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    /// The value in a slot returned by `index(forKey:)` (valid until the next insertion or removal).
    subscript(slot index: Int) -> Value {
        get { values[index]! }
        _modify { yield &values[index]! }
    }

    subscript(key: Key) -> Value? {
        get { index(forKey: key).map { values[$0]! } }
        set {
            if let index = index(forKey: key) {
                if let newValue {
                    values[index] = newValue
                } else {
                    remove(at: index)
                }
            } else if let newValue {
                insertNew(key, newValue)
            }
        }
    }

    /// Adds a key known to be absent.
    mutating func insertNew(_ key: Key, _ value: Value) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var index = home(key)
        while keys[index] != nil { index = (index + 1) & mask }
        keys[index] = key
        values[index] = value
        count += 1
    }

    /// Removes the entry in a slot returned by `index(forKey:)`, moving back the entries
    /// after it that probed past it, so every entry stays reachable from its home slot.
    mutating func remove(at index: Int) {
        let mask = keys.count - 1
        var hole = index
        keys[hole] = nil
        values[hole] = nil
        count -= 1
        var next = (hole + 1) & mask
        while let key = keys[next] {
            // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
            let distanceToHole = (next - hole) & mask
            let distanceFromHome = (next - home(key)) & mask
            if distanceFromHome >= distanceToHole {
                keys[hole] = key
                keys[next] = nil
                values.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = ContiguousArray(repeating: nil, count: oldKeys.count * 2)
        values = ContiguousArray(repeating: nil, count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for index in oldKeys.indices {
            if let key = oldKeys[index], let value = oldValues[index] { insertNew(key, value) }
        }
    }

    mutating func removeAll() {
        self = FlatTable()
    }
}
