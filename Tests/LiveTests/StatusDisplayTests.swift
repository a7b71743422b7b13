#if canImport(Glibc)
import Glibc
#endif
import Pipeline
import Testing
import Transactions
@testable import Live

/// The status line: every second in place on a terminal, every 10 s in a log.
struct StatusDisplayTests {
    static func status(_ elapsed: Double) -> LiveStatus {
        LiveStatus(elapsed: elapsed, frames: 10, transactions: 4, answered: 3, unanswered: 1, waiting: 0,
                   heldForLateAnswer: 1, kernel: nil, packets: PacketStatistics(), engine: EngineStatistics())
    }

    @Test func unattendedStatusEveryTenSecondsAndAtTheStop() throws {
        let pipe = try EventStreamTests.Pipe()
        let display = StatusDisplay(descriptor: pipe.write, interactive: false, sharesTerminal: false)
        for second in 1...25 { display.show(Self.status(Double(second))) }
        display.finish(Self.status(25.4))
        #expect(pipe.available() == """
            dnstrail: 10 s  frames 10  transactions 4  answered 3  unanswered 1  waiting 0
            dnstrail: 20 s  frames 10  transactions 4  answered 3  unanswered 1  waiting 0
            dnstrail: 25 s  frames 10  transactions 4  answered 3  unanswered 1  waiting 0

            """)
    }

    @Test func terminalStatusIsRedrawnInPlaceAndLiftedForNotices() throws {
        let pipe = try EventStreamTests.Pipe()
        let display = StatusDisplay(descriptor: pipe.write, interactive: true, sharesTerminal: false)
        display.show(Self.status(1))
        display.show(Self.status(2))
        display.notice("--pods re-read: 3 pods, 1 services")
        display.finish(Self.status(2))
        let line = "frames 10  transactions 4  answered 3  unanswered 1  waiting 0\u{1B}[K"
        #expect(pipe.available() == "\r1 s  \(line)\r2 s  \(line)\r\u{1B}[Kdnstrail: --pods re-read: 3 pods, 1 services\n"
                + "\r2 s  \(line)\n")
    }
}
