import DNSTrailTestSupport
import Foundation
import Testing

/// Locations the tests read from.
enum Paths {
    /// The package root, found from this file's path (Tests/EvidenceTests/Support.swift).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let captures = root.appendingPathComponent("captures")
    /// Public captures beside the project (read in place, never copied into it).
    static var publicCaptures: URL { PublicCaptures.directory }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init(_ label: String = #function) throws {
        let name = "dnstrail-evidence-\(label.prefix { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
        url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: file(name))
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A finished external command.
struct CommandResult {
    var status: Int32
    var output: String
    var errors: String
}

/// The absolute path of `tool` on PATH, or nil.
func which(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs `tool` with `arguments`; output goes through files, so a chatty tool cannot fill
/// a pipe and block. Fails the test (with how to install it) if the tool is absent.
func run(_ tool: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    let executable = try #require(
        which(tool),
        "\(tool) is not installed; the suite's setup installs it (apt-get install -y tshark tcpdump)",
        sourceLocation: sourceLocation)
    let scratch = try TemporaryDirectory("run")
    defer { scratch.remove() }
    try Data().write(to: scratch.file("out"))
    try Data().write(to: scratch.file("err"))
    let output = try FileHandle(forWritingTo: scratch.file("out"))
    let errors = try FileHandle(forWritingTo: scratch.file("err"))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    try output.close()
    try errors.close()
    return CommandResult(
        status: process.terminationStatus,
        output: try String(contentsOf: scratch.file("out"), encoding: .utf8),
        errors: try String(contentsOf: scratch.file("err"), encoding: .utf8))
}

/// One record of a classic pcap file.
struct PcapRecord {
    var timestampNanoseconds: Int64
    var originalLength: Int
    var bytes: [UInt8]
}

/// The records and link type of a classic pcap file (either byte order, micro- or
/// nanosecond magic): just enough to feed real frames to the writer.
func readPcap(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> (linkType: Int32, records: [PcapRecord]) {
    let data = [UInt8](try Data(contentsOf: url))
    try #require(data.count >= 24, "\(url.lastPathComponent) is shorter than a pcap header", sourceLocation: sourceLocation)
    func uint32(_ offset: Int, bigEndian: Bool) -> UInt32 {
        let bytes = data[offset..<offset + 4].map(UInt32.init)
        return bigEndian
            ? bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]
            : bytes[3] << 24 | bytes[2] << 16 | bytes[1] << 8 | bytes[0]
    }
    let magic = uint32(0, bigEndian: true)
    let bigEndian: Bool
    let nanosecond: Bool
    switch magic {
    case 0xA1B2_C3D4: (bigEndian, nanosecond) = (true, false)
    case 0xD4C3_B2A1: (bigEndian, nanosecond) = (false, false)
    case 0xA1B2_3C4D: (bigEndian, nanosecond) = (true, true)
    case 0x4D3C_B2A1: (bigEndian, nanosecond) = (false, true)
    default:
        Issue.record("\(url.lastPathComponent): not a pcap file", sourceLocation: sourceLocation)
        return (0, [])
    }
    let linkType = Int32(uint32(20, bigEndian: bigEndian) & 0xFFFF)
    var records: [PcapRecord] = []
    var offset = 24
    while offset + 16 <= data.count {
        let seconds = Int64(uint32(offset, bigEndian: bigEndian))
        let fraction = Int64(uint32(offset + 4, bigEndian: bigEndian))
        let captured = Int(uint32(offset + 8, bigEndian: bigEndian))
        let original = Int(uint32(offset + 12, bigEndian: bigEndian))
        guard offset + 16 + captured <= data.count else { break }
        records.append(PcapRecord(
            timestampNanoseconds: seconds * 1_000_000_000 + (nanosecond ? fraction : fraction * 1000),
            originalLength: original,
            bytes: Array(data[offset + 16..<offset + 16 + captured])))
        offset += 16 + captured
    }
    return (linkType, records)
}

/// One block of a pcapng file, as an independent reader sees it.
struct PcapngBlock {
    var type: UInt32
    var body: [UInt8]   // between the leading and the trailing Block Total Length

    func uint16(_ offset: Int) -> UInt16 { UInt16(body[offset]) | UInt16(body[offset + 1]) << 8 }
    func uint32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(body[offset + $1]) << (8 * $1) }
    }

    /// Options from `offset` to the end: (code, value) pairs, opt_endofopt included.
    func options(from offset: Int, sourceLocation: SourceLocation = #_sourceLocation) -> [(code: UInt16, value: [UInt8])] {
        var result: [(code: UInt16, value: [UInt8])] = []
        var position = offset
        while position + 4 <= body.count {
            let code = uint16(position)
            let length = Int(uint16(position + 2))
            guard position + 4 + length <= body.count else {
                Issue.record("option \(code) overruns its block", sourceLocation: sourceLocation)
                return result
            }
            result.append((code, Array(body[position + 4..<position + 4 + length])))
            position += 4 + (length + 3) / 4 * 4
            if code == 0 { break }
        }
        #expect(position == body.count, "bytes after opt_endofopt", sourceLocation: sourceLocation)
        return result
    }
}

/// Walks a little-endian pcapng file block by block, checking the framing rules of
/// draft-ietf-opsawg-pcapng §3.1 on the way.
func readPcapngBlocks(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> [PcapngBlock] {
    let data = [UInt8](try Data(contentsOf: url))
    func uint32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[offset + $1]) << (8 * $1) }
    }
    var blocks: [PcapngBlock] = []
    var offset = 0
    while offset < data.count {
        try #require(offset + 12 <= data.count, "truncated block at \(offset)", sourceLocation: sourceLocation)
        let type = uint32(offset)
        let length = Int(uint32(offset + 4))
        try #require(length % 4 == 0 && length >= 12, "block at \(offset): length \(length)", sourceLocation: sourceLocation)
        try #require(offset + length <= data.count, "block at \(offset) overruns the file", sourceLocation: sourceLocation)
        try #require(
            uint32(offset + length - 4) == UInt32(length),
            "block at \(offset): trailing length \(uint32(offset + length - 4)) ≠ \(length)",
            sourceLocation: sourceLocation)
        blocks.append(PcapngBlock(type: type, body: Array(data[offset + 8..<offset + length - 4])))
        offset += length
    }
    return blocks
}

/// Bytes from annotated hex: whitespace ignored, `;` starts a comment to the end of the line.
func hex(_ text: String) -> [UInt8] {
    var digits: [UInt8] = []
    for line in text.split(separator: "\n") {
        for character in line.prefix(while: { $0 != ";" }) {
            if let value = character.hexDigitValue { digits.append(UInt8(value)) }
        }
    }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
