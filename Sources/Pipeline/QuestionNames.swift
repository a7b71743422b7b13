import DNSWire
#if canImport(Glibc)
import Glibc
#endif

/// Presentation forms of question names, rendered once per distinct name.
///
/// Every new query needs its name as text, and rendering it (a `DNSName`, then its
/// escaped presentation form) cost 5,400 instructions and 5 allocations per query, 16 % of
/// the analysis (bench/profile.md, S4), although busy traffic repeats a few thousand names.
/// The parser already computed the name's case-insensitive hash and wire length; the slot
/// they pick keeps a rendered name with the exact wire bytes it came from, and a hit must
/// match those byte for byte, so neither a hash collision nor another spelling of the same name (0x20
/// case randomisation) can rename a query. A compressed question name never matches
/// (a pointer byte differs from every length byte) and is rendered the slow way.
///
/// A class, so that the engine's `qname` closure can fill it while the analyzer's engine is
/// being mutated; one cache per `Analyzer`, never shared across threads.
final class QuestionNames {
    /// Slots of the cache, two per key (see `text(of:in:)`): a name whose slots two other
    /// names took is rendered again and takes one back. The table starts small (4,096 slots, 130 KB), so an
    /// analyzer of a short capture, as in tests and fuzzing, pays almost nothing (2 MB per
    /// analyzer cut FuzzPipeline from 3,990 to 389 inputs/s). It grows fourfold each time it
    /// has lost a quarter as many entries to conflicts as it has slots, up to
    /// `maximumSlotBits` (about 2 MB of slots plus the names, whatever the capture), and the
    /// names it holds move into the larger table: emptied, it rendered every busy name again
    /// (with the table's growth, 15 k renderings of 3,091 names per million frames, 4,500
    /// instructions each; 5 k now).
    static let initialSlotBits = 12
    static let maximumSlotBits = 16

    private struct Entry {
        /// The slot key (`text(of:in:)`), for moving the entry when the table grows.
        var key: UInt64
        var wire: [UInt8]
        var text: String
    }

    // Without the runtime's exclusivity check (85 instructions per access, per query): one
    // thread, and no access to them overlaps another.
    @exclusivity(unchecked) private var slotBits = QuestionNames.initialSlotBits
    @exclusivity(unchecked) private var slots = ContiguousArray<Entry?>(repeating: nil, count: 1 << QuestionNames.initialSlotBits)
    @exclusivity(unchecked) private var conflicts = 0

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - slotBits))
    }

    /// The presentation form of the question name, nil if it does not parse.
    ///
    /// Two slots per key (an even slot and the odd one after it), the one used last first:
    /// with one, two busy names of the same slot took it from each other on every query
    /// (4 % of queries rendered again on the benchmark's 3,091 names, 7,000 instructions each).
    func text(of question: DNSQuestionSummary, in message: UnsafeRawBufferPointer) -> String? {
        let start = question.nameOffset
        let length = question.nameWireLength
        let key = question.nameHash ^ UInt64(truncatingIfNeeded: length)
        var first = slot(for: key) & ~1
        let inline = start >= 0 && length > 0 && start + length <= message.count
        if inline {
            for way in 0..<2 {
                guard let entry = slots[first | way], entry.wire.count == length,
                      entry.wire.withUnsafeBytes({ memcmp($0.baseAddress!, message.baseAddress! + start, length) == 0 })
                else { continue }
                if way == 1 { slots.swapAt(first, first | 1) }
                return entry.text
            }
        }
        guard let name = try? question.name(in: message) else { return nil }
        let text = name.description
        guard inline else { return text }
        let wire = Array(UnsafeRawBufferPointer(rebasing: message[start..<(start + length)]))
        // Kept only when the bytes there are the whole name, uncompressed.
        guard wire.elementsEqual(name.storage + [0]) else { return text }
        if slots[first | 1] != nil {
            conflicts += 1
            if conflicts * 4 >= slots.count && slotBits < QuestionNames.maximumSlotBits {
                grow()
                first = self.slot(for: key) & ~1
            }
        }
        // The new name first, the one it displaces second; the second's goes.
        slots.swapAt(first, first | 1)
        slots[first] = Entry(key: key, wire: wire, text: text)
        return text
    }

    /// Four times the slots, the entries moved over (each set's last used first, so that
    /// it keeps its place when two land in one set; a third is dropped).
    private func grow() {
        slotBits = min(slotBits + 2, QuestionNames.maximumSlotBits)
        let old = slots
        slots = ContiguousArray(repeating: nil, count: 1 << slotBits)
        conflicts = 0
        for index in old.indices {
            guard let entry = old[index] else { continue }
            let first = slot(for: entry.key) & ~1
            if slots[first] == nil {
                slots[first] = entry
            } else if slots[first | 1] == nil {
                slots[first | 1] = entry
            }
        }
    }
}
