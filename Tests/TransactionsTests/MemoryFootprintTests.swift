import PacketDecoding
import Testing
import WireCore
@testable import Transactions

/// Issue 14.3: 1 M outstanding queries (the default cap) took 1.2 GB. What one outstanding
/// query holds inline is pinned here; scripts/bench-memory measures the whole.
struct MemoryFootprintTests {
    /// An overlay, an ICMP error and a TCP fallback (220 bytes) live out of line: few
    /// transactions have one, every outstanding query paid for all three.
    @Test func outstandingTransactionStaysSmallInline() {
        #expect(MemoryLayout<Transaction>.stride <= 240)
    }

    /// The rare fields read back what was stored, alone and together, and a copy keeps its
    /// own (value semantics through the out-of-line box).
    @Test func rareFieldsRoundTripThroughTheirBox() {
        let time = Timestamp(seconds: 1_795_652_655, nanoseconds: 0)
        var transaction = Transaction(
            client: Endpoint(ip: IPAddress(ipv4: 0x0AF4_010B), port: 40_000),
            server: Endpoint(ip: IPAddress(ipv4: 0x0A60_000A), port: 53), transport: .udp, id: 7, opcode: .query,
            qname: "a.example.", question: nil, vlanIDs: VLANIDs(), interfaceIndex: -1, underlay: nil,
            attempts: [Attempt(frame: 1, time: time, clientPort: 40_000)], droppedAttempts: 0, response: nil,
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
