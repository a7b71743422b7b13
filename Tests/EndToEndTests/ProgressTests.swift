import Capture
import DNSTrailTestSupport
import Foundation
import Pipeline
import Reports
import Testing
import WireCore

/// Issue 13.3: progress on long files, by stored (compressed) bytes, on a terminal only.
struct ProgressTests {
    static func size(_ url: URL) throws -> Int64 {
        try #require((try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value)
    }

    /// Every call within the file's size, never going back, and a final one with all of it.
    @Test func progressCountsStoredBytesUpToTheTotal() throws {
        let capture = Paths.captures.appendingPathComponent("resolver-throttled.pcap")
        var calls: [OfflineProgress] = []
        _ = try analyzeFiles([capture.path].map(CapturePath.init), options: AnalysisOptions(),
                             progress: { calls.append($0) }, emit: { _ in })
        let total = try Self.size(capture)
        let final = try #require(calls.last)
        #expect(final.isFinal && final.totalBytes == total && final.bytesRead == total && final.frames == 1824)
        #expect(calls.dropLast().allSatisfy { !$0.isFinal && $0.bytesRead <= total })
        #expect(zip(calls, calls.dropFirst()).allSatisfy { $0.bytesRead <= $1.bytesRead })
    }

    /// Two inputs: the total is their sum; a gzip input counts its compressed size.
    @Test func severalInputsAndGzipAddTheirStoredSizes() throws {
        let plain = Paths.captures.appendingPathComponent("healthy.pcap")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-progress-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let compressed = directory.appendingPathComponent("egress-deny.pcap.gz")
        _ = try runProcess("/bin/sh", ["-c", "gzip -c '\(Paths.captures.appendingPathComponent("egress-deny.pcap").path)' > '\(compressed.path)'"])
        var last: OfflineProgress?
        _ = try analyzeFiles([plain.path, compressed.path].map(CapturePath.init), options: AnalysisOptions(),
                             progress: { last = $0 }, emit: { _ in })
        #expect(last?.totalBytes == (try Self.size(plain)) + (try Self.size(compressed)))
    }

    @Test func lineTextForAFileAndForAStream() {
        let file = OfflineProgress(bytesRead: 1_170_000_000, totalBytes: 2_600_000_000, frames: 1_234_567,
                                   elapsed: .seconds(12))
        #expect(ProgressLine.text(file) == "dnstrail: 45% of 2.6 GB, 1.2 M packets (102.9 k/s), 12 s, about 15 s left")
        let stream = OfflineProgress(bytesRead: 0, totalBytes: nil, frames: 950, elapsed: .seconds(3))
        #expect(ProgressLine.text(stream) == "dnstrail: 950 packets (316/s), 3 s")
        #expect(ProgressLine.text(file, width: 20) == "dnstrail: 45% of 2.")
    }

    /// Nothing before 2 s, redrawn in place after, cleared at the end; nothing at all when
    /// standard error is not a terminal.
    @Test func drawnOnlyOnATerminalAfterTwoSecondsAndCleared() {
        var written: [String] = []
        let line = ProgressLine(isTerminal: true) { written.append($0) }
        line.update(OfflineProgress(bytesRead: 10, totalBytes: 100, frames: 5, elapsed: .seconds(1)))
        #expect(written.isEmpty)
        line.update(OfflineProgress(bytesRead: 50, totalBytes: 100, frames: 50, elapsed: .seconds(3)))
        #expect(written.count == 1 && written[0].hasPrefix("\rdnstrail: 50% of 100 B") && written[0].hasSuffix("\u{1B}[K"))
        line.update(OfflineProgress(bytesRead: 100, totalBytes: 100, frames: 90, elapsed: .seconds(4), isFinal: true))
        #expect(written.last == "\r\u{1B}[K")

        var quiet: [String] = []
        let notTerminal = ProgressLine(isTerminal: false) { quiet.append($0) }
        notTerminal.update(OfflineProgress(bytesRead: 50, totalBytes: 100, frames: 50, elapsed: .seconds(30)))
        notTerminal.update(OfflineProgress(bytesRead: 100, totalBytes: 100, frames: 90, elapsed: .seconds(31), isFinal: true))
        #expect(quiet.isEmpty)
        // A short run never drew, so it clears nothing either.
        var short: [String] = []
        let quick = ProgressLine(isTerminal: true) { short.append($0) }
        quick.update(OfflineProgress(bytesRead: 100, totalBytes: 100, frames: 9, elapsed: .milliseconds(300), isFinal: true))
        #expect(short.isEmpty)
    }
}
