import CHotPath
import WireCore

/// One source's search-path prefixes by name hash (`SearchPathAmplificationRule`): open
/// addressing with linear probing, power-of-two capacity, at most three quarters full,
/// backward-shift deletion (no tombstones).
///
/// The keys are `NameHash` values, already mixed, so a slot is picked by one multiplication
/// instead of `Dictionary`'s SipHash: with a dictionary the rule hashed about 1 M keys per
/// million frames, a fifth of its cost (bench/profile.md). The keys are first xored with a
/// seed drawn once per process, as `Dictionary` seeds its hashing: names are chosen by
/// whoever sends the queries, and without a secret one could pick names whose hashes share
/// a slot and turn every lookup into a scan of the table.
///
/// Three arrays by slot: the keys (probing reads only them), each prefix's count and time
/// (plain words: grown, shrunk and shifted without reference counting), and its names and
/// frames (`SearchEvidence`), an array made only once a prefix keeps some: the rule stops
/// keeping them when its finding is full, and tables made after that never have one. 24
/// bytes a slot (32 with the names), at most 3/4 full; a filter shrinks the table to fit
/// what is left, as `Dictionary.filter` does.
struct SearchPrefixTable {
    typealias Base = SearchPathAmplificationRule.SearchBase

    /// A prefix's count and time.
    private struct Entry {
        var time: Timestamp
        var count: UInt32
    }

    private static let seed = UInt64.random(in: .min ... .max)
    /// Marks an empty slot in `keys`; the entry of hash 0 itself, if any, is kept after the
    /// slots (`entries[keys.count]`, `hasZero`).
    private static let empty: UInt64 = 0
    private static let vacant = Entry(time: Timestamp(nanoseconds: 0), count: 0)

    private var keys: [UInt64]
    /// One per slot, and one more for hash 0.
    private var entries: [Entry]
    /// Empty, or laid out as `entries` (nil in every empty slot).
    private var evidence: [SearchEvidence?]
    private var hasZero = false
    private var shift: UInt64
    private let seed: UInt64
    private(set) var count = 0

    /// Empty, nothing allocated until the first insertion (most sources never have a prefix).
    init() {
        seed = Self.seed
        (keys, entries, evidence, shift) = ([], [], [], 64)
    }

    var isEmpty: Bool { count == 0 }

    /// Slots allocated (for tests of its memory).
    var capacity: Int { keys.count }

    /// Slots that can hold names and frames (0 until a prefix keeps some; for tests).
    var evidenceCapacity: Int { evidence.count }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Self.home(key, seed: seed, shift: shift) }

    /// `home`, for a rebuild working in the arrays' buffers (where `self` is not read).
    @inline(__always)
    private static func home(_ key: UInt64, seed: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `hash`, if any.
    func index(forKey hash: UInt64) -> Int? {
        guard count > 0 else { return nil }
        if hash == Self.empty { return hasZero ? keys.count : nil }
        return keys.withUnsafeBufferPointer { keys in
            let mask = keys.count &- 1
            var index = home(hash)
            while true {
                let candidate = keys[index]
                if candidate == hash { return index }
                if candidate == Self.empty { return nil }
                index = (index &+ 1) & mask
            }
        }
    }

    /// Starts loading the slot where `hash` is looked for first (its key and its entry), for
    /// a lookup or an insertion a little later: the tables of hundreds of sources are far
    /// larger than the cache, and waiting for each miss in turn was most of the rule's time.
    /// Mutating only so that it is called in place: a call on a copy made one (three arrays
    /// retained and released).
    /// `withEntry`: the entry's too, for an insertion or a change (a lookup that most often
    /// finds nothing reads only the key).
    mutating func prefetch(_ hash: UInt64, withEntry: Bool) {
        guard !keys.isEmpty, hash != Self.empty else { return }
        let index = home(hash)
        keys.withUnsafeBufferPointer { dnstrail_prefetch($0.baseAddress.unsafelyUnwrapped + index) }
        if withEntry { entries.withUnsafeBufferPointer { dnstrail_prefetch($0.baseAddress.unsafelyUnwrapped + index) } }
    }

    /// The base in a slot returned by `index(forKey:)` (valid until the next insertion or removal).
    subscript(slot index: Int) -> Base {
        get {
            Base(storedCount: entries[index].count, time: entries[index].time,
                 evidence: evidence.isEmpty ? nil : evidence[index])
        }
        _modify {
            // The names and frames are moved out for the change and back (no retain: the
            // rule copies them before a change only when another table shares them).
            var base = Base(storedCount: entries[index].count, time: entries[index].time, evidence: takeEvidence(at: index))
            defer {
                entries[index] = Entry(time: base.time, count: base.storedCount)
                put(base.evidence.take(), at: index)
            }
            yield &base
        }
    }

    private mutating func takeEvidence(at index: Int) -> SearchEvidence? {
        guard !evidence.isEmpty else { return nil }
        return evidence[index].take()
    }

    /// Stores names and frames in an empty slot, or in the slot they were taken from.
    private mutating func put(_ names: consuming SearchEvidence?, at index: Int) {
        guard let names else { return }
        if evidence.isEmpty { evidence = Array(repeating: nil, count: entries.count) }
        evidence[index] = names
    }

    /// Adds a hash known to be absent.
    mutating func insertNew(_ hash: UInt64, _ base: consuming Base) {
        if keys.isEmpty {
            allocate(capacityBits: 3, withEvidence: false)
        } else if (count + 1) * 4 > keys.count * 3 {
            rebuild(capacityBits: 64 - shift + 1)
        }
        let names = base.evidence.take()
        place(hash, Entry(time: base.time, count: base.storedCount), names)
        count += 1
    }

    private mutating func allocate(capacityBits: UInt64, withEvidence: Bool) {
        let capacity = 1 << capacityBits
        keys = Array(repeating: Self.empty, count: capacity)
        entries = Array(repeating: Self.vacant, count: capacity + 1)
        evidence = withEvidence ? Array(repeating: nil, count: capacity + 1) : []
        shift = 64 - capacityBits
    }

    private mutating func place(_ hash: UInt64, _ entry: Entry, _ names: consuming SearchEvidence?) {
        guard hash != Self.empty else {
            hasZero = true
            entries[keys.count] = entry
            put(names, at: keys.count)
            return
        }
        let mask = keys.count - 1
        var index = home(hash)
        while keys[index] != Self.empty { index = (index + 1) & mask }
        keys[index] = hash
        entries[index] = entry
        put(names, at: index)
    }

    /// Removes and returns the base of `hash`, if any.
    mutating func removeValue(forKey hash: UInt64) -> Base? {
        guard let index = index(forKey: hash) else { return nil }
        let base = Base(storedCount: entries[index].count, time: entries[index].time, evidence: takeEvidence(at: index))
        remove(at: index)
        return base
    }

    /// Removes the entry in `index`, moving back the entries after it that probed past it,
    /// so every entry stays reachable from its home slot.
    private mutating func remove(at index: Int) {
        count -= 1
        entries[index] = Self.vacant
        if !evidence.isEmpty { evidence[index] = nil }
        guard index < keys.count else {
            hasZero = false
            return
        }
        let mask = keys.count - 1
        let hasEvidence = !evidence.isEmpty
        var hole = index
        keys[hole] = Self.empty
        var next = (hole + 1) & mask
        while keys[next] != Self.empty {
            let key = keys[next]
            // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
            if (next - home(key)) & mask >= (next - hole) & mask {
                keys[hole] = key
                keys[next] = Self.empty
                entries[hole] = entries[next]
                entries[next] = Self.vacant
                if hasEvidence { evidence.swapAt(hole, next) }
                hole = next
            }
            next = (next + 1) & mask
        }
    }

    /// Keeps the entries whose time satisfies `keep`, in place; then shrinks to the smallest
    /// table that holds them at most 3/4 full, if that is smaller (nothing is allocated
    /// otherwise). Returns the earliest time kept (found on the way, not in a second pass).
    @discardableResult
    mutating func filter(keepingTimes keep: (Timestamp) -> Bool) -> Timestamp? {
        guard count > 0 else { return nil }
        var earliest: Timestamp?
        if hasZero {
            if keep(entries[keys.count].time) { earliest = entries[keys.count].time } else { remove(at: keys.count) }
        }
        // A removal moves later entries of the probe sequence back, into this slot or after
        // it (or, wrapping, an entry already kept into a slot not yet seen): look again at
        // this slot until it is empty or kept. (An entry seen twice is kept twice.)
        var index = 0
        while index < keys.count {
            if keys[index] == Self.empty {
                index += 1
            } else if keep(entries[index].time) {
                earliest = Swift.min(earliest ?? entries[index].time, entries[index].time)
                index += 1
            } else {
                remove(at: index)
            }
        }
        guard count > 0 else {
            (keys, entries, evidence, shift, hasZero) = ([], [], [], 64, false)
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
    /// old; the names and frames only if some are left (their array is dropped otherwise).
    /// Through the arrays' buffers: element by element (a uniqueness check per array and a
    /// release of the empty names it overwrote, per entry) a table's growth cost 240
    /// instructions an entry (bench/profile.md).
    private mutating func rebuild(capacityBits: UInt64) {
        let (oldKeys, oldEntries, hadZero) = (keys, entries, hasZero)
        var oldEvidence = evidence
        evidence = []
        let withEvidence = oldEvidence.contains { $0 != nil }
        allocate(capacityBits: capacityBits, withEvidence: withEvidence)
        hasZero = false
        let (seed, shift) = (seed, shift)
        keys.withUnsafeMutableBufferPointer { keys in
            entries.withUnsafeMutableBufferPointer { entries in
                let mask = keys.count - 1
                // `evidence` (new) and `oldEvidence` only with names: empty arrays otherwise.
                evidence.withUnsafeMutableBufferPointer { evidence in
                    oldEvidence.withUnsafeMutableBufferPointer { oldEvidence in
                        for old in oldKeys.indices where oldKeys[old] != Self.empty {
                            let key = oldKeys[old]
                            var index = Self.home(key, seed: seed, shift: shift)
                            while keys[index] != Self.empty { index = (index + 1) & mask }
                            keys[index] = key
                            entries[index] = oldEntries[old]
                            if withEvidence { evidence[index] = oldEvidence[old].take() }
                        }
                    }
                }
            }
        }
        if hadZero {
            hasZero = true
            entries[keys.count] = oldEntries[oldKeys.count]
            if withEvidence { evidence[keys.count] = oldEvidence[oldKeys.count].take() }
        }
    }

    /// Every base, in no particular order.
    var values: [Base] {
        var values = keys.indices.filter { keys[$0] != Self.empty }.map { self[slot: $0] }
        if hasZero { values.append(self[slot: keys.count]) }
        return values
    }
}
