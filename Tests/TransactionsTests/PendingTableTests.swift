import PacketDecoding
import Testing
import WireCore
@testable import Transactions

/// PendingTable's in-place change (`modify`): it changes the live query of a serial where it
/// lies, as the subscript's `_modify` does, and nothing for a stale or unknown serial.
struct PendingTableTests {
    static func query(id: UInt16, name: String) -> PendingQuery {
        PendingQuery(
            client: Endpoint(ip: IPAddress(ipv4: 0x0AF4_010B), port: 40_000),
            server: Endpoint(ip: IPAddress(ipv4: 0x0A60_000A), port: 53), transport: .udp, id: id, opcode: .query,
            qname: name, question: nil, vlanIDs: VLANIDs(), interfaceIndex: 3, underlay: nil,
            seenOn: [], first: Attempt(frame: Int(id), time: Timestamp(nanoseconds: Int64(id)), clientPort: 40_000))
    }

    @Test func modifyChangesTheLiveQueryInPlaceAndNothingElse() {
        var table = PendingTable()
        let serials = (0..<5_000).map { table.insert(Self.query(id: UInt16($0 % 60_000), name: "n\($0).example.")) }
        // Free some slots and reuse them: a stale serial's slot now holds another query.
        for serial in serials[100..<200] { _ = table.close(serial) }
        let reused = (0..<100).map { table.insert(Self.query(id: UInt16(9_000 + $0), name: "r\($0).example.")) }
        for (index, serial) in serials.enumerated() where !(100..<200).contains(index) {
            let changed = table.modify(serial) { query in
                query.addAttempt(Attempt(frame: 100_000 + index, time: Timestamp(nanoseconds: 1_000_000), clientPort: 40_001),
                                 seenOn: 4)
                query.sentWith = ParallelQuery(frame: index, type: .aaaa, answeredFirstTry: false, serial: serial)
            }
            #expect(changed)
        }
        for serial in serials[100..<200] {
            #expect(!table.modify(serial) { _ in Issue.record("called for the stale serial \(serial)") })
        }
        #expect(!table.modify(-1) { _ in Issue.record("called for serial -1") })
        #expect(!table.modify(Int(Int32.max) << 32 | 7) { _ in Issue.record("called for an unknown serial") })
        for (index, serial) in serials.enumerated() where !(100..<200).contains(index) {
            let closed = table.close(serial)
            #expect(closed?.qname == "n\(index).example.")
            #expect(closed?.attempts.map(\.frame) == [index % 60_000, 100_000 + index])
            #expect(closed?.seenOn == [4])
            #expect(closed?.sentWith?.frame == index && closed?.sentWith?.serial == serial)
        }
        for (index, serial) in reused.enumerated() {
            let closed = table.close(serial)
            #expect(closed?.qname == "r\(index).example." && closed?.attempts.count == 1 && closed?.sentWith == nil)
        }
        #expect(table.count == 0)
    }

    /// `close` moves a live query's references out of its slot into the transaction
    /// (`Transaction(movingOutOf:)`): the same transaction as `Transaction(closing:)` of the
    /// query put in, the slot reusable, a stale serial closing nothing. It reads the slot's
    /// optional as the query: Swift lays a single-payload optional's payload at its start,
    /// with no tag byte after it when the payload has spare values.
    @Test func closeMovesTheQueryOutAsClosingDoes() {
        #expect(MemoryLayout<PendingQuery?>.size == MemoryLayout<PendingQuery>.size)
        var table = PendingTable()
        var queries: [PendingQuery] = []
        let serials = (0..<300).map { index in
            var query = Self.query(id: UInt16(index), name: "c\(index).example.")
            if index % 3 == 0 {
                query.addAttempt(Attempt(frame: 10_000 + index, time: Timestamp(nanoseconds: 5), clientPort: 40_002), seenOn: 7)
            }
            queries.append(query)
            return table.insert(query)
        }
        for (index, serial) in serials.enumerated() {
            let closed = table.close(serial)
            let reference = Transaction(closing: queries[index])
            #expect(closed?.qname == "c\(index).example." && closed?.qname == reference.qname)
            #expect(closed?.attempts.map(\.frame) == reference.attempts.map(\.frame))
            #expect(closed?.seenOn == reference.seenOn && closed?.lastTime == reference.lastTime)
            #expect(closed?.outcome == .unanswered && closed?.response == nil)
            #expect(table.close(serial) == nil)
        }
        #expect(table.count == 0)
        // The queries put in are untouched by closing what the table held.
        #expect(queries[3].attempts.count == 2 && queries[3].seenOn == [7] && queries[4].qname == "c4.example.")
        let reused = table.insert(Self.query(id: 1, name: "again.example."))
        #expect(table.close(reused)?.qname == "again.example.")
    }
}
