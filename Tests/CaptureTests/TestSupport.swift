import DNSTrailTestSupport
import Capture
import Foundation
import Testing
import WireCore

/// Builds a classic pcap file byte by byte: the 24-byte file header, then per record a
/// 16-byte header (seconds, fraction, captured length, original length) and the bytes.
/// This is test data written in the real format, read back by the real libpcap.
struct PcapFileBuilder {
    private(set) var bytes: [UInt8] = []
    /// Offsets where each record (its 16-byte header) starts, to cut files precisely.
    private(set) var recordOffsets: [Int] = []
    let bigEndian: Bool

    init(linkType: UInt32 = 1, snapshotLength: UInt32 = 65_535, nanosecond: Bool = false, bigEndian: Bool = false) {
        self.bigEndian = bigEndian
        append32(nanosecond ? 0xa1b2_3c4d : 0xa1b2_c3d4)
        append16(2)
        append16(4)
        append32(0)  // thiszone
        append32(0)  // sigfigs
        append32(snapshotLength)
        append32(linkType)
    }

    mutating func appendRecord(seconds: UInt32, fraction: UInt32, frame: [UInt8], originalLength: Int? = nil) {
        recordOffsets.append(bytes.count)
        append32(seconds)
        append32(fraction)
        append32(UInt32(frame.count))
        append32(UInt32(originalLength ?? frame.count))
        bytes += frame
    }

    private mutating func append16(_ value: UInt16) {
        bytes += bigEndian ? [UInt8(value >> 8), UInt8(value & 0xff)] : [UInt8(value & 0xff), UInt8(value >> 8)]
    }

    private mutating func append32(_ value: UInt32) {
        let big = [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
        bytes += bigEndian ? big : big.reversed()
    }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "dnstrail-capture-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// gzip-compresses bytes with the system's gzip(1), an independent implementation.
func gzipped(_ bytes: [UInt8], in directory: TemporaryDirectory) throws -> [UInt8] {
    let plain = try directory.write(bytes, to: "gzip-input-\(UUID().uuidString)")
    let output = try run("/bin/sh", ["-c", "gzip -9 -n -c \"$1\"", "sh", plain])
    try FileManager.default.removeItem(atPath: plain)
    return output
}

/// Runs a program and returns its standard output; throws if it exits non-zero.
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProcessFailure(command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus)
    }
    return [UInt8](data)
}

struct ProcessFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var description: String { "\(command) exited with status \(status)" }
}

/// A frame copied out of libpcap's buffer, so frames from two reads can be compared.
struct FrameCopy: Equatable, CustomStringConvertible {
    var number: Int
    var timestamp: Int64
    var capturedLength: Int
    var originalLength: Int
    var bytes: [UInt8]
    var linkType: Int32

    init(_ frame: CapturedFrame) {
        number = frame.number
        timestamp = frame.timestamp.nanoseconds
        capturedLength = frame.capturedLength
        originalLength = frame.originalLength
        bytes = [UInt8](frame.bytes)
        linkType = frame.linkType.rawValue
    }

    var description: String { "#\(number) @\(timestamp) \(capturedLength)/\(originalLength)" }
}

/// Everything a capture yields until it stops: the frames, then how it stopped.
struct ReadOutcome {
    var frames: [FrameCopy] = []
    /// nil for a clean `.end`, the message for `.damaged`.
    var damage: String?
}

func readAll(_ capture: OfflineCapture, limit: Int = 1_000_000) -> ReadOutcome {
    var outcome = ReadOutcome()
    while outcome.frames.count < limit {
        switch capture.next() {
        case .frame(let frame): outcome.frames.append(FrameCopy(frame))
        case .end: return outcome
        case .damaged(let reason):
            outcome.damage = reason
            return outcome
        case .timeout:
            Issue.record("an offline capture returned .timeout")
            return outcome
        }
    }
    return outcome
}

/// Opens a capture and returns the error it throws, or nil if it opened.
func openingError(_ path: String) -> CaptureError? {
    do {
        _ = try OfflineCapture(path: path)
        return nil
    } catch {
        return error
    }
}
