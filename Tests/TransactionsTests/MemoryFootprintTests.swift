import PacketDecoding
import Testing
import WireCore
@testable import Transactions

/// Issue 14.3: 1 M outstanding queries (the default cap) took 1.2 GB. What one outstanding
/// query holds inline is pinned here; scripts/bench-memory measures the whole.
struct MemoryFootprintTests {
    /// An overlay, an ICMP error and a TCP fallback (220 bytes) live out of line: few
    /// transactions have one, every outstanding query paid for all three. The first attempt
    /// lives inline (`Attempts`, 48 bytes more): an array of one cost an allocation of 96
    /// bytes per transaction.
    @Test func outstandingTransactionStaysSmallInline() {
        #expect(MemoryLayout<Transaction>.stride <= 280)
    }

    /// Issue 12.2: a query past its deadline waits for a late answer in one slot of the
    /// expired table (up to 100,000 of them): the transaction inline and its release time.
    @Test func expiredSlotStaysSmallInline() {
        #expect(MemoryLayout<ExpiredQueries.Slot>.stride <= 288)
    }

    /// An outstanding query is kept without what only a closed transaction has (a response,
    /// its outcome) and with its first attempt inline: no allocation but its name.
    @Test func pendingQueryStaysSmallInline() {
        #expect(MemoryLayout<PendingQuery>.stride <= 208)
        #expect(MemoryLayout<PendingQuery>.stride < MemoryLayout<Transaction>.stride)
    }

    /// A pending query closes into the transaction it recorded: every attempt in order
    /// (the inline first, then the re-sent ones, a backend set in place), the drops, the
    /// interfaces, the overlay and the ICMP error.
    @Test func pendingQueryClosesIntoTheSameTransaction() {
        let time = Timestamp(seconds: 1_795_652_655, nanoseconds: 0)
        let underlay = Underlay(encapsulation: .vxlan, source: IPAddress(ipv4: 1), destination: IPAddress(ipv4: 2),
                                networkIdentifier: 42)
        var query = PendingQuery(
            client: Endpoint(ip: IPAddress(ipv4: 0x0AF4_010B), port: 40_000),
            server: Endpoint(ip: IPAddress(ipv4: 0x0A60_000A), port: 53), transport: .udp, id: 7, opcode: .query,
            qname: "a.example.", question: nil, vlanIDs: VLANIDs([12]), interfaceIndex: 3, underlay: underlay,
            seenOn: [3], first: Attempt(frame: 1, time: time, clientPort: 40_000))
        for frame in 2...(TransactionEngine.maximumAttempts + 2) {
            query.addAttempt(Attempt(frame: frame, time: time + Duration(nanoseconds: Int64(frame)), clientPort: 40_001),
                             seenOn: Int32(frame % 2 + 3))
        }
        query.attempts[1].backend = Endpoint(ip: IPAddress(ipv4: 0x0AF4_0201), port: 53)
        let error = ICMPError(isIPv6: false, type: 3, code: 13, sender: IPAddress(ipv4: 0x0A00_0001))
        query.rejection = Rejection(frame: 9, time: time, error: error)
        query.rejections = 2
        let transaction = Transaction(closing: query)
        #expect(transaction.attempts.map(\.frame) == Array(1...TransactionEngine.maximumAttempts))
        #expect(transaction.attempts[1].backend?.port == 53 && transaction.attempts[0].backend == nil)
        #expect(transaction.droppedAttempts == 2 && transaction.attemptCount == TransactionEngine.maximumAttempts + 2)
        #expect(transaction.lastTime == time + Duration(nanoseconds: Int64(TransactionEngine.maximumAttempts + 2)))
        #expect(transaction.seenOn == [3, 4])
        #expect(transaction.underlay?.networkIdentifier == 42)
        #expect(transaction.rejection?.frame == 9 && transaction.rejections == 2)
        #expect(transaction.qname == "a.example." && transaction.vlanIDs == VLANIDs([12]) && transaction.interfaceIndex == 3)
        #expect(transaction.response == nil && transaction.outcome == .unanswered && transaction.expiry == nil)
    }

    /// The rare fields read back what was stored, alone and together, and a copy keeps its
    /// own (value semantics through the out-of-line box).
    @Test func rareFieldsRoundTripThroughTheirBox() {
        let time = Timestamp(seconds: 1_795_652_655, nanoseconds: 0)
        var transaction = Transaction(
            client: Endpoint(ip: IPAddress(ipv4: 0x0AF4_010B), port: 40_000),
            server: Endpoint(ip: IPAddress(ipv4: 0x0A60_000A), port: 53), transport: .udp, id: 7, opcode: .query,
            qname: "a.example.", question: nil, vlanIDs: VLANIDs(), interfaceIndex: -1, underlay: nil,
            attempts: Attempts(Attempt(frame: 1, time: time, clientPort: 40_000)), droppedAttempts: 0, response: nil,
            rejection: nil, fallback: nil, outcome: .unanswered, expiry: nil, lastTime: time)
        #expect(transaction.underlay == nil && transaction.rejection == nil && transaction.fallback == nil)
        let copy = transaction
        let error = ICMPError(isIPv6: false, type: 3, code: 13, sender: IPAddress(ipv4: 0x0A00_0001))
        transaction.rejection = Rejection(frame: 9, time: time, error: error)
        transaction.underlay = Underlay(encapsulation: .vxlan, source: IPAddress(ipv4: 1), destination: IPAddress(ipv4: 2),
                                        networkIdentifier: 42)
        #expect(transaction.rejection?.frame == 9)
        #expect(transaction.underlay?.networkIdentifier == 42)
        #expect(copy.rejection == nil && copy.underlay == nil, "the copy is unchanged")
        transaction.rejection = nil
        #expect(transaction.rejection == nil)
        #expect(transaction.underlay?.networkIdentifier == 42)
    }
}
