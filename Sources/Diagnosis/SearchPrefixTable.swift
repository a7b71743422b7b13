import WireCore

/// One source's search-path prefixes by name hash (`SearchPathAmplificationRule`): open
/// addressing with linear probing in two flat arrays, power-of-two capacity, at most three
/// quarters full, backward-shift deletion (no tombstones).
///
/// The keys are `NameHash` values, already mixed, so a slot is picked by one multiplication
/// instead of `Dictionary`'s SipHash: with a dictionary the rule hashed about 1 M keys per
/// million frames, a fifth of its cost (bench/profile.md). The keys are first xored with a
/// seed drawn once per process, as `Dictionary` seeds its hashing: names are chosen by
/// whoever sends the queries, and without a secret one could pick names whose hashes share
/// a slot and turn every lookup into a scan of the table.
///
/// Same footprint as the dictionary it replaces (a key and a `SearchBase`, 32 bytes a slot,
/// at most 3/4 full); a filter shrinks it to fit what is left, as the dictionary's did.
struct SearchPrefixTable {
    typealias Base = SearchPathAmplificationRule.SearchBase

    private static let seed = UInt64.random(in: .min ... .max)
    /// Marks an empty slot in `keys`; the entry of hash 0 itself, if any, is kept after the
    /// slots (`bases[keys.count]`, `hasZero`).
    private static let empty: UInt64 = 0

    // Keys and bases apart: probing reads only keys (plain words, no reference counting).
    private var keys: [UInt64]
    /// One per slot, and one more for hash 0.
    private var bases: [Base]
    private var hasZero = false
    private var shift: UInt64
    private let seed: UInt64
    private(set) var count = 0

    /// Empty, nothing allocated until the first insertion (most sources never have a prefix).
    init() {
        seed = Self.seed
        (keys, bases, shift) = ([], [], 64)
    }

    var isEmpty: Bool { count == 0 }

    /// Slots allocated (for tests of its memory).
    var capacity: Int { keys.count }

    private static var placeholder: Base { Base(time: Timestamp(nanoseconds: 0)) }

    private static func storage(capacityBits: UInt64) -> ([UInt64], [Base], UInt64) {
        let capacity = 1 << capacityBits
        return (Array(repeating: empty, count: capacity), Array(repeating: placeholder, count: capacity + 1), 64 - capacityBits)
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `hash`, if any.
    func index(forKey hash: UInt64) -> Int? {
        guard count > 0 else { return nil }
        if hash == Self.empty { return hasZero ? keys.count : nil }
        let mask = keys.count - 1
        var index = home(hash)
        while true {
            let candidate = keys[index]
            if candidate == hash { return index }
            if candidate == Self.empty { return nil }
            index = (index + 1) & mask
        }
    }

    /// The base in a slot returned by `index(forKey:)` (valid until the next insertion or removal).
    subscript(slot index: Int) -> Base {
        get { bases[index] }
        _modify { yield &bases[index] }
    }

    /// Adds a hash known to be absent.
    mutating func insertNew(_ hash: UInt64, _ base: Base) {
        if keys.isEmpty {
            (keys, bases, shift) = Self.storage(capacityBits: 3)
        } else if (count + 1) * 4 > keys.count * 3 {
            rebuild(capacityBits: 64 - shift + 1)
        }
        place(hash, base)
        count += 1
    }

    private mutating func place(_ hash: UInt64, _ base: Base) {
        guard hash != Self.empty else {
            hasZero = true
            bases[keys.count] = base
            return
        }
        let mask = keys.count - 1
        var index = home(hash)
        while keys[index] != Self.empty { index = (index + 1) & mask }
        keys[index] = hash
        bases[index] = base
    }

    /// Removes and returns the base of `hash`, if any.
    mutating func removeValue(forKey hash: UInt64) -> Base? {
        guard let index = index(forKey: hash) else { return nil }
        let base = bases[index]
        remove(at: index)
        return base
    }

    /// Removes the entry in `index`, moving back the entries after it that probed past it,
    /// so every entry stays reachable from its home slot.
    private mutating func remove(at index: Int) {
        count -= 1
        bases[index] = Self.placeholder
        guard index < keys.count else {
            hasZero = false
            return
        }
        let mask = keys.count - 1
        var hole = index
        keys[hole] = Self.empty
        var next = (hole + 1) & mask
        while keys[next] != Self.empty {
            let key = keys[next]
            // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
            if (next - home(key)) & mask >= (next - hole) & mask {
                keys[hole] = key
                keys[next] = Self.empty
                bases.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
    }

    /// Keeps the entries whose base satisfies `keep`, in place; then shrinks to the smallest
    /// table that holds them at most 3/4 full, if that is smaller (nothing is allocated
    /// otherwise). Returns the earliest time of the bases kept (`earliestTime`, found on the
    /// way instead of in a second pass over the table).
    @discardableResult
    mutating func filter(_ keep: (Base) -> Bool) -> Timestamp? {
        guard count > 0 else { return nil }
        var earliest: Timestamp?
        if hasZero {
            if keep(bases[keys.count]) { earliest = bases[keys.count].time } else { remove(at: keys.count) }
        }
        // A removal moves later entries of the probe sequence back, into this slot or after
        // it (or, wrapping, an entry already kept into a slot not yet seen): look again at
        // this slot until it is empty or kept. (An entry seen twice is kept twice.)
        var index = 0
        while index < keys.count {
            if keys[index] == Self.empty {
                index += 1
            } else if keep(bases[index]) {
                earliest = Swift.min(earliest ?? bases[index].time, bases[index].time)
                index += 1
            } else {
                remove(at: index)
            }
        }
        guard count > 0 else {
            (keys, bases, shift, hasZero) = ([], [], 64, false)
            return nil
        }
        // The smallest table at most 3/4 full, as `Dictionary.filter` makes (the peak of a
        // long run holds hundreds of these tables just filtered).
        var bits: UInt64 = 3
        while count * 4 > 3 << bits { bits += 1 }
        if bits < 64 - shift { rebuild(capacityBits: bits) }
        return earliest
    }

    /// Moves every entry into new storage of `1 << capacityBits` slots, straight from the
    /// old (no list of the entries in between: a rebuild of a table at the cap copied 512).
    private mutating func rebuild(capacityBits: UInt64) {
        let (oldKeys, oldBases, hadZero) = (keys, bases, hasZero)
        (keys, bases, shift) = Self.storage(capacityBits: capacityBits)
        hasZero = false
        for index in oldKeys.indices where oldKeys[index] != Self.empty { place(oldKeys[index], oldBases[index]) }
        if hadZero { place(Self.empty, oldBases[oldKeys.count]) }
    }

    /// Every base, in no particular order.
    var values: [Base] {
        var values = keys.indices.filter { keys[$0] != Self.empty }.map { bases[$0] }
        if hasZero { values.append(bases[keys.count]) }
        return values
    }
}
