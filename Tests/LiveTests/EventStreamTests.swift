#if canImport(Glibc)
import Glibc
#endif
import Attribution
import Reports
import Testing
import Transactions
import WireCore
@testable import Live

/// The event stream: when lines are written (deadline, late, final hand-over) and flushed.
struct EventStreamTests {
    /// A pipe whose read end does not block: what a reader of `dnstrail live | ...` sees.
    final class Pipe {
        let read: Int32
        let write: Int32

        init() throws {
            var ends: [Int32] = [0, 0]
            try #require(pipe(&ends) == 0)
            read = ends[0]
            write = ends[1]
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
        }

        deinit {
            close(read)
            close(write)
        }

        /// What is in the pipe now (without waiting).
        func available() -> String {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                bytes += buffer[0..<count]
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Feeds a replay to a stream as a live session does.
    static func feed(_ replay: Replay, to stream: EventStream) {
        for event in replay.events {
            switch event {
            case .expired(let transaction): stream.expired(transaction)
            case .closed(let transaction): stream.closed(transaction)
            }
        }
    }

    /// The bug of issue 9: live NDJSON was block-buffered until exit. A line written now
    /// reaches a pipe at the next pass once `flushInterval` passed, with nothing closed.
    @Test func ndjsonLineReachesAPipeWithinTheFlushInterval() throws {
        let pipe = try Pipe()
        let output = OutputBuffer(descriptor: pipe.write)
        let stream = EventStream(format: .ndjson, selection: .all, output: output, directory: ClusterDirectory())
        let replay = try Replay.of("egress-deny.pcap", finish: false, advanceBy: .seconds(7))
        let start = Timestamp(nanoseconds: 1_000_000_000_000)
        stream.pass(now: start)
        let unanswered = try #require(replay.expired.first)
        stream.expired(unanswered)
        #expect(pipe.available() == "", "buffered until the pass")
        stream.pass(now: start + .milliseconds(100))
        let line = pipe.available()
        #expect(line == ndjsonLine(unanswered) + "\n")
        #expect(line.contains("\"outcome\":\"unanswered\"") && line.contains("\"expired\":\"timeout\""))
        // Within the interval, a second line waits for the next pass after it.
        stream.expired(replay.expired[1])
        stream.pass(now: start + .milliseconds(150))
        #expect(pipe.available() == "")
        stream.pass(now: start + .milliseconds(200))
        #expect(pipe.available() == ndjsonLine(replay.expired[1]) + "\n")
    }

    /// Late answers (captures/README.md: 3 answers 6 s after their queries, after dig gave
    /// up at 5 s): each such query is written unanswered at its deadline, then again as
    /// late; the engine's final hand-over of an unanswered query writes nothing more. So
    /// the NDJSON stream holds every transaction once, plus one line per late answer.
    @Test func lateAnswerIsWrittenUnansweredAtItsDeadlineThenLate() throws {
        let pipe = try Pipe()
        let output = OutputBuffer(descriptor: pipe.write)
        let stream = EventStream(format: .ndjson, selection: .all, output: output, directory: ClusterDirectory())
        let replay = try Replay.of("late-answers.pcap")
        Self.feed(replay, to: stream)
        stream.flush()
        let lines = pipe.available().split(separator: "\n").map(String.init)
        let late = replay.closed.filter { $0.outcome == .late }
        #expect(late.count == 3)
        #expect(lines.count == replay.closed.count + late.count)
        for transaction in late {
            let id = "\"id\":\(transaction.id),"
            let mine = lines.enumerated().filter { $0.element.contains(id) && $0.element.contains("\"port\":\(transaction.client.port)}") }
            #expect(mine.count == 2, "\(mine)")
            #expect(mine.first?.element.contains("\"outcome\":\"unanswered\"") == true)
            #expect(mine.last?.element.contains("\"outcome\":\"late\"") == true)
        }
    }

    /// An unanswered query the engine held for 30 s and then handed over (no late answer)
    /// is written once, at its deadline; a rejected one too (the engine closes it at once).
    @Test func unansweredQueryIsWrittenOnceAtItsDeadline() throws {
        let pipe = try Pipe()
        let stream = EventStream(format: .human, selection: .failures, output: OutputBuffer(descriptor: pipe.write),
                                 directory: ClusterDirectory())
        let replay = try Replay.of("egress-deny.pcap", advanceBy: .seconds(60))
        let heldAndReleased = replay.closed.filter { $0.outcome == .unanswered && $0.expiry == .timeout }
        #expect(!heldAndReleased.isEmpty)
        Self.feed(replay, to: stream)
        stream.flush()
        let lines = pipe.available().split(separator: "\n")
        #expect(lines.first?.hasPrefix("TIME ") == true)
        let unansweredLines = lines.filter { $0.contains(" unanswered ") }
        let failures = replay.closed.filter(\.isLiveFailure)
        #expect(unansweredLines.count == failures.count, "\(lines)")
        // Answered NOERROR and NXDOMAIN are not shown with --show failures.
        #expect(!lines.contains { $0.contains(" answered ") })
    }

    /// `--show all` in the human stream shows answered transactions with their latency.
    @Test func showAllWritesAnsweredTransactionsToo() throws {
        let pipe = try Pipe()
        let stream = EventStream(format: .human, selection: .all, output: OutputBuffer(descriptor: pipe.write),
                                 directory: ClusterDirectory())
        let replay = try Replay.of("healthy.pcap")
        Self.feed(replay, to: stream)
        stream.flush()
        let lines = pipe.available().split(separator: "\n")
        #expect(lines.count == replay.closed.count + 1)
        #expect(lines.dropFirst().allSatisfy { $0.contains(" answered ") && $0.hasSuffix(" ms") || $0.hasSuffix("NXDOMAIN") },
                "\(lines)")
    }

    /// `--format json` keeps standard output one document: no event lines.
    @Test func jsonFormatWritesNoEvents() throws {
        let pipe = try Pipe()
        let stream = EventStream(format: .json, selection: .all, output: OutputBuffer(descriptor: pipe.write),
                                 directory: ClusterDirectory())
        Self.feed(try Replay.of("egress-deny.pcap"), to: stream)
        stream.finding("x FINDING egress-blocked: ...")
        stream.flush()
        #expect(pipe.available() == "")
        #expect(stream.linesWritten == 0)
    }
}
