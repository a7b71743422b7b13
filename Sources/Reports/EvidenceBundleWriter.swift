import Capture
import Diagnosis
import Evidence
import Foundation
import Pipeline
import Transactions
import WireCore
#if canImport(Glibc)
import Glibc
#endif

/// Why a bundle could not be written; `description` is one line for `dnstrail: ...`.
public struct EvidenceBundleError: Error, CustomStringConvertible {
    public var description: String
}

/// Writes an incident evidence bundle (README "Walkthrough"): evidence.pcapng,
/// report.json, report.html, transactions.ndjson (the flagged transactions),
/// transactions-all.ndjson.gz (every transaction) and manifest.json.
///
/// Invariants: nothing is created on disk until the run has data for the bundle (the
/// first transaction or live frame) or finishes, so a run whose inputs fail to open leaves
/// no directory behind; `discard()` after a failure removes exactly what this run created.
/// Memory: one bit per transaction (whether it failed), never the lines themselves.
public final class EvidenceBundleWriter {
    public static let flaggedTransactionsFileName = "transactions.ndjson"
    public static let allTransactionsFileName = "transactions-all.ndjson.gz"
    static let liveCaptureFileName = ".live-capture.pcapng"
    /// zlib level of transactions-all.ndjson.gz. Measured on the 618 MB list of a 3 M-packet
    /// capture: level 3 gives 63.8 MB in about 5 s, level 6 (zlib's default) 52.8 MB in 15 s.
    static let compressionLevel = 3

    public let directory: BundleDirectory
    public private(set) var evidencePackets = 0
    /// How many transactions transactions.ndjson kept, of how many.
    public private(set) var flaggedTransactions = 0
    public private(set) var allTransactions = 0

    private var allLines: GzipFileWriter?
    /// Bit `n` set when transaction `n` (in close order) failed: unanswered, rejected, a
    /// failed TCP connection or fallback, or answered from another address.
    private var failedBits: [UInt64] = []
    private var liveRecorder: PcapngWriter?
    private var liveRecorderInterface: Int?
    /// Frames recorded by `recordLiveFrame`.
    private var liveFrames = 0
    /// The first error met while streaming (the sinks cannot throw); `finish` reports it.
    private var streamingError: String?

    /// Checks that `path` is absent or an empty directory; creates nothing yet.
    public init(path: String) throws(EvidenceBundleError) {
        do {
            directory = try BundleDirectory(path: path)
        } catch {
            throw EvidenceBundleError(description: error.description)
        }
    }

    /// True when `transaction` goes to transactions.ndjson whatever the findings cite.
    public static func isFailed(_ transaction: Transaction) -> Bool {
        switch transaction.outcome {
        // A late answer came after the client gave up: a failure for the client.
        case .unanswered, .rejected, .handshakeFailed, .reset, .late: return true
        case .answered, .multicast, .inFlight: break
        }
        if let fallback = transaction.fallback, fallback.outcome != .answered { return true }
        return transaction.response?.source != nil
    }

    /// Records one transaction and its NDJSON line (as `analyze --format ndjson` prints it).
    public func add(_ transaction: Transaction, line: UnsafeRawBufferPointer) {
        guard streamingError == nil else { return }
        do {
            if allLines == nil {
                allLines = try GzipFileWriter(path: try directory.file(Self.allTransactionsFileName), level: Self.compressionLevel)
            }
            try allLines?.write(line)
            try withUnsafeBytes(of: UInt8(0x0A)) { newline throws(GzipFileError) in try allLines?.write(newline) }
        } catch {
            streamingError = "\(error)"
            return
        }
        let word = allTransactions / 64
        if word == failedBits.count { failedBits.append(0) }
        if Self.isFailed(transaction) { failedBits[word] |= 1 << UInt64(allTransactions % 64) }
        allTransactions += 1
    }

    /// Keeps a live frame for the evidence capture (written at `finish`).
    public func recordLiveFrame(_ frame: CapturedFrame, linkType: LinkType, snapshotLength: Int, interface: String) {
        guard streamingError == nil else { return }
        do {
            let recorder: PcapngWriter
            if let liveRecorder {
                recorder = liveRecorder
            } else {
                recorder = try PcapngWriter(path: try directory.file(Self.liveCaptureFileName), toolVersion: ToolInfo.version)
                liveRecorder = recorder
            }
            let id: Int
            if let liveRecorderInterface {
                id = liveRecorderInterface
            } else {
                id = try recorder.addInterface(linkType: linkType, snapshotLength: snapshotLength, name: interface)
                liveRecorderInterface = id
            }
            try recorder.write(interface: id, timestamp: frame.timestamp, originalLength: frame.originalLength,
                               bytes: frame.bytes, comment: nil)
            liveFrames += 1
        } catch {
            streamingError = "cannot record the live capture: \(error)"
        }
    }

    /// Writes the rest of an offline bundle: `inputs` are the captures, in run order.
    public func finish(report: Report, inputs: [String], commandLine: [String]) throws(EvidenceBundleError) {
        try finish(report: report, evidenceInputs: inputs.map(EvidenceInput.init(file:)), hashedInputs: inputs,
                   commandLine: commandLine)
    }

    /// Writes the rest of a live bundle from the frames recorded during the run. With
    /// `uncitedComment`, evidence.pcapng holds every recorded frame, those no finding cites
    /// with that comment (a bundle of kept packets); without, only the cited ones.
    /// `captureLabel` names the recording in each packet's comment ("frame 3 of LABEL").
    public func finishLive(
        report: Report, interface: String, commandLine: [String], uncitedComment: String? = nil,
        captureLabel: String? = nil
    ) throws(EvidenceBundleError) {
        do {
            if let streamingError { throw EvidenceBundleError(description: "cannot write the bundle: \(streamingError)") }
            // No frame captured: no recording (a pcapng without interfaces is unreadable), no evidence packets.
            guard let liveRecorder else {
                try finish(report: report, evidenceInputs: [], hashedInputs: [], commandLine: commandLine)
                return
            }
            try liveRecorder.close()
            let path = try directory.file(Self.liveCaptureFileName)
            let label = captureLabel ?? "the live capture on \(interface)"
            try finish(report: report, evidenceInputs: [EvidenceInput(path: path, label: label)],
                       hashedInputs: [], commandLine: commandLine, removingBeforeManifest: path,
                       uncited: uncitedComment.map { (frames: liveFrames, comment: $0) })
        } catch let error as EvidenceBundleError {
            throw error
        } catch {
            throw EvidenceBundleError(description: "cannot write the bundle: \(error)")
        }
    }

    private func finish(
        report: Report, evidenceInputs: [EvidenceInput], hashedInputs: [String], commandLine: [String],
        removingBeforeManifest temporary: String? = nil, uncited: (frames: Int, comment: String)? = nil
    ) throws(EvidenceBundleError) {
        if let streamingError { throw EvidenceBundleError(description: "cannot write the bundle: \(streamingError)") }
        do {
            try writeTransactionFiles(citedFrames: Set(report.findings.flatMap(\.frames)))
            var comments: [Int: String] = [:]
            for finding in report.findings {
                let text = "dnstrail finding \(finding.kind.rawValue): \(finding.title)"
                for frame in finding.frames {
                    comments[frame] = comments[frame].map { $0.contains(text) ? $0 : $0 + " | " + text } ?? text
                }
            }
            if let uncited, uncited.frames > 0 {
                for frame in 1...uncited.frames where comments[frame] == nil { comments[frame] = uncited.comment }
            }
            let findings = report.findings.isEmpty ? "no findings"
                : report.findings.map { "\($0.kind.rawValue): \($0.title)" }.joined(separator: "; ")
            evidencePackets = try writeEvidenceCapture(
                inputs: evidenceInputs, comments: comments, to: try directory.file("evidence.pcapng"),
                toolVersion: ToolInfo.version,
                sectionComment: "dnstrail evidence: \(findings). Frame numbers: report.json, report.html and the "
                    + "transactions files cite frames as numbered in the analysed capture (1-based, continuing across "
                    + "its files); this file numbers its packets 1...N, and each packet's comment gives its original "
                    + "number and file (\"frame 17 of egress-deny.pcap\").",
                interfaceNames: report.run.interfaceNames)
            try write(report.json().serialized(pretty: true) + "\n", to: try directory.file("report.json"))
            try write(report.html(), to: try directory.file("report.html"))
            if let temporary {
                _ = unlink(temporary)
                directory.forget(Self.liveCaptureFileName)
            }
            let packets = report.run.packets
            let range = packets.firstTime.flatMap { first in packets.lastTime.map { (first: first.rfc3339, last: $0.rfc3339) } }
            try EvidenceBundle.writeManifest(
                directory: URL(fileURLWithPath: directory.path), inputs: hashedInputs.map { URL(fileURLWithPath: $0) }, commandLine: commandLine,
                timeRange: range, toolVersion: ToolInfo.version)
        } catch let error as EvidenceBundleError {
            throw error
        } catch {
            throw EvidenceBundleError(description: "cannot write the bundle: \(error)")
        }
    }

    /// Undoes a failed run: removes what this run created, nothing else.
    public func discard() {
        allLines = nil
        liveRecorder = nil
        directory.discard()
    }

    /// Closes transactions-all.ndjson.gz, then copies from it to transactions.ndjson the
    /// lines of the failed transactions and of those whose frames a finding cites, in
    /// close order.
    private func writeTransactionFiles(citedFrames: Set<Int>) throws {
        let allPath = try directory.file(Self.allTransactionsFileName)
        if let allLines {
            try allLines.close()
        } else {
            try GzipFileWriter(path: allPath).close()
        }
        let flaggedPath = try directory.file(Self.flaggedTransactionsFileName)
        let descriptor = open(flaggedPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EvidenceBundleError(description: "cannot create '\(flaggedPath)': \(String(cString: strerror(errno)))")
        }
        let flagged = OutputBuffer(descriptor: descriptor, closeWhenDone: true)
        var index = 0
        try GzipLineReader(path: allPath).forEachLine { line in
            let word = index / 64
            let failed = failedBits.indices.contains(word) && failedBits[word] & (1 << UInt64(index % 64)) != 0
            index += 1
            if failed || NDJSONFrames.anyFrame(in: line, isIn: citedFrames) {
                flagged.writeLine(line)
                flaggedTransactions += 1
            }
        }
        flagged.close()
        if let reason = flagged.failureReason {
            throw EvidenceBundleError(description: "cannot write '\(flaggedPath)': \(reason)")
        }
        guard index == allTransactions else {
            throw EvidenceBundleError(description: "'\(allPath)' holds \(index) transactions, \(allTransactions) were written")
        }
    }

    private func write(_ text: String, to path: String) throws(EvidenceBundleError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EvidenceBundleError(description: "cannot create '\(path)': \(String(cString: strerror(errno)))")
        }
        let output = OutputBuffer(descriptor: descriptor, closeWhenDone: true)
        output.write(text)
        output.close()
        if let reason = output.failureReason {
            throw EvidenceBundleError(description: "cannot write '\(path)': \(reason)")
        }
    }
}

/// The frame numbers in one NDJSON transaction line: every integer under a key ending in
/// `frame` or `frames` (`query_frames`, `response_frame`, `fallback.frames`, `icmp.frame`...).
/// A key is a string followed by `:`; strings are skipped with their escapes, so text in a
/// name can never look like a key.
enum NDJSONFrames {
    static func anyFrame(in line: UnsafeRawBufferPointer, isIn frames: Set<Int>) -> Bool {
        guard !frames.isEmpty else { return false }
        var found = false
        forEachFrame(in: line) { frame in
            if frames.contains(frame) { found = true }
        }
        return found
    }

    static func forEachFrame(in line: UnsafeRawBufferPointer, _ body: (Int) -> Void) {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var position = 0
        var underFrameKey = false
        while position < line.count {
            let byte = line[position]
            if byte == quote {
                let start = position + 1
                var end = start
                while end < line.count, line[end] != quote { end += line[end] == backslash ? 2 : 1 }
                var next = end + 1
                while next < line.count, line[next] == UInt8(ascii: " ") { next += 1 }
                if next < line.count, line[next] == UInt8(ascii: ":"), end <= line.count {
                    let key = UnsafeRawBufferPointer(rebasing: line[start..<min(end, line.count)])
                    underFrameKey = hasSuffix(key, "frame") || hasSuffix(key, "frames")
                }
                position = next
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                var value = 0
                var overflow = false
                while position < line.count, line[position] >= UInt8(ascii: "0"), line[position] <= UInt8(ascii: "9") {
                    let (times, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.addingReportingOverflow(Int(line[position] - UInt8(ascii: "0")))
                    value = sum
                    overflow = overflow || o1 || o2
                    position += 1
                }
                let isInteger = position >= line.count || (line[position] != UInt8(ascii: ".") && line[position] != UInt8(ascii: "e"))
                if underFrameKey, isInteger, !overflow { body(value) }
                while position < line.count, "0123456789.eE+-".utf8.contains(line[position]) { position += 1 }
            } else {
                if byte == UInt8(ascii: "{") { underFrameKey = false }
                position += 1
            }
        }
    }

    private static func hasSuffix(_ bytes: UnsafeRawBufferPointer, _ suffix: StaticString) -> Bool {
        let count = suffix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let tail = UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - count)...])
        return tail.elementsEqual(UnsafeRawBufferPointer(start: suffix.utf8Start, count: count))
    }
}
