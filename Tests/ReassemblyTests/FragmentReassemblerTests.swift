import PacketDecoding
import Testing
import WireCore
@testable import Reassembly

/// A UDP DNS response from 10.96.0.10.53 to 10.244.1.10.40000 too large for one frame:
/// 8-byte UDP header, then 1,392 bytes standing in for the DNS message, cut at 1,480-byte
/// (MTU 1500) or smaller boundaries as a router would.
///
///     10.96.0.10.53 > 10.244.1.10.40000: 43981 ... (1392)          [frame 1, offset 0, flags +]
///     10.96.0.10 > 10.244.1.10: ip-proto-17                         [frame 2, offset 1480]
struct FragmentReassemblerTests {
    static let udpHeader: [UInt8] = [0x00, 0x35, 0x9c, 0x40, 0x05, 0x78, 0x00, 0x00]
    static let datagram: [UInt8] = udpHeader + pattern(1392)  // 1,400 bytes
    static let key = FragmentKey(
        source: ipv4("10.96.0.10"), destination: ipv4("10.244.1.10"), identification: 0x1c46, protocolNumber: 17,
        isIPv6: false)
    static let ipv6Key = FragmentKey(
        source: ipv6("fd00:10:96::a"), destination: ipv6("fd00:10:244:1::a"), identification: 0x8a3c_51f0,
        protocolNumber: 17, isIPv6: true)
    static let overhead = FragmentReassembler.bookkeepingBytesPerFragment

    /// Feeds `pieces` with frames numbered from 1 in the given order; returns every result.
    func feed(_ reassembler: inout FragmentReassembler, _ pieces: [TestFragment], key: FragmentKey = Self.key,
              firstFrame: Int = 1) -> [FragmentResult] {
        pieces.enumerated().map { index, piece in
            reassembler.add(key, offset: piece.offset, more: piece.more, piece.bytes, frame: firstFrame + index)
        }
    }

    @Test func inOrder() {
        var reassembler = FragmentReassembler()
        let pieces = fragments(of: Self.datagram, size: 512)  // 512, 512, 376
        #expect(pieces.map(\.offset) == [0, 512, 1024])
        let results = feed(&reassembler, pieces)
        #expect(results == [
            .incomplete,
            .incomplete,
            .complete(Reassembled(payload: Self.datagram, frames: [1, 2, 3], firstTime: at(1))),
        ])
        var expected = FragmentStatistics()
        expected.fragments = 3
        expected.completed = 1
        expected.peakBufferedBytes = 1024 + 2 * Self.overhead
        expected.peakDatagrams = 1
        #expect(reassembler.statistics == expected)
    }

    /// The last fragment first, as when the sender emits them in reverse (Linux did).
    @Test func reversed() {
        var reassembler = FragmentReassembler()
        let pieces = fragments(of: Self.datagram, size: 512).reversed()
        let results = feed(&reassembler, Array(pieces))
        #expect(results == [
            .incomplete,
            .incomplete,
            .complete(Reassembled(payload: Self.datagram, frames: [1, 2, 3], firstTime: at(1))),
        ])
        #expect(reassembler.statistics.bufferedBytes == 0)
        #expect(reassembler.statistics.peakBufferedBytes == 376 + 512 + 2 * Self.overhead)
    }

    @Test func shuffledWithFixedSeed() {
        var random = SplitMix64(state: 0xF4A6_0001)
        for round in 0..<50 {
            var reassembler = FragmentReassembler()
            var pieces = fragments(of: Self.datagram, size: 64 + 8 * random.below(40))
            random.shuffle(&pieces)
            let results = feed(&reassembler, pieces)
            let expectedResults = Array(repeating: FragmentResult.incomplete, count: pieces.count - 1) + [
                .complete(Reassembled(payload: Self.datagram, frames: Array(1...pieces.count), firstTime: at(1))),
            ]
            #expect(results == expectedResults, "round \(round)")
            #expect(reassembler.statistics.bufferedBytes == 0)
            #expect(reassembler.statistics.datagrams == 0)
        }
    }

    /// Every fragment sent twice: the second copies are ignored, the first copies complete it.
    @Test func duplicatedFragmentsAreIgnored() {
        var reassembler = FragmentReassembler()
        let pieces = fragments(of: Self.datagram, size: 512)
        let doubled = [pieces[0], pieces[0], pieces[2], pieces[2], pieces[1]]
        let results = feed(&reassembler, doubled)
        #expect(results == [
            .incomplete,
            .dropped(.duplicate),
            .incomplete,
            .dropped(.duplicate),
            .complete(Reassembled(payload: Self.datagram, frames: [1, 3, 5], firstTime: at(1))),
        ])
        #expect(reassembler.statistics.duplicates == 2)
        #expect(reassembler.statistics.completed == 1)
    }

    /// RFC 5722: same range, other bytes. The datagram is discarded, and so is a fragment of
    /// it arriving afterwards; nothing is left buffered.
    @Test func conflictingOverlapDropsTheDatagram() {
        var reassembler = FragmentReassembler()
        let pieces = fragments(of: Self.datagram, size: 512)
        var forged = pieces[1]
        forged.bytes[100] ^= 0xff
        let results = feed(&reassembler, [pieces[0], pieces[1], forged, pieces[2]])
        #expect(results == [
            .incomplete,
            .incomplete,
            .dropped(.overlapping),
            .dropped(.datagramAlreadyDropped(.overlapping)),
        ])
        var expected = FragmentStatistics()
        expected.fragments = 4
        expected.overlapping = 1
        expected.fragmentsOfDiscardedDatagrams = 1
        expected.datagrams = 1  // remembered until its timeout, without bytes
        expected.peakDatagrams = 1
        expected.peakBufferedBytes = 1024 + 2 * Self.overhead
        #expect(reassembler.statistics == expected)
        // After the timeout the memory of it goes, silently (it was counted as overlapping).
        reassembler.expire(now: at(1) + .seconds(31))
        expected.datagrams = 0
        #expect(reassembler.statistics == expected)
    }

    /// Design decision pinned: an overlap is discarded even when the overlapping bytes agree
    /// (RFC 5722 §3, RFC 8200 §4.5, Linux for IPv4 since 4.19): only exact duplicates pass.
    @Test func partialOverlapWithEqualBytesIsStillOverlapping() {
        var reassembler = FragmentReassembler()
        let payload = Array(Self.datagram[0..<48])
        let results = [
            reassembler.add(Self.key, offset: 0, more: true, Array(payload[0..<24]), frame: 1),
            reassembler.add(Self.key, offset: 16, more: false, Array(payload[16..<48]), frame: 2),
        ]
        #expect(results == [.incomplete, .dropped(.overlapping)])
        #expect(reassembler.statistics.overlapping == 1)
        #expect(reassembler.statistics.bufferedBytes == 0)
    }

    /// The middle fragment never comes: the datagram times out 30 s after its first fragment.
    @Test func missingMiddleFragmentExpires() {
        var reassembler = FragmentReassembler()
        let pieces = fragments(of: Self.datagram, size: 512)
        #expect(feed(&reassembler, [pieces[0], pieces[2]]) == [.incomplete, .incomplete])
        #expect(reassembler.statistics.bufferedBytes == 512 + 376 + 2 * Self.overhead)
        reassembler.expire(now: at(1) + .seconds(30))  // not older than the timeout yet
        #expect(reassembler.statistics.datagrams == 1)
        reassembler.expire(now: at(1) + .seconds(30) + Duration(nanoseconds: 1))
        var expected = FragmentStatistics()
        expected.fragments = 2
        expected.incompleteExpired = 1
        expected.peakBufferedBytes = 512 + 376 + 2 * Self.overhead
        expected.peakDatagrams = 1
        #expect(reassembler.statistics == expected)
        // The missing piece arriving now starts a new datagram; it does not complete the old one.
        #expect(reassembler.add(Self.key, offset: 512, more: true, pieces[1].bytes, frame: 9, time: at(40_000)) == .incomplete)
    }

    /// An identification reused after the timeout: the stale fragment is not mixed in.
    @Test func identificationReusedAfterTimeoutStartsAfresh() {
        var reassembler = FragmentReassembler()
        let stale = pattern(16, seed: 99)
        #expect(reassembler.add(Self.key, offset: 0, more: true, stale, frame: 1, time: at(0)) == .incomplete)
        let later = at(31_000)
        #expect(reassembler.add(Self.key, offset: 16, more: false, [1, 2, 3], frame: 2, time: later) == .incomplete)
        let fresh = pattern(16, seed: 5)
        #expect(reassembler.add(Self.key, offset: 0, more: true, fresh, frame: 3, time: later)
            == .complete(Reassembled(payload: fresh + [1, 2, 3], frames: [2, 3], firstTime: later)))
        #expect(reassembler.statistics.incompleteExpired == 1)
    }

    @Test func oversizeFragmentDropsTheDatagram() {
        var reassembler = FragmentReassembler()
        #expect(reassembler.add(Self.key, offset: 0, more: true, pattern(8), frame: 1) == .incomplete)
        // Offset 65,528 (8191 × 8) plus 16 bytes ends at 65,544 > 65,535.
        #expect(reassembler.add(Self.key, offset: 65_528, more: false, pattern(16), frame: 2) == .dropped(.oversize))
        #expect(reassembler.add(Self.key, offset: 8, more: true, pattern(8), frame: 3)
            == .dropped(.datagramAlreadyDropped(.oversize)))
        // Exactly at the limit is fine for another datagram: ends at 65,535.
        var other = Self.key
        other.identification = 7
        #expect(reassembler.add(other, offset: 65_528, more: false, pattern(7), frame: 4) == .incomplete)
        // An offset past the limit on its own is oversize too, and remembered as dropped.
        var far = Self.key
        far.identification = 8
        #expect(reassembler.add(far, offset: 70_000, more: true, pattern(8), frame: 5) == .dropped(.oversize))
        #expect(reassembler.add(far, offset: 0, more: true, pattern(8), frame: 6)
            == .dropped(.datagramAlreadyDropped(.oversize)))
        #expect(reassembler.statistics.oversize == 2)
        #expect(reassembler.statistics.fragmentsOfDiscardedDatagrams == 2)
        #expect(reassembler.statistics.bufferedBytes == 7 + Self.overhead)
    }

    /// RFC 5722 for IPv6: a fragment overlapping held data discards the datagram, and the
    /// fragments still to come are discarded with it.
    @Test func ipv6OverlapDiscardsTheDatagramAndLaterFragments() {
        var reassembler = FragmentReassembler()
        let payload = Self.udpHeader + pattern(2_456, seed: 9)
        let pieces = fragments(of: payload, size: 1232)
        #expect(reassembler.add(Self.ipv6Key, offset: 0, more: true, pieces[0].bytes, frame: 1) == .incomplete)
        // An attacker's fragment at offset 1224 overlapping the first by 8 bytes, with other bytes.
        #expect(reassembler.add(Self.ipv6Key, offset: 1224, more: true, pattern(16, seed: 200), frame: 2)
            == .dropped(.overlapping))
        #expect(reassembler.add(Self.ipv6Key, offset: 1232, more: false, pieces[1].bytes, frame: 3)
            == .dropped(.datagramAlreadyDropped(.overlapping)))
        #expect(reassembler.statistics.completed == 0)
        #expect(reassembler.statistics.overlapping == 1)
        #expect(reassembler.statistics.bufferedBytes == 0)
    }

    @Test func nonLastFragmentNotMultipleOfEightIsMalformed() {
        var reassembler = FragmentReassembler()
        #expect(reassembler.add(Self.key, offset: 0, more: true, pattern(12), frame: 1) == .dropped(.malformed))
        #expect(reassembler.add(Self.key, offset: 0, more: true, [], frame: 2) == .dropped(.malformed))
        #expect(reassembler.add(Self.key, offset: -8, more: false, pattern(8), frame: 3) == .dropped(.malformed))
        // Only the fragment is dropped: the datagram can still complete.
        #expect(reassembler.add(Self.key, offset: 0, more: true, pattern(8), frame: 4) == .incomplete)
        #expect(reassembler.add(Self.key, offset: 8, more: false, [0xaa], frame: 5)
            == .complete(Reassembled(payload: pattern(8) + [0xaa], frames: [4, 5], firstTime: at(4))))
        #expect(reassembler.statistics.malformed == 3)
    }

    @Test func lastFragmentsThatDisagreeDropTheDatagram() {
        var reassembler = FragmentReassembler()
        #expect(reassembler.add(Self.key, offset: 16, more: false, pattern(8), frame: 1) == .incomplete)
        #expect(reassembler.add(Self.key, offset: 32, more: false, pattern(8), frame: 2) == .dropped(.inconsistentLength))
        var other = Self.key
        other.identification = 2
        #expect(reassembler.add(other, offset: 16, more: false, pattern(8), frame: 3) == .incomplete)
        // A non-last fragment reaching the end is as contradictory as one past it.
        #expect(reassembler.add(other, offset: 16, more: true, pattern(8), frame: 4) == .dropped(.inconsistentLength))
        var third = Self.key
        third.identification = 3
        #expect(reassembler.add(third, offset: 32, more: true, pattern(8), frame: 5) == .incomplete)
        // A last fragment ending before data already held.
        #expect(reassembler.add(third, offset: 0, more: false, pattern(8), frame: 6) == .dropped(.inconsistentLength))
        #expect(reassembler.statistics.inconsistentLength == 3)
        #expect(reassembler.statistics.bufferedBytes == 0)
    }

    /// A datagram whose last fragment carries no data still completes at its offset.
    @Test func emptyLastFragment() {
        var reassembler = FragmentReassembler()
        #expect(reassembler.add(Self.key, offset: 16, more: false, [], frame: 1) == .incomplete)
        #expect(reassembler.add(Self.key, offset: 16, more: false, [], frame: 2) == .dropped(.duplicate))
        #expect(reassembler.add(Self.key, offset: 0, more: true, pattern(16), frame: 3)
            == .complete(Reassembled(payload: pattern(16), frames: [1, 3], firstTime: at(1))))
    }

    /// The same addresses, identification and protocol in IPv4 and IPv6 are two datagrams,
    /// and IPv6 identifications use all 32 bits.
    @Test func ipv6KeysAreSeparateFromIPv4() {
        var reassembler = FragmentReassembler()
        var v4 = Self.key
        v4.identification = 0x51f0
        var v6 = v4
        v6.isIPv6 = true
        #expect(reassembler.add(v4, offset: 0, more: true, pattern(8, seed: 4), frame: 1) == .incomplete)
        #expect(reassembler.add(v6, offset: 0, more: true, pattern(8, seed: 6), frame: 2) == .incomplete)
        var v6High = Self.ipv6Key
        v6High.identification = 0x0001_51f0
        var v6Low = Self.ipv6Key
        v6Low.identification = 0x0000_51f0
        #expect(reassembler.add(v6High, offset: 0, more: true, pattern(8, seed: 1), frame: 3) == .incomplete)
        #expect(reassembler.add(v6Low, offset: 0, more: true, pattern(8, seed: 2), frame: 4) == .incomplete)
        #expect(reassembler.statistics.datagrams == 4)
        #expect(reassembler.add(v6, offset: 8, more: false, [6], frame: 5)
            == .complete(Reassembled(payload: pattern(8, seed: 6) + [6], frames: [2, 5], firstTime: at(2))))
        #expect(reassembler.add(v4, offset: 8, more: false, [4], frame: 6)
            == .complete(Reassembled(payload: pattern(8, seed: 4) + [4], frames: [1, 6], firstTime: at(1))))
        #expect(reassembler.add(v6High, offset: 8, more: false, [1], frame: 7)
            == .complete(Reassembled(payload: pattern(8, seed: 1) + [1], frames: [3, 7], firstTime: at(3))))
        #expect(reassembler.statistics.datagrams == 1)
    }

    /// An IPv6 response fragmented at the IPv6 minimum MTU (1280: 1232 data bytes per fragment).
    @Test func ipv6ResponseAtMinimumMTU() {
        var reassembler = FragmentReassembler()
        let payload = Self.udpHeader + pattern(3000, seed: 3)
        let pieces = fragments(of: payload, size: 1232)
        #expect(pieces.map(\.offset) == [0, 1232, 2464])
        let results = feed(&reassembler, [pieces[1], pieces[2], pieces[0]], key: Self.ipv6Key, firstFrame: 10)
        #expect(results == [
            .incomplete, .incomplete,
            .complete(Reassembled(payload: payload, frames: [10, 11, 12], firstTime: at(10))),
        ])
    }

    /// Many incomplete datagrams: the table keeps at most `maximumDatagrams`, the oldest
    /// go first, each eviction is counted.
    @Test func datagramTableCapEvictsOldest() {
        var reassembler = FragmentReassembler(maximumDatagrams: 4)
        var key = Self.key
        for identification in 0..<10 {
            key.identification = UInt32(identification)
            #expect(reassembler.add(key, offset: 0, more: true, pattern(8), frame: identification) == .incomplete)
            #expect(reassembler.statistics.datagrams <= 4)
        }
        #expect(reassembler.statistics.evicted == 6)
        #expect(reassembler.statistics.datagrams == 4)
        #expect(reassembler.statistics.peakDatagrams == 4)
        #expect(reassembler.statistics.bufferedBytes == 4 * (8 + Self.overhead))
        // Datagram 9 is still there; datagram 0 was evicted and starts over.
        key.identification = 9
        #expect(reassembler.add(key, offset: 8, more: false, [9], frame: 20)
            == .complete(Reassembled(payload: pattern(8) + [9], frames: [9, 20], firstTime: at(9))))
        key.identification = 0
        #expect(reassembler.add(key, offset: 8, more: false, [0], frame: 21) == .incomplete)
    }

    /// The byte cap: incomplete datagrams never hold more than `maximumBufferedBytes`; the
    /// oldest are evicted to make room for new data.
    @Test func bufferedBytesNeverExceedTheCap() {
        let cap = 4_000
        var reassembler = FragmentReassembler(maximumBufferedBytes: cap)
        var random = SplitMix64(state: 77)
        var key = Self.key
        for frame in 0..<500 {
            key.identification = UInt32(random.below(40))
            let size = 8 * (1 + random.below(60))
            _ = reassembler.add(key, offset: 8 * random.below(100), more: true, pattern(size), frame: frame)
            #expect(reassembler.statistics.bufferedBytes <= cap)
        }
        #expect(reassembler.statistics.peakBufferedBytes <= cap)
        #expect(reassembler.statistics.evicted > 0)
        // One datagram that needs more than the whole cap on its own is discarded.
        var tiny = FragmentReassembler(maximumBufferedBytes: 200)
        #expect(tiny.add(Self.key, offset: 0, more: true, pattern(128), frame: 1) == .incomplete)
        #expect(tiny.add(Self.key, offset: 128, more: true, pattern(128), frame: 2) == .dropped(.overBudget))
        #expect(tiny.statistics.bufferedBytes == 0)
        #expect(tiny.statistics.evicted == 1)
    }

    /// Exactly the cap: a second datagram that fits only if the first goes evicts it.
    @Test func byteCapEvictsTheOldestDatagram() {
        let cap = 2 * (64 + Self.overhead)
        var reassembler = FragmentReassembler(maximumBufferedBytes: cap)
        var first = Self.key
        first.identification = 1
        var second = Self.key
        second.identification = 2
        #expect(reassembler.add(first, offset: 0, more: true, pattern(64), frame: 1) == .incomplete)
        #expect(reassembler.add(second, offset: 0, more: true, pattern(64), frame: 2) == .incomplete)
        #expect(reassembler.statistics.bufferedBytes == cap)
        #expect(reassembler.add(second, offset: 64, more: true, pattern(64), frame: 3) == .incomplete)
        #expect(reassembler.statistics.evicted == 1)
        #expect(reassembler.statistics.datagrams == 1)
        #expect(reassembler.statistics.bufferedBytes == cap)
        #expect(reassembler.add(second, offset: 128, more: false, [], frame: 4)
            == .complete(Reassembled(payload: pattern(64) + pattern(64), frames: [2, 3, 4], firstTime: at(2))))
    }

    @Test func finishCountsWhatIsLeft() {
        var reassembler = FragmentReassembler()
        var key = Self.key
        for identification in 0..<3 {
            key.identification = UInt32(identification)
            _ = reassembler.add(key, offset: 0, more: true, pattern(8), frame: identification)
        }
        reassembler.finish()
        #expect(reassembler.statistics.incompleteAtEnd == 3)
        #expect(reassembler.statistics.datagrams == 0)
        #expect(reassembler.statistics.bufferedBytes == 0)
    }
}
