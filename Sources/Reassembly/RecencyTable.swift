/// A keyed table that remembers the order in which entries were inserted or last moved to
/// the newest end, so that the oldest entry is found in O(1) for eviction and expiry.
///
/// Entries live in slots linked oldest → newest; a slot index stays valid until its entry is
/// removed. A value can be *checked out* with `take(_:)` (the slot stays linked and keeps its
/// place, the table no longer holds a reference, so the caller mutates it without
/// copy-on-write) and must be returned with `put(_:_:)`. Eviction loops skip checked-out
/// slots. Free slots are reused, so storage never exceeds the peak number of entries.
struct RecencyTable<Key: Hashable, Value> {
    fileprivate struct Slot {
        var key: Key?
        var value: Value?
        var older: Int
        var newer: Int
    }

    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var index: [Key: Int] = [:]
    /// Slot of the oldest entry, or -1 when empty.
    private var oldest = -1
    /// Slot of the newest entry, or -1 when empty.
    private var newest = -1

    init() {}

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }

    func slot(for key: Key) -> Int? { index[key] }

    var oldestSlot: Int? { oldest >= 0 ? oldest : nil }

    /// The next slot towards the newest end, or nil after the newest.
    func slot(newerThan slot: Int) -> Int? {
        guard slots.indices.contains(slot) else { return nil }
        let next = slots[slot].newer
        return next >= 0 ? next : nil
    }

    func key(at slot: Int) -> Key? {
        slots.indices.contains(slot) ? slots[slot].key : nil
    }

    /// The value in `slot` (a copy), or nil when the slot is free or checked out.
    func value(at slot: Int) -> Value? {
        slots.indices.contains(slot) ? slots[slot].value : nil
    }

    /// Inserts `value` at the newest end; the key must not be present.
    @discardableResult
    mutating func insertNewest(_ key: Key, _ value: Value) -> Int {
        let slot: Int
        let fresh = Slot(key: key, value: value, older: newest, newer: -1)
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[slot] = fresh
        } else {
            slot = slots.count
            slots.append(fresh)
        }
        if newest >= 0 { slots[newest].newer = slot } else { oldest = slot }
        newest = slot
        index[key] = slot
        return slot
    }

    /// Moves the entry in `slot` to the newest end.
    mutating func moveToNewest(_ slot: Int) {
        guard slots.indices.contains(slot), slots[slot].key != nil, slot != newest else { return }
        unlink(slot)
        slots[slot].older = newest
        slots[slot].newer = -1
        if newest >= 0 { slots[newest].newer = slot } else { oldest = slot }
        newest = slot
    }

    /// Checks the value out of `slot`, leaving the slot linked in place.
    mutating func take(_ slot: Int) -> Value? {
        guard slots.indices.contains(slot) else { return nil }
        let value = slots[slot].value
        slots[slot].value = nil
        return value
    }

    /// Returns a checked-out value (or replaces the value) in `slot`.
    mutating func put(_ slot: Int, _ value: Value) {
        guard slots.indices.contains(slot), slots[slot].key != nil else { return }
        slots[slot].value = value
    }

    /// Removes the entry in `slot` and returns its value (nil if it was checked out).
    @discardableResult
    mutating func remove(_ slot: Int) -> Value? {
        guard slots.indices.contains(slot), let key = slots[slot].key else { return nil }
        let value = slots[slot].value
        unlink(slot)
        index[key] = nil
        slots[slot] = Slot(key: nil, value: nil, older: -1, newer: -1)
        freeSlots.append(slot)
        if index.isEmpty {
            // Everything is free again: give the storage back.
            slots = []
            freeSlots = []
        }
        return value
    }

    /// Slots from oldest to newest (a snapshot).
    var slotsOldestFirst: [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        var slot = oldest
        while slot >= 0, result.count < count {
            result.append(slot)
            slot = slots[slot].newer
        }
        return result
    }

    private mutating func unlink(_ slot: Int) {
        let older = slots[slot].older
        let newer = slots[slot].newer
        if older >= 0 { slots[older].newer = newer } else { oldest = newer }
        if newer >= 0 { slots[newer].older = older } else { newest = older }
    }
}

extension RecencyTable: Sendable where Key: Sendable, Value: Sendable {}
extension RecencyTable.Slot: Sendable where Key: Sendable, Value: Sendable {}

/// RFC 1982 serial-number arithmetic on 32-bit TCP sequence numbers (RFC 9293 §3.4):
/// how far `sequence` lies ahead of `reference` (negative when behind), valid while the two
/// are less than 2^31 apart. Wrap-around at 2^32 is handled by the wrapping subtraction.
@inline(__always)
func sequenceDistance(from reference: UInt32, to sequence: UInt32) -> Int {
    Int(Int32(bitPattern: sequence &- reference))
}
