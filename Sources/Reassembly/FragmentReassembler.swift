import PacketDecoding
import WireCore

/// What identifies the fragments of one original datagram.
///
/// RFC 791 §3.2: source, destination, protocol and identification. RFC 8200 §4.5: source,
/// destination and the 32-bit Fragment Identification; for IPv6 pass the Next Header of the
/// Fragment header as `protocolNumber` (it is the same in every fragment of a datagram).
/// IPv4 identifications occupy the low 16 bits. `isIPv6` keeps the two families apart
/// even where the addresses and identification would otherwise coincide.
public struct FragmentKey: Hashable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var identification: UInt32
    public var protocolNumber: UInt8
    public var isIPv6: Bool

    public init(source: IPAddress, destination: IPAddress, identification: UInt32, protocolNumber: UInt8, isIPv6: Bool) {
        self.source = source
        self.destination = destination
        self.identification = identification
        self.protocolNumber = protocolNumber
        self.isIPv6 = isIPv6
    }
}

/// A datagram put back together from its fragments.
public struct Reassembled: Hashable, Sendable {
    /// The original payload (what followed the IP header, or the IPv6 Fragment header).
    public var payload: [UInt8]
    /// Every frame whose fragment contributed bytes, ascending (exact duplicates excluded).
    public var frames: [Int]
    /// Capture time of the first fragment to arrive.
    public var firstTime: Timestamp

    public init(payload: [UInt8], frames: [Int], firstTime: Timestamp) {
        self.payload = payload
        self.frames = frames
        self.firstTime = firstTime
    }
}

/// Why a fragment was not used. `dropsDatagram` says whether the whole datagram went with it.
public enum FragmentDropReason: Hashable, Sendable, CustomStringConvertible {
    /// The fragment overlaps one already held and is not an exact duplicate of it
    /// (RFC 5722 §3, RFC 8200 §4.5): the datagram is discarded, including fragments that
    /// have not arrived yet.
    case overlapping
    /// Offset plus length beyond `FragmentReassembler.maximumDatagramSize`: the datagram is
    /// discarded (RFC 791 §3.2 total length is 16 bits; IPv6 jumbograms are not fragmented,
    /// RFC 2675 §2).
    case oversize
    /// The fragment contradicts the datagram's end: a second last fragment with another
    /// end, data past the end, or a last fragment before data already held. The datagram is
    /// discarded.
    case inconsistentLength
    /// Only this fragment is dropped: a non-last fragment whose length is zero or not a
    /// multiple of 8 (RFC 8200 §4.5, RFC 791 §3.2), or a negative offset.
    case malformed
    /// Only this fragment is dropped: same offset, length and bytes as one already held.
    case duplicate
    /// The datagram was dropped earlier (for the reason given) and this fragment belongs
    /// to it; it is kept out until the datagram's timeout (RFC 5722 §3).
    case datagramAlreadyDropped(FragmentDiscard)
    /// The fragment alone needs more than `maximumBufferedBytes`: the datagram is discarded.
    case overBudget

    /// True when the whole datagram is (or already was) discarded, not just this fragment.
    public var dropsDatagram: Bool {
        switch self {
        case .malformed, .duplicate: false
        default: true
        }
    }

    public var description: String {
        switch self {
        case .overlapping: "overlapping"
        case .oversize: "oversize"
        case .inconsistentLength: "inconsistent-length"
        case .malformed: "malformed"
        case .duplicate: "duplicate"
        case .datagramAlreadyDropped(let reason): "datagram-already-dropped(\(reason))"
        case .overBudget: "over-budget"
        }
    }
}

/// Why a whole datagram was discarded (the reasons of `FragmentDropReason` that drop one).
public enum FragmentDiscard: Hashable, Sendable, CustomStringConvertible {
    case overlapping
    case oversize
    case inconsistentLength
    case overBudget

    public var description: String {
        switch self {
        case .overlapping: "overlapping"
        case .oversize: "oversize"
        case .inconsistentLength: "inconsistent-length"
        case .overBudget: "over-budget"
        }
    }

    var dropReason: FragmentDropReason {
        switch self {
        case .overlapping: .overlapping
        case .oversize: .oversize
        case .inconsistentLength: .inconsistentLength
        case .overBudget: .overBudget
        }
    }
}

/// The outcome of adding one fragment.
public enum FragmentResult: Hashable, Sendable {
    /// Held; the datagram is not complete yet.
    case incomplete
    /// This fragment completed the datagram; its state is gone from the reassembler.
    case complete(Reassembled)
    case dropped(FragmentDropReason)
}

/// Counters of a `FragmentReassembler`. Datagram counters count datagrams, not fragments.
public struct FragmentStatistics: Hashable, Sendable {
    /// Fragments passed to `add`.
    public var fragments = 0
    public var completed = 0
    /// Incomplete datagrams dropped because their timeout passed.
    public var incompleteExpired = 0
    /// Incomplete datagrams still pending when `finish()` was called.
    public var incompleteAtEnd = 0
    /// Datagrams discarded for a conflicting overlap (RFC 5722).
    public var overlapping = 0
    /// Fragments ignored as exact duplicates.
    public var duplicates = 0
    /// Datagrams discarded for reaching past `maximumDatagramSize`.
    public var oversize = 0
    /// Datagrams discarded because their fragments disagree on where the datagram ends.
    public var inconsistentLength = 0
    /// Fragments dropped alone (see `FragmentDropReason.malformed`).
    public var malformed = 0
    /// Fragments that arrived for a datagram already discarded.
    public var fragmentsOfDiscardedDatagrams = 0
    /// Incomplete datagrams evicted to respect `maximumDatagrams` or `maximumBufferedBytes`,
    /// plus datagrams that alone needed more than `maximumBufferedBytes`.
    public var evicted = 0
    /// Bytes held now: fragment data plus `FragmentReassembler.bookkeepingBytesPerFragment`
    /// for each fragment held. Never above `maximumBufferedBytes`.
    public var bufferedBytes = 0
    public var peakBufferedBytes = 0
    /// Datagrams tracked now (pending, and discarded ones remembered until their timeout).
    public var datagrams = 0
    public var peakDatagrams = 0

    public init() {}
}

/// Reassembles fragmented IPv4 and IPv6 datagrams, bounded in datagrams and bytes.
///
/// Fragments may arrive in any order, duplicated, the last one first. A datagram is
/// complete when its last fragment (MF = 0) has arrived and the bytes `0..<end` are all
/// covered (RFC 815: no hole left). Held fragments never overlap: any overlap other than
/// an exact duplicate discards the datagram, as RFC 5722 §3 requires for IPv6 and as Linux
/// does for IPv4 since 4.19, so the tracer never reports a datagram the receiving host
/// would have thrown away. A discarded datagram is remembered (without its bytes) until its
/// timeout, so its late fragments are dropped too instead of starting a new datagram.
///
/// Timeouts run from the first fragment's arrival, on the capture clock only. One timeout
/// serves both families: RFC 8200 §4.5 allows 60 s for IPv6, Linux waits 30 s for IPv4
/// (`ipfrag_time`) and 60 s for IPv6 (`ip6frag_time`); fragments of a DNS response arrive
/// within milliseconds of each other, so the 30 s default only bounds how long garbage stays.
///
/// Memory: at most `maximumDatagrams` datagrams (including discarded ones remembered) and
/// `maximumBufferedBytes` bytes; the oldest datagrams are evicted to make room, and every
/// eviction is counted. Only fragments that must wait are copied; the one that completes a
/// datagram is read straight from the caller's buffer.
public struct FragmentReassembler: Sendable {
    /// Largest original payload accepted: offset + length beyond it is oversize.
    public static let maximumDatagramSize = 65_535
    /// Bytes charged for each held fragment on top of its data, so that many tiny fragments
    /// cannot hold much more memory than `maximumBufferedBytes` suggests.
    public static let bookkeepingBytesPerFragment = 64

    public let maximumDatagrams: Int
    public let maximumBufferedBytes: Int
    public let timeout: Duration
    public private(set) var statistics = FragmentStatistics()

    private var table = RecencyTable<FragmentKey, PendingDatagram>()

    /// Limits below their minimum (one datagram, zero bytes) are raised to it.
    public init(maximumDatagrams: Int = 4096, maximumBufferedBytes: Int = 32 << 20, timeout: Duration = .seconds(30)) {
        self.maximumDatagrams = max(1, maximumDatagrams)
        self.maximumBufferedBytes = max(0, maximumBufferedBytes)
        self.timeout = timeout
    }

    /// Adds one fragment.
    ///
    /// - Parameters:
    ///   - offset: where this fragment's data starts in the original payload, in bytes
    ///     (the header's fragment offset times 8).
    ///   - moreFragments: the MF flag (IPv4) or M flag (IPv6).
    ///   - payload: the fragment's data only (after the IPv4 header or the IPv6 Fragment
    ///     header). Copied if held; the caller's buffer may be reused afterwards.
    ///   - frame: the capture frame number, reported back in `Reassembled.frames`.
    ///   - time: capture time of the frame.
    public mutating func add(
        key: FragmentKey, offset: Int, moreFragments: Bool, payload: UnsafeRawBufferPointer, frame: Int, time: Timestamp
    ) -> FragmentResult {
        statistics.fragments &+= 1
        let length = payload.count
        guard offset >= 0 else {
            statistics.malformed &+= 1
            return .dropped(.malformed)
        }
        // RFC 8200 §4.5 / RFC 791 §3.2: every fragment but the last carries a multiple of 8.
        if moreFragments && (length == 0 || length % 8 != 0) {
            statistics.malformed &+= 1
            return .dropped(.malformed)
        }

        var slot = table.slot(for: key)
        if let existing = slot, let datagram = table.value(at: existing), time - datagram.firstTime > timeout {
            // The identification was reused after the old datagram timed out.
            retire(existing, expired: true)
            slot = nil
        }
        if let existing = slot, case .discarded(let reason)? = table.value(at: existing)?.state {
            statistics.fragmentsOfDiscardedDatagrams &+= 1
            return .dropped(.datagramAlreadyDropped(reason))
        }

        if offset > Self.maximumDatagramSize || length > Self.maximumDatagramSize - offset {
            discard(slot ?? insertNew(key, time: time), .oversize)
            return .dropped(.oversize)
        }
        let end = offset + length
        if slot == nil && offset == 0 && !moreFragments {
            // Not fragmented after all: nothing to hold.
            statistics.completed &+= 1
            return .complete(Reassembled(payload: [UInt8](payload), frames: [frame], firstTime: time))
        }
        let cost = length + Self.bookkeepingBytesPerFragment
        let current = slot ?? insertNew(key, time: time)
        guard var datagram = table.take(current) else { return .incomplete }

        switch datagram.check(offset: offset, end: end, isLast: !moreFragments, payload: payload) {
        case .conflict(let reason):
            table.put(current, datagram)
            discard(current, reason)
            return .dropped(reason.dropReason)
        case .duplicate:
            table.put(current, datagram)
            statistics.duplicates &+= 1
            return .dropped(.duplicate)
        case .insert(let position):
            let total = moreFragments ? datagram.end : end
            if let total, datagram.coveredBytes + length == total {
                // This fragment fills the last hole: assemble straight from the caller's
                // buffer, without holding a copy of it. Pieces are sorted, disjoint and,
                // with this one at `position`, cover 0..<total.
                var bytes: [UInt8] = []
                bytes.reserveCapacity(total)  // bytes actually held plus this fragment, ≤ 65,535
                var frames = [frame]
                for (index, piece) in datagram.pieces.enumerated() {
                    if index == position { bytes += payload }
                    bytes += piece.bytes
                    frames.append(piece.frame)
                }
                if position == datagram.pieces.count { bytes += payload }
                account(-datagram.chargedBytes)
                table.remove(current)
                statistics.datagrams = table.count
                statistics.completed &+= 1
                return .complete(Reassembled(payload: bytes, frames: Set(frames).sorted(), firstTime: datagram.firstTime))
            }
            if datagram.chargedBytes + cost <= maximumBufferedBytes {
                makeRoom(for: cost, keeping: current)
            }
            if statistics.bufferedBytes + cost > maximumBufferedBytes {
                // Even alone this datagram would not fit.
                table.put(current, datagram)
                discard(current, .overBudget)
                return .dropped(.overBudget)
            }
            datagram.pieces.insert(Piece(offset: offset, bytes: [UInt8](payload), frame: frame, isLast: !moreFragments), at: position)
            datagram.coveredBytes += length
            if !moreFragments { datagram.end = end }
            account(cost)
            datagram.chargedBytes += cost
            table.put(current, datagram)
            return .incomplete
        }
    }

    /// Drops datagrams whose first fragment arrived more than `timeout` before `now`;
    /// incomplete ones are counted in `incompleteExpired`. Call it as capture time advances.
    ///
    /// Datagrams are examined oldest first and the walk stops at the first one still in
    /// time, so with capture timestamps out of order one may linger a little longer.
    public mutating func expire(now: Timestamp) {
        while let slot = table.oldestSlot, let datagram = table.value(at: slot), now - datagram.firstTime > timeout {
            retire(slot, expired: true)
        }
    }

    /// End of capture: drops every pending datagram, counting incomplete ones in
    /// `incompleteAtEnd`.
    public mutating func finish() {
        while let slot = table.oldestSlot {
            retire(slot, expired: false)
        }
    }

    // MARK: - Table management

    private mutating func insertNew(_ key: FragmentKey, time: Timestamp) -> Int {
        while table.count >= maximumDatagrams, let oldest = table.oldestSlot {
            evict(oldest)
        }
        let slot = table.insertNewest(key, PendingDatagram(firstTime: time))
        statistics.datagrams = table.count
        statistics.peakDatagrams = max(statistics.peakDatagrams, table.count)
        return slot
    }

    /// Evicts the oldest datagrams other than `keeping` until `bytes` more fit.
    private mutating func makeRoom(for bytes: Int, keeping: Int) {
        var candidate = table.oldestSlot
        while statistics.bufferedBytes + bytes > maximumBufferedBytes, let slot = candidate {
            candidate = table.slot(newerThan: slot)
            if slot != keeping { evict(slot) }
        }
    }

    private mutating func evict(_ slot: Int) {
        guard let datagram = table.remove(slot) else { return }
        if case .pending = datagram.state { statistics.evicted &+= 1 }
        account(-datagram.chargedBytes)
        statistics.datagrams = table.count
    }

    /// Removes a datagram at its timeout (`expired`) or at the end of the capture.
    private mutating func retire(_ slot: Int, expired: Bool) {
        guard let datagram = table.remove(slot) else { return }
        if case .pending = datagram.state {
            if expired { statistics.incompleteExpired &+= 1 } else { statistics.incompleteAtEnd &+= 1 }
        }
        account(-datagram.chargedBytes)
        statistics.datagrams = table.count
    }

    /// Frees a datagram's bytes and remembers it as discarded until its timeout.
    private mutating func discard(_ slot: Int, _ reason: FragmentDiscard) {
        guard var datagram = table.take(slot) else { return }
        account(-datagram.chargedBytes)
        datagram.chargedBytes = 0
        datagram.pieces = []
        datagram.state = .discarded(reason)
        table.put(slot, datagram)
        switch reason {
        case .overlapping: statistics.overlapping &+= 1
        case .oversize: statistics.oversize &+= 1
        case .inconsistentLength: statistics.inconsistentLength &+= 1
        case .overBudget: statistics.evicted &+= 1
        }
    }

    private mutating func account(_ bytes: Int) {
        statistics.bufferedBytes += bytes
        statistics.peakBufferedBytes = max(statistics.peakBufferedBytes, statistics.bufferedBytes)
    }
}

/// One held fragment.
private struct Piece: Sendable {
    var offset: Int
    var bytes: [UInt8]
    var frame: Int
    /// Carried MF = 0.
    var isLast: Bool

    var end: Int { offset + bytes.count }
}

/// The fragments of one datagram seen so far.
///
/// Invariant: `pieces` are sorted by offset and pairwise disjoint; `coveredBytes` is the
/// sum of their lengths; when `end` is known every piece lies within `0..<end`.
private struct PendingDatagram: Sendable {
    enum State: Sendable {
        case pending
        case discarded(FragmentDiscard)
    }

    var firstTime: Timestamp
    var state = State.pending
    var pieces: [Piece] = []
    var coveredBytes = 0
    /// Where the datagram ends, once the last fragment (MF = 0) has arrived.
    var end: Int?
    var chargedBytes = 0

    init(firstTime: Timestamp) { self.firstTime = firstTime }

    enum Verdict {
        case insert(at: Int)
        case duplicate
        case conflict(FragmentDiscard)
    }

    /// Decides what a new fragment `offset..<end` does to this datagram, without changing it.
    func check(offset: Int, end fragmentEnd: Int, isLast: Bool, payload: UnsafeRawBufferPointer) -> Verdict {
        let heldEnd = pieces.last?.end ?? 0
        if let end {
            // A second last fragment must agree; a non-last one must not reach past the end.
            if isLast ? fragmentEnd != end : fragmentEnd > end { return .conflict(.inconsistentLength) }
        } else if isLast && heldEnd > fragmentEnd {
            return .conflict(.inconsistentLength)
        }
        if offset == fragmentEnd && pieces.contains(where: { $0.offset == offset && $0.bytes.isEmpty }) {
            return .duplicate  // a repeated empty last fragment
        }
        // First piece that ends after this fragment's offset (binary search).
        var low = 0
        var high = pieces.count
        while low < high {
            let middle = (low + high) / 2
            if pieces[middle].end <= offset { low = middle + 1 } else { high = middle }
        }
        guard low < pieces.count, pieces[low].offset < fragmentEnd else { return .insert(at: low) }
        // Overlaps pieces[low]. Only an exact duplicate is harmless.
        let piece = pieces[low]
        if piece.offset == offset, piece.end == fragmentEnd, piece.bytes.elementsEqual(payload) {
            // The same data claiming to be last once and not last the other time.
            return piece.isLast == isLast ? .duplicate : .conflict(.inconsistentLength)
        }
        return .conflict(.overlapping)
    }
}
