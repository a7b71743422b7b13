import Foundation
import Glibc
@testable import Live
import Pipeline
import Testing
import Transactions
import WireCore

/// `runLive` with the parallel pipeline on real loopback traffic. In the `LiveRunTests`
/// suite (serialized): its runs share the process's signal handlers with the others.
extension LiveRunTests {
    /// What one live run of `threadedRunTraffic` handed to its hooks.
    struct ThreadedRun {
        var outcomes: [UInt16: [Outcome]] = [:]
        var expired: [UInt16] = []
        /// Seconds from sending the silent query to its expiry reaching the hook.
        var silentExpiryDelay: Double?
        var statusLines: [String] = []
        var result = RunResult()
    }

    /// Sends, at the first status line: three queries to the responder (answered), one to a
    /// socket that never reads (unanswered at its deadline) and one to a closed port
    /// (rejected by its ICMP port unreachable), each from its own socket; runs 5 s.
    static func threadedRun(threads: Int, silentPort: UInt16, closedPort: UInt16) throws -> ThreadedRun {
        var options = AnalysisOptions()
        options.ports = [Self.port, silentPort, closedPort]
        options.timeout = .seconds(1)
        let ids: Set<UInt16> = [0x6601, 0x6602, 0x6603, 0x6611, 0x6621]
        var run = ThreadedRun()
        let sentAt = UncheckedSendableDate()
        var sent = false
        run.result = try runLive(
            interface: "lo", filter: nil, duration: 5, options: options, threads: threads, hooks: LiveHooks(
                closed: { transaction in
                    guard ids.contains(transaction.id) else { return }
                    run.outcomes[transaction.id, default: []].append(transaction.outcome)
                },
                expired: { transaction in
                    guard ids.contains(transaction.id) else { return }
                    run.expired.append(transaction.id)
                    if transaction.id == 0x6611, let sent = sentAt.value {
                        run.silentExpiryDelay = Date().timeIntervalSince(sent)
                    }
                },
                status: { status in
                    run.statusLines.append(status.line)
                    guard !sent else { return }
                    sent = true
                    for id: UInt16 in [0x6601, 0x6602, 0x6603] { Thread { Self.sendQuery(id: id) }.start() }
                    Thread { Self.sendQuery(id: 0x6621, port: closedPort) }.start()
                    Thread { Self.sendQuery(id: 0x6611, port: silentPort) { sentAt.value = Date() } }.start()
                }))
        return run
    }

    /// A `SlowResponder`, waiting up to 3 s for the one of an earlier test to let its port go
    /// (it closes its socket after its last answer).
    static func responderOnceThePortIsFree() throws -> SlowResponder {
        for _ in 0..<30 {
            if let responder = try? SlowResponder() { return responder }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try SlowResponder()
    }

    /// Stops `responder` and returns once its port is free again (at most 3 s), so that the
    /// next test of the suite can bind it.
    static func stopAndWaitForThePort(_ responder: SlowResponder) {
        responder.stop()
        for _ in 0..<30 {
            Thread.sleep(forTimeInterval: 0.1)
            let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = loopback(port: port)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(probe)
            if bound == 0 { return }
        }
    }

    /// Issue 13.1 (live): `live --threads 2` on real traffic gives the hooks the same
    /// transactions with the same outcomes and the same expiries as one thread (answered,
    /// unanswered at its deadline, rejected by ICMP); the unanswered query's expiry comes
    /// within timeout + 2 s; the report states the pipeline (2 threads, nothing dropped),
    /// which a run of one thread does not.
    @Test(.enabled(if: geteuid() == 0, "live capture needs root"))
    func twoThreadsGiveTheHooksWhatOneThreadGivesOnRealTraffic() throws {
        let responder = try Self.responderOnceThePortIsFree()
        defer { Self.stopAndWaitForThePort(responder) }
        let silent = try Self.silentSocket()
        defer { close(silent.descriptor) }
        // A port nothing listens on: the kernel answers with ICMP port unreachable.
        let closed = try Self.silentSocket()
        close(closed.descriptor)
        let one = try Self.threadedRun(threads: 1, silentPort: silent.port, closedPort: closed.port)
        let two = try Self.threadedRun(threads: 2, silentPort: silent.port, closedPort: closed.port)
        let expected: [UInt16: [Outcome]] = [
            0x6601: [.answered], 0x6602: [.answered], 0x6603: [.answered], 0x6611: [.unanswered], 0x6621: [.rejected],
        ]
        #expect(one.outcomes == expected, "one thread: \(one.outcomes)")
        #expect(two.outcomes == expected, "two threads: \(two.outcomes)")
        #expect(one.expired.sorted() == [0x6611, 0x6621], "\(one.expired)")
        #expect(two.expired.sorted() == [0x6611, 0x6621], "\(two.expired)")
        for (threads, run) in [(1, one), (2, two)] {
            let delay = try #require(run.silentExpiryDelay, "\(threads) threads: no expiry for the silent query")
            print("live --threads \(threads): the unanswered query's expiry \(String(format: "%.2f", delay)) s after it")
            #expect(delay >= 1.0 && delay <= 3.0, "\(threads) threads: \(delay) s")
        }
        #expect(one.result.live?.pipeline == nil)
        let pipeline = try #require(two.result.live?.pipeline)
        #expect(pipeline.threads == 2)
        #expect(pipeline.drops.isEmpty, "\(pipeline.drops)")
        #expect(two.result.parallel?.shards == 2)
        // Nothing dropped: the status line is the one-thread one.
        #expect(two.statusLines.count >= 4 && two.statusLines.allSatisfy { !$0.contains("pipeline") }, "\(two.statusLines)")
    }
}

/// The time a query was sent, set on the sending thread and read on the capture thread.
final class UncheckedSendableDate: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Date?
    var value: Date? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
