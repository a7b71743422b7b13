import Foundation
import Testing

/// Captures that are damaged or unusual, as users really send them: each gives a clear
/// message, a non-zero exit only when the file cannot be read at all, and a report of
/// everything analysed before the damage.
@Suite(.serialized)
struct HostileCaptureTests {
    let cli = CLITests()

    /// The frames of egress-deny.pcap: (seconds, microseconds, bytes, original length).
    static let frames: [(UInt32, UInt32, [UInt8], UInt32)] = {
        guard let data = try? Data(contentsOf: Paths.captures.appendingPathComponent("egress-deny.pcap")) else { return [] }
        let bytes = [UInt8](data)
        func le32(_ at: Int) -> UInt32 { UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24 }
        var frames: [(UInt32, UInt32, [UInt8], UInt32)] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let length = Int(le32(offset + 8))
            guard offset + 16 + length <= bytes.count else { break }
            frames.append((le32(offset), le32(offset + 4), Array(bytes[(offset + 16)..<(offset + 16 + length)]), le32(offset + 12)))
            offset += 16 + length
        }
        return frames
    }()

    static func le(_ value: UInt32) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)] }

    /// A classic little-endian microsecond pcap.
    static func pcap(linkType: UInt32 = 1, snaplen: UInt32 = 262_144, records: [(UInt32, UInt32, [UInt8], UInt32)]) -> [UInt8] {
        var out: [UInt8] = le(0xa1b2_c3d4) + [2, 0, 4, 0] + le(0) + le(0) + le(snaplen) + le(linkType)
        for (seconds, microseconds, bytes, original) in records {
            out += le(seconds) + le(microseconds) + le(UInt32(bytes.count)) + le(original) + bytes
        }
        return out
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-hostile-\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }

    func json(_ output: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    @Test func truncatedMidRecordReportsWhatCameBefore() throws {
        let whole = Self.pcap(records: Self.frames)
        // Cut inside the 20th record: 19 whole frames survive.
        let cut = Self.pcap(records: Array(Self.frames.prefix(19))).count + 30
        let path = try write(Array(whole.prefix(cut)), "cut.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json"])
        #expect(result.status == 0)
        let report = try json(result.output)
        let packets = try #require(report["packets"] as? [String: Any])
        #expect(packets["frames"] as? Int == 19)
        let inputs = try #require((report["capture"] as? [String: Any])?["inputs"] as? [[String: Any]])
        #expect((inputs.first?["damage"] as? String)?.hasPrefix("truncated capture file after frame 19") == true)
        #expect((report["warnings"] as? [String])?.contains { $0.contains("frames before the damage were analysed") } == true)
        // The unanswered pod is still found from the frames before the cut.
        #expect(((report["unanswered"] as? [[String: Any]])?.first?["client"] as? String) == "10.244.1.11")
    }

    @Test func wrongMagicAndEmptyFilesCannotBeRead() throws {
        let wrong = try write(Array("not a capture at all".utf8), "wrong.pcap")
        let empty = try write([], "empty.pcap")
        defer {
            try? FileManager.default.removeItem(atPath: wrong)
            try? FileManager.default.removeItem(atPath: empty)
        }
        for path in [wrong, empty] {
            let result = try cli.run(["analyze", path])
            #expect(result.status == 2)
            #expect(result.errors.hasPrefix("dnstrail: cannot read capture '\(path)': "))
            #expect(result.errors.split(separator: "\n").count == 1)
            #expect(result.output.isEmpty)
        }
    }

    @Test func unsupportedLinkTypeIsCountedNotFatal() throws {
        let path = try write(Self.pcap(linkType: 147, records: Array(Self.frames.prefix(5))), "user0.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json"])
        #expect(result.status == 0)
        let packets = try #require(try json(result.output)["packets"] as? [String: Any])
        #expect((packets["undecodable"] as? [String: Any])?["unsupported-link-type"] as? Int == 5)
    }

    /// A 60-byte snaplen keeps headers and cuts DNS: counted as cut, flagged as incomplete.
    @Test func snaplenCutPacketsAreCountedAndWarned() throws {
        let cut = Self.frames.map { ($0.0, $0.1, Array($0.2.prefix(60)), $0.3) }
        let path = try write(Self.pcap(snaplen: 60, records: cut), "snap.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json"])
        #expect(result.status == 0)
        let report = try json(result.output)
        let packets = try #require(report["packets"] as? [String: Any])
        #expect(packets["cut_by_snaplen"] as? Int == 24)
        #expect((report["warnings"] as? [String])?.contains("24 frames were cut by the capture's snaplen") == true)
        #expect((report["findings"] as? [[String: Any]])?.contains { $0["kind"] as? String == "capture-incomplete" } == true)
    }

    /// A zero-length record is an undecodable frame; a record claiming 2 GiB stops the
    /// file with a clear message after the frames before it.
    @Test func zeroLengthAndOversizedRecords() throws {
        var records = Array(Self.frames.prefix(6))
        records.insert((records[0].0, 1, [], 0), at: 3)
        var bytes = Self.pcap(records: records)
        bytes += Self.le(records[0].0) + Self.le(2) + Self.le(0x7fff_ffff) + Self.le(0x7fff_ffff) + [1, 2, 3]
        let path = try write(bytes, "oversized.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json"])
        #expect(result.status == 0)
        let report = try json(result.output)
        let packets = try #require(report["packets"] as? [String: Any])
        #expect(packets["frames"] as? Int == 7)
        #expect((packets["undecodable"] as? [String: Any])?["truncated-link-header"] as? Int == 1)
        let inputs = try #require((report["capture"] as? [String: Any])?["inputs"] as? [[String: Any]])
        let damage = try #require(inputs.first?["damage"] as? String)
        #expect(damage.contains("after frame 7"))
        #expect(!damage.contains("\n"))
    }

    /// libpcap reads one link type per pcapng: a second interface of another type stops
    /// the read with that explanation; the frames before it are analysed.
    @Test func pcapngWithInterfacesOfDifferentLinkTypes() throws {
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + Array(repeating: 0, count: (4 - body.count % 4) % 4)
            let length = UInt32(12 + padded.count)
            return Self.le(type) + Self.le(length) + padded + Self.le(length)
        }
        func epb(_ interface: UInt32, _ frame: (UInt32, UInt32, [UInt8], UInt32)) -> [UInt8] {
            let time = UInt64(frame.0) * 1_000_000 + UInt64(frame.1)
            return block(6, Self.le(interface) + Self.le(UInt32(time >> 32)) + Self.le(UInt32(time & 0xffff_ffff))
                         + Self.le(UInt32(frame.2.count)) + Self.le(frame.3) + frame.2)
        }
        var bytes = block(0x0a0d_0d0a, Self.le(0x1a2b_3c4d) + [1, 0, 0, 0] + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        bytes += block(1, [1, 0, 0, 0] + Self.le(262_144))
        bytes += Self.frames.prefix(4).flatMap { epb(0, $0) }
        bytes += block(1, [0x14, 0x01, 0, 0] + Self.le(262_144))  // LINUX_SLL2
        bytes += Self.frames.dropFirst(4).prefix(4).flatMap { epb(0, $0) }
        let path = try write(bytes, "multi.pcapng")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json"])
        #expect(result.status == 0)
        let report = try json(result.output)
        #expect((report["packets"] as? [String: Any])?["frames"] as? Int == 4)
        let inputs = try #require((report["capture"] as? [String: Any])?["inputs"] as? [[String: Any]])
        #expect((inputs.first?["damage"] as? String)?.hasPrefix("pcapng file mixes interfaces libpcap cannot read together, stopped after frame 4") == true)
    }
}
