import Testing
import WireCore

/// Slots are handed out in order of first sight and found again on both sides of the
/// switch from scanning to hashing.
struct SlotIndexTests {
    @Test func slotsAreStableAcrossTheSwitchToHashing() {
        var index = SlotIndex<String>()
        let keys = (0..<40).map { "key-\($0)" }
        for (expected, key) in keys.enumerated() {
            #expect(index.slot(of: key) == nil)
            #expect(index.slot(makingIfNew: key) == expected)
            #expect(index.slot(makingIfNew: key) == expected)
            // Every key seen so far is still found where it was put.
            for (slot, earlier) in keys.prefix(expected + 1).enumerated() { #expect(index.slot(of: earlier) == slot) }
        }
        #expect(index.count == 40)
        #expect(index.keys == keys)
    }
}
