/// A key that folds itself into one well-mixed word (`Endpoint.mixed` and friends).
public protocol FlatKey: Equatable {
    var folded: UInt64 { get }
}

/// A hash computed elsewhere (a name's FNV-1a, say) is its own folded word.
extension UInt64: FlatKey {
    @inlinable public var folded: UInt64 { self }
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
public struct FlatTable<Key: FlatKey, Value> {
    // Keys and values apart: probing reads only keys (plain values, no reference counting).
    @usableFromInline var keys: ContiguousArray<Key?>
    @usableFromInline var values: ContiguousArray<Value?>
    @usableFromInline var shift: UInt64
    @usableFromInline var storedCount = 0
    @inlinable public var count: Int { storedCount }

    @inlinable
    public init() {
        self.init(minimumCapacity: 0)
    }

    /// A table that holds `minimumCapacity` entries before it grows.
    @inlinable
    public init(minimumCapacity: Int) {
        var bits = 4
        while (1 << bits) < 2 * minimumCapacity && bits < 62 { bits += 1 }
        keys = ContiguousArray(repeating: nil, count: 1 << bits)
        values = ContiguousArray(repeating: nil, count: 1 << bits)
        shift = UInt64(64 - bits)
    }

    @inlinable public var isEmpty: Bool { count == 0 }

    @inlinable @inline(__always)
    func home(_ key: Key) -> Int {
        Int(truncatingIfNeeded: (key.folded &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, if any.
    @inlinable
    public func index(forKey key: Key) -> Int? {
        let mask = keys.count - 1
        var index = home(key)
        while let candidate = keys[index] {
            if candidate == key { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    /// The value in a slot returned by `index(forKey:)` (valid until the next insertion or removal).
    @inlinable
    public subscript(slot index: Int) -> Value {
        get { values[index]! }
        _modify { yield &values[index]! }
    }

    @inlinable
    public subscript(key: Key) -> Value? {
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
    @inlinable
    public mutating func insertNew(_ key: Key, _ value: Value) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var index = home(key)
        while keys[index] != nil { index = (index + 1) & mask }
        keys[index] = key
        values[index] = value
        storedCount += 1
    }

    /// Removes the entry in a slot returned by `index(forKey:)`, moving back the entries
    /// after it that probed past it, so every entry stays reachable from its home slot.
    @inlinable
    public mutating func remove(at index: Int) {
        let mask = keys.count - 1
        var hole = index
        keys[hole] = nil
        values[hole] = nil
        storedCount -= 1
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

    @inlinable
    mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = ContiguousArray(repeating: nil, count: oldKeys.count * 2)
        values = ContiguousArray(repeating: nil, count: oldKeys.count * 2)
        shift -= 1
        storedCount = 0
        for index in oldKeys.indices {
            if let key = oldKeys[index], let value = oldValues[index] { insertNew(key, value) }
        }
    }

    @inlinable
    public mutating func removeAll() {
        self = FlatTable()
    }

    /// Removes the value of `key` and returns it, if there was one.
    @inlinable
    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let index = index(forKey: key) else { return nil }
        let value = values[index]
        remove(at: index)
        return value
    }

    /// Every value, in slot order (an order of no meaning: for sums, minima, counts).
    @inlinable
    public func forEachValue(_ body: (Value) -> Void) {
        for value in values { if let value { body(value) } }
    }

    /// Keeps the entries whose value passes `isIncluded`, in a table sized for them.
    @inlinable
    public mutating func keep(where isIncluded: (Value) -> Bool) {
        var keeping = 0
        for value in values { if let value, isIncluded(value) { keeping += 1 } }
        var kept = FlatTable(minimumCapacity: keeping)
        for index in keys.indices {
            if let key = keys[index], let value = values[index], isIncluded(value) { kept.insertNew(key, value) }
        }
        self = kept
    }
}
