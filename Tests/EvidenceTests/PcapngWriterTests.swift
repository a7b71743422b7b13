import DNSTrailTestSupport
import Foundation
import Testing
import WireCore
@testable import Evidence

/// A packet as the tests write it and expect readers to show it.
private struct WrittenPacket {
    var interface: Int
    var timestamp: Timestamp
    var originalLength: Int
    var bytes: [UInt8]
    var comment: String?
}

private func write(_ packet: WrittenPacket, to writer: PcapngWriter) throws {
    try packet.bytes.withUnsafeBytes { bytes in
        try writer.write(
            interface: packet.interface, timestamp: packet.timestamp, originalLength: packet.originalLength,
            bytes: bytes, comment: packet.comment)
    }
}

/// "seconds.nanoseconds" as tshark prints `frame.time_epoch`.
private func epoch(_ nanoseconds: Int64) -> String {
    let fraction = String(nanoseconds % 1_000_000_000)
    return "\(nanoseconds / 1_000_000_000).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
}

@Suite("pcapng writer")
struct PcapngWriterTests {
    /// A Section Header Block alone, byte for byte (§4.1).
    @Test func sectionHeaderBlockBytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("empty.pcapng").path
        let writer = try PcapngWriter(path: path, toolVersion: "0.1.0")
        try writer.close()
        let expected = hex("""
            0a0d0d0a 34000000            ; Block Type SHB, Block Total Length 52
            4d3c2b1a                     ; Byte-Order Magic, little-endian
            0100 0000                    ; version 1.0
            ffffffff ffffffff            ; Section Length: unspecified
            0400 0e00                    ; shb_userappl, 14 bytes
            646e737472 61696c20 302e312e30 0000  ; "dnstrail 0.1.0" + 2 bytes padding
            0000 0000                    ; opt_endofopt
            34000000                     ; Block Total Length again
            """)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == expected)
    }

    /// Every padding case of packet data and comment (lengths 0 to 7): each block framed
    /// correctly and each field read back as written, by an independent reader.
    @Test func blocksRoundTripForEveryPadding() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("padding.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0", sectionComment: "abc")
        let nano = try writer.addInterface(linkType: .ethernet, snapshotLength: 65535, name: "eth0")
        let micro = try writer.addInterface(
            linkType: .raw, snapshotLength: 0, name: nil, timestampResolutionNanoseconds: false)
        var packets: [WrittenPacket] = []
        for dataLength in 0..<8 {
            for commentLength in [nil, 0, 1, 2, 3, 4, 5, 6, 7] as [Int?] {
                packets.append(WrittenPacket(
                    interface: packets.count % 2 == 0 ? nano : micro,
                    timestamp: Timestamp(nanoseconds: 5_000_000_000 * 1_000_000_000 + Int64(packets.count) * 1_001),
                    originalLength: dataLength + packets.count,
                    bytes: (0..<dataLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ packets.count) },
                    comment: commentLength.map { String(repeating: "c", count: $0) }))
            }
        }
        for packet in packets { try write(packet, to: writer) }
        #expect(writer.packetCount == packets.count)
        try writer.close()

        let blocks = try readPcapngBlocks(url)
        try #require(blocks.count == 3 + packets.count)
        #expect(blocks[0].type == 0x0A0D_0D0A)
        #expect(blocks[0].options(from: 16).map(\.code) == [1, 4, 0])
        #expect(blocks[1].type == 1 && blocks[1].uint16(0) == 1 && blocks[1].uint32(4) == 65535)
        #expect(blocks[1].options(from: 8).map(\.code) == [2, 9, 0])
        #expect(blocks[1].options(from: 8)[1].value == [9])
        #expect(blocks[2].type == 1 && blocks[2].uint16(0) == 101 && blocks[2].uint32(4) == 0)
        #expect(blocks[2].body.count == 8, "no options, so no opt_endofopt either")

        for (packet, block) in zip(packets, blocks[3...]) {
            #expect(block.type == 6)
            #expect(Int(block.uint32(0)) == packet.interface)
            let units = UInt64(block.uint32(4)) << 32 | UInt64(block.uint32(8))
            let expectedUnits = UInt64(packet.timestamp.nanoseconds) / (packet.interface == nano ? 1 : 1000)
            #expect(units == expectedUnits)
            let captured = Int(block.uint32(12))
            #expect(captured == packet.bytes.count)
            #expect(Int(block.uint32(16)) == packet.originalLength)
            #expect(Array(block.body[20..<20 + captured]) == packet.bytes)
            let options = block.options(from: 20 + (captured + 3) / 4 * 4)
            if let comment = packet.comment {
                #expect(options.map(\.code) == [1, 0])
                #expect(options.first?.value == Array(comment.utf8))
            } else {
                #expect(options.isEmpty)
            }
        }
    }

    /// Real frames from two link types on two interfaces, read back by tshark: frame count,
    /// interface and link type, timestamp to the nanosecond, comment, DNS id.
    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
    func tsharkReadsTwoInterfacesWithComments() throws {
        let ethernet = try readPcap(Paths.captures.appendingPathComponent("egress-deny.pcap"))
        let sll2Source = Paths.publicCaptures.appendingPathComponent("dnscap_sll2.pcap")
        let sll2 = try readPcap(sll2Source)
        try #require(ethernet.linkType == LinkType.ethernet.rawValue && ethernet.records.count >= 4)
        try #require(sll2.linkType == LinkType.linuxSLL2.rawValue && sll2.records.count == 2, "\(sll2Source.path)")

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("evidence.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0", sectionComment: "incident 1: egress-deny")
        let eth0 = try writer.addInterface(linkType: .ethernet, snapshotLength: 262_144, name: "eth0")
        let any = try writer.addInterface(
            linkType: .linuxSLL2, snapshotLength: 262_144, name: "any", timestampResolutionNanoseconds: false)
        #expect(!writer.isReadableByLibpcap)

        // (packet, DNS id, expected timestamp): the Ethernet interface keeps nanoseconds
        // added to the source's microseconds; the SLL2 one is in microseconds, so 999 ns
        // added there must be truncated away.
        let cases: [(packet: WrittenPacket, dnsID: String, epoch: String)] = [
            (WrittenPacket(interface: eth0, timestamp: Timestamp(nanoseconds: ethernet.records[0].timestampNanoseconds + 123),
                           originalLength: ethernet.records[0].originalLength, bytes: ethernet.records[0].bytes,
                           comment: "query 0x7781 kubernetes.default.svc.cluster.local A: answered in 173 µs"),
             "0x7781", "1795652654.943186123"),
            (WrittenPacket(interface: any, timestamp: Timestamp(nanoseconds: sll2.records[0].timestampNanoseconds + 999),
                           originalLength: sll2.records[0].originalLength, bytes: sll2.records[0].bytes,
                           comment: "query 0x5139 from 238.0.0.1"),
             "0x5139", "1741351492.219938000"),
            (WrittenPacket(interface: eth0, timestamp: Timestamp(nanoseconds: ethernet.records[1].timestampNanoseconds + 7),
                           originalLength: ethernet.records[1].originalLength, bytes: ethernet.records[1].bytes,
                           comment: nil),
             "0x7781", "1795652654.943359007"),
            (WrittenPacket(interface: eth0, timestamp: Timestamp(nanoseconds: ethernet.records[2].timestampNanoseconds + 999),
                           originalLength: ethernet.records[2].originalLength, bytes: ethernet.records[2].bytes,
                           comment: "unanswered"),
             "0x6f5a", "1795652654.973430999"),
            (WrittenPacket(interface: any, timestamp: Timestamp(nanoseconds: sll2.records[1].timestampNanoseconds),
                           originalLength: sll2.records[1].originalLength, bytes: sll2.records[1].bytes,
                           comment: "response 0x5139 NXDOMAIN"),
             "0x5139", "1741351492.234317000"),
        ]
        for entry in cases { try write(entry.packet, to: writer) }
        try writer.close()

        // tshark 4.0: `frame.comment` is the comment text; `pkt_comment` is the protocol
        // node, which `-T fields` prints as the literal "pkt_comment".
        let fields = ["frame.number", "frame.interface_id", "frame.interface_name", "frame.encap_type",
                      "frame.time_epoch", "frame.len", "frame.cap_len", "dns.id", "frame.comment"]
        let result = try run("tshark", ["-r", url.path, "-T", "fields", "-E", "separator=|"]
            + fields.flatMap { ["-e", $0] })
        #expect(result.status == 0, "tshark: \(result.errors)")
        let expected = cases.enumerated().map { index, entry in
            let packet = entry.packet
            let encapsulation = packet.interface == eth0 ? "1" : "210"   // WTAP_ENCAP_ETHERNET, WTAP_ENCAP_SLL2
            let name = packet.interface == eth0 ? "eth0" : "any"
            return "\(index + 1)|\(packet.interface)|\(name)|\(encapsulation)|\(entry.epoch)|\(packet.originalLength)"
                + "|\(packet.bytes.count)|\(entry.dnsID)|\(packet.comment ?? "")"
        }
        #expect(result.output.split(separator: "\n").map(String.init) == expected)

        // The section and interfaces as capinfos reports them.
        let information = try run("capinfos", ["-M", url.path])
        #expect(information.status == 0, "capinfos: \(information.errors)")
        #expect(information.output.contains("Number of packets:   5"))
        #expect(information.output.contains("Capture application: dnstrail 0.1.0"))
        #expect(information.output.contains("Capture comment:     incident 1: egress-deny"))
        #expect(information.output.contains("Encapsulation = Ethernet (1 - ether)"))
        #expect(information.output.contains("Encapsulation = Linux cooked-mode capture v2 (210 - linux-sll2)"))
        #expect(information.output.contains("Time precision = nanoseconds (9)"))
        #expect(information.output.contains("Time precision = microseconds (6)"))
    }

    /// libpcap reads a file whose interfaces share a link type, nanosecond timestamps included.
    @Test func tcpdumpReadsSingleLinkTypeFile() throws {
        let ethernet = try readPcap(Paths.captures.appendingPathComponent("egress-deny.pcap"))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("ethernet.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0")
        let first = try writer.addInterface(linkType: .ethernet, snapshotLength: 262_144, name: "veth1")
        let second = try writer.addInterface(linkType: .ethernet, snapshotLength: 262_144, name: "cni0")
        #expect(writer.isReadableByLibpcap)
        for (index, record) in ethernet.records.enumerated() {
            try write(WrittenPacket(
                interface: index % 2 == 0 ? first : second,
                timestamp: Timestamp(nanoseconds: record.timestampNanoseconds + 42),
                originalLength: record.originalLength, bytes: record.bytes, comment: "frame \(index + 1)"), to: writer)
        }
        try writer.close()

        let result = try run("tcpdump", ["-n", "-tt", "--time-stamp-precision=nano", "-r", url.path])
        #expect(result.status == 0, "tcpdump: \(result.errors)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == ethernet.records.count)
        // tcpdump -n -r captures/egress-deny.pcap, first frame:
        // 00:24:14.943186 IP 10.244.1.10.41855 > 10.96.0.10.53: 30593+ [1au] A? kubernetes.default.svc.cluster.local. (77)
        #expect(lines.first.map(String.init) == "\(epoch(ethernet.records[0].timestampNanoseconds + 42)) IP "
            + "10.244.1.10.41855 > 10.96.0.10.53: 30593+ [1au] A? kubernetes.default.svc.cluster.local. (77)")
    }

    /// libpcap 1.10 refuses a second IDB with another link type or snapshot length;
    /// `isReadableByLibpcap` must say so before the CLI promises a file tcpdump can open.
    @Test(arguments: [
        (LinkType.linuxSLL2, 262_144, "an interface has a type 276 different from the type of the first interface"),
        (LinkType.ethernet, 1500, "an interface has a snapshot length 1500 different from the snapshot length of the first interface"),
    ])
    func libpcapRefusesMixedInterfaces(second: LinkType, snapshotLength: Int, message: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("mixed.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0")
        let first = try writer.addInterface(linkType: .ethernet, snapshotLength: 262_144, name: nil)
        #expect(writer.isReadableByLibpcap)
        let frame = [UInt8](repeating: 0, count: 60)
        try write(WrittenPacket(interface: first, timestamp: Timestamp(nanoseconds: 0), originalLength: 60,
                                bytes: frame, comment: nil), to: writer)
        _ = try writer.addInterface(linkType: second, snapshotLength: snapshotLength, name: nil)
        #expect(!writer.isReadableByLibpcap)
        try writer.close()
        let result = try run("tcpdump", ["-n", "-r", url.path])
        #expect(result.status != 0)
        #expect(result.errors.contains(message), "\(result.errors)")
    }

    @Test func rejectsPacketsThatWouldMakeAnInvalidFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("rejects.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0")
        let interface = try writer.addInterface(linkType: .ethernet, snapshotLength: 64, name: nil)
        let small = [UInt8](repeating: 0xAB, count: 60)
        func attempt(
            interface: Int = interface, nanoseconds: Int64 = 1, original: Int = 60, bytes: [UInt8] = small,
            comment: String? = nil
        ) -> EvidenceError? {
            do {
                try write(WrittenPacket(interface: interface, timestamp: Timestamp(nanoseconds: nanoseconds),
                                        originalLength: original, bytes: bytes, comment: comment), to: writer)
                return nil
            } catch let error as EvidenceError {
                return error
            } catch {
                Issue.record("unexpected error \(error)")
                return nil
            }
        }
        #expect(attempt(interface: 1) == .unknownInterface(1, interfaceCount: 1))
        #expect(attempt(interface: -1) == .unknownInterface(-1, interfaceCount: 1))
        #expect(attempt(nanoseconds: -1) == .timestampBeforeEpoch(Timestamp(nanoseconds: -1)))
        #expect(attempt(original: 59) == .originalLengthShorterThanCaptured(original: 59, captured: 60))
        #expect(attempt(original: Int(UInt32.max) + 1) == .originalLengthOutOfRange(Int(UInt32.max) + 1))
        #expect(attempt(original: 65, bytes: Array(repeating: 0, count: 65))
            == .capturedLengthExceedsSnapshotLength(captured: 65, snapshotLength: 64, interface: 0))
        #expect(attempt(comment: String(repeating: "x", count: 65_536))
            == .optionTooLong(code: 1, length: 65_536, maximum: 65_535))
        #expect(attempt(comment: String(repeating: "x", count: 65_535)) == nil)
        #expect(throws: EvidenceError.linkTypeOutOfRange(LinkType(rawValue: 65_536))) {
            try writer.addInterface(linkType: LinkType(rawValue: 65_536), snapshotLength: 0, name: nil)
        }
        #expect(throws: EvidenceError.snapshotLengthOutOfRange(-1)) {
            try writer.addInterface(linkType: .ethernet, snapshotLength: -1, name: nil)
        }
        let unlimited = try writer.addInterface(linkType: .ethernet, snapshotLength: 0, name: nil)
        #expect(attempt(interface: unlimited, original: 262_145, bytes: Array(repeating: 0, count: 262_145))
            == .capturedLengthExceedsMaximum(captured: 262_145, maximum: 262_144))
        try writer.close()
        try writer.close()   // harmless
        #expect(attempt() == .writerClosed(path: url.path))

        // Nothing of a refused packet or interface reached the file: the first IDB, the one
        // good packet (the 65,535-byte comment), the unlimited IDB.
        let blocks = try readPcapngBlocks(url)
        #expect(blocks.map(\.type) == [0x0A0D_0D0A, 1, 6, 1])
        let result = try run("tshark", ["-r", url.path, "-T", "fields", "-e", "frame.len"])
        #expect(result.status == 0, "tshark: \(result.errors)")
        #expect(result.output == "60\n")
    }

    @Test func unwritablePathFailsWithTheSystemReason() {
        #expect(throws: EvidenceError.cannotCreate(path: "/nonexistent-dir/x.pcapng", reason: "No such file or directory")) {
            try PcapngWriter(path: "/nonexistent-dir/x.pcapng", toolVersion: "0.1.0")
        }
        #expect(EvidenceError.cannotCreate(path: "/nonexistent-dir/x.pcapng", reason: "No such file or directory").description
            == "cannot create '/nonexistent-dir/x.pcapng': No such file or directory")
    }

    /// A failed write ends the file: nothing is appended after a possibly torn block, and
    /// every later call reports the same failure. (/dev/full fails every write with ENOSPC.)
    @Test func writeFailureIsFinal() throws {
        let writer = try PcapngWriter(path: "/dev/full", toolVersion: "0.1.0")
        let interface = try writer.addInterface(linkType: .ethernet, snapshotLength: 0, name: nil)
        let full = EvidenceError.writeFailed(path: "/dev/full", reason: "No space left on device")
        #expect(throws: full) { try writer.flush() }
        #expect(throws: full) {
            try write(WrittenPacket(interface: interface, timestamp: Timestamp(nanoseconds: 0), originalLength: 1,
                                    bytes: [0], comment: nil), to: writer)
        }
        #expect(throws: full) { try writer.addInterface(linkType: .ethernet, snapshotLength: 0, name: nil) }
        #expect(throws: full) { try writer.close() }
    }

    /// More than one flush threshold of packets: the buffer is written out in the middle
    /// and nothing is lost or reordered.
    @Test func largeFileSpansSeveralFlushes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("large.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0")
        let interface = try writer.addInterface(linkType: .raw, snapshotLength: 0, name: nil)
        let count = 2 * PcapngWriter.flushThreshold / 1500 + 10
        var frame = [UInt8](repeating: 0, count: 1499)
        for index in 0..<count {
            frame[0] = UInt8(truncatingIfNeeded: index)
            frame[1498] = UInt8(truncatingIfNeeded: index >> 8)
            try write(WrittenPacket(interface: interface, timestamp: Timestamp(nanoseconds: Int64(index)),
                                    originalLength: 1499, bytes: frame, comment: nil), to: writer)
        }
        try writer.close()
        let packets = try readPcapngBlocks(url).filter { $0.type == 6 }
        #expect(packets.count == count)
        for (index, block) in packets.enumerated() where index % 97 == 0 || index == count - 1 {
            #expect(block.body[20] == UInt8(truncatingIfNeeded: index))
            #expect(block.body[20 + 1498] == UInt8(truncatingIfNeeded: index >> 8))
            #expect(block.uint32(8) == UInt32(index))
        }
    }
}
