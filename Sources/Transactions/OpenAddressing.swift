/// A slot of the engine's open-addressing tables (`FlatTable`, `SerialIndex`): a key's
/// folded word, 0 in an empty slot (a key whose word is 0 is stored as 1), beside whatever
/// the table keeps with it.
protocol WordSlot {
    var word: UInt64 { get }
    static var empty: Self { get }
}

/// The probing both tables share, on their slots in place: power-of-two capacity, a word's
/// home slot picked by its top bits after one multiplication (Fibonacci hashing), linear
/// probing, backward-shift deletion (no tombstones). Never full (at most half), so every
/// probe sequence ends at an empty slot.
enum OpenAddressing {
    @inline(__always)
    static func stored(_ folded: UInt64) -> UInt64 { folded == 0 ? 1 : folded }

    @inline(__always)
    static func home(_ word: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Puts `slot` in the first empty slot of its probe sequence: after the entries of its
    /// word already there, in the order they came.
    @inline(__always)
    static func place<Slot: WordSlot>(_ slot: Slot, in slots: UnsafeMutableBufferPointer<Slot>, shift: UInt64) {
        let mask = slots.count - 1
        var index = home(slot.word, shift: shift)
        while slots[index].word != 0 { index = (index + 1) & mask }
        slots[index] = slot
    }

    /// Empties the slot at `index` and moves back the entries after it that probed past it,
    /// so every entry stays reachable from its home slot (none passes another of its word).
    @inline(__always)
    static func remove<Slot: WordSlot>(at index: Int, in slots: UnsafeMutableBufferPointer<Slot>, shift: UInt64) {
        let mask = slots.count - 1
        var hole = index
        slots[hole] = .empty
        var next = (hole + 1) & mask
        while slots[next].word != 0 {
            // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
            let distanceToHole = (next - hole) & mask
            let distanceFromHome = (next - home(slots[next].word, shift: shift)) & mask
            if distanceFromHome >= distanceToHole {
                slots.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
    }
}
