import Attribution
import Foundation
import PacketDecoding
import Testing
import WireCore
@testable import Live

/// `--pods` kept current: re-read when a file changes or on SIGHUP, never lost to a bad read.
struct PodsReloaderTests {
    static let cluster = Paths.root.appendingPathComponent("captures/k8s/egress-deny-cluster.json")
    static let empty = #"{"kind":"List","apiVersion":"v1","items":[]}"#

    /// Waits (up to 5 s) for the reload thread's outcome.
    static func outcome(_ reloader: PodsReloader) -> PodsReloader.Outcome? {
        for _ in 0..<500 {
            if let outcome = reloader.takeResult() { return outcome }
            usleep(10_000)
        }
        return nil
    }

    static func temporaryFile(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-pods-\(UUID().uuidString).json")
        try text.write(to: url, atomically: false, encoding: .utf8)
        return url
    }

    /// A file rewritten (as `kubectl get ... > file` does) is read again and names the pod;
    /// an unchanged file is not read; `--dns-server` survives the reload.
    @Test func changedFileIsReadAgainAndNamesThePod() throws {
        let file = try Self.temporaryFile(Self.empty)
        defer { try? FileManager.default.removeItem(at: file) }
        let extra = try #require(IPAddress("10.0.0.53"))
        let reloader = PodsReloader(paths: [file.path], dnsServers: [extra])
        var now = Timestamp(nanoseconds: 1_000_000_000_000)
        reloader.check(now: now)
        #expect(Self.outcome(reloader) == nil, "unchanged: not read")
        try Data(contentsOf: Self.cluster).write(to: file)
        now = now + .seconds(1)
        reloader.check(now: now)
        #expect(reloader.takeResult() == nil, "looked at most every 2 s")
        now = now + .seconds(2)
        reloader.check(now: now)
        guard case .reloaded(let directory)? = Self.outcome(reloader) else {
            Issue.record("not reloaded")
            return
        }
        let blinded = try #require(IPAddress("10.244.1.11"))
        let pod = try #require(directory.pod(at: blinded))
        #expect("\(pod.namespace)/\(pod.name)" == "payments/checkout-7d4b9c6f5-x2xkq")
        #expect(directory.isDNSServer(extra))
        now = now + .seconds(3)
        reloader.check(now: now)
        #expect(Self.outcome(reloader) == nil, "read once per change")
    }

    /// A half-written file fails to read: the previous names stay, the failure is said
    /// once, and the file is read again when it changes again.
    @Test func badFileKeepsThePreviousNamesUntilItChangesAgain() throws {
        let file = try Self.temporaryFile(Self.empty)
        defer { try? FileManager.default.removeItem(at: file) }
        let reloader = PodsReloader(paths: [file.path], dnsServers: [])
        var now = Timestamp(nanoseconds: 1_000_000_000_000)
        try #"{"kind":"List","items":[{"kind":"Pod","#.write(to: file, atomically: false, encoding: .utf8)
        reloader.check(now: now)
        guard case .failed(let reason)? = Self.outcome(reloader) else {
            Issue.record("a cut file should fail")
            return
        }
        #expect(reason.contains(file.path), "\(reason)")
        now = now + .seconds(3)
        reloader.check(now: now)
        #expect(Self.outcome(reloader) == nil, "not retried while unchanged")
        try Data(contentsOf: Self.cluster).write(to: file)
        now = now + .seconds(3)
        reloader.check(now: now)
        guard case .reloaded(let directory)? = Self.outcome(reloader) else {
            Issue.record("the completed file should be read")
            return
        }
        #expect(directory.podCount > 0)
    }

    /// SIGHUP (`force`) reads the files again even when nothing changed, at once.
    @Test func forcedReloadReadsAnUnchangedFile() throws {
        let reloader = PodsReloader(paths: [Self.cluster.path], dnsServers: [])
        reloader.check(now: Timestamp(nanoseconds: 0), force: true)
        guard case .reloaded(let directory)? = Self.outcome(reloader) else {
            Issue.record("SIGHUP should reload")
            return
        }
        #expect(directory.podCount > 0)
        #expect(!PodsReloader(paths: ["-"], dnsServers: []).isWatching, "standard input is read once")
    }
}
