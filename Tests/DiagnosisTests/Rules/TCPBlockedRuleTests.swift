import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// TCPBlockedRule: TCP 53 dropped or reset on the path.
struct TCPBlockedRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction]) -> [Finding] { Shapes().findings(transactions) }

    /// A truncated answer whose TCP retry's SYN is never answered: high confidence.
    @Test func truncatedAnswerWhoseTCPRetryFailsIsHigh() throws {
        var truncated = Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .answered, frame: 1)
        truncated.fallback = Fallback(outcome: .handshakeFailed, clientPort: 45000, id: nil, frames: [4, 5], attempts: 2,
                                      responseFrame: nil, rcode: nil, resetFrame: nil,
                                      startTime: Timestamp(nanoseconds: 2_000_000), responseTime: nil)
        let result = findings([truncated])
        #expect(result.map(\.kind) == [.tcpBlocked])
        let finding = try #require(result.first)
        #expect(finding.confidence == .high)
        #expect(finding.explanation.hasPrefix("1 answer was truncated (TC=1)"))
        #expect(finding.frames.contains(4) && finding.frames.contains(5))
    }

    /// TCP connections to port 53 failing before any query, with no truncation seen: medium.
    @Test func failedConnectionsAloneAreMedium() throws {
        let result = findings((0..<2).map { index in
            Shapes.transaction(client: "10.244.1.10", port: UInt16(45000 + index), server: "10.96.0.10", at: Int64(index),
                               id: UInt16(index), outcome: .handshakeFailed)
        })
        let finding = try #require(result.first { $0.kind == .tcpBlocked })
        #expect(finding.confidence == .medium)
        #expect(finding.counts.first { $0.0 == "failed_tcp_attempts" }?.1 == 2)
    }
}
