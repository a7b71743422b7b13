import DNSTrailTestSupport
import Capture
import Foundation
import Testing
import WireCore

/// Reads pcap files written byte by byte in the test, through the real libpcap.
@Suite("Offline capture of generated files")
struct OfflineCaptureTests {
    /// Three UDP/DNS frames; the second cut by a 60-byte snapshot length.
    static func threeFrames(nanosecond: Bool = false, bigEndian: Bool = false) -> PcapFileBuilder {
        var file = PcapFileBuilder(snapshotLength: 60, nanosecond: nanosecond, bigEndian: bigEndian)
        let query = Packets.ethernet(type: Packets.ipv4Type, Packets.ipv4(protocolNumber: Packets.udpProtocol,
            Packets.udp(source: 40_000, destination: 53)))
        file.appendRecord(seconds: 1_700_000_000, fraction: nanosecond ? 123_456_789 : 123_456, frame: query)
        file.appendRecord(seconds: 1_700_000_001, fraction: nanosecond ? 999_999_999 : 999_999,
                          frame: [UInt8](repeating: 0xab, count: 60), originalLength: 1_514)
        file.appendRecord(seconds: 1_700_000_002, fraction: 0, frame: [1, 2, 3])
        return file
    }

    @Test func microsecondFileGivesFramesWithNanosecondTimestamps() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = Self.threeFrames()
        let path = try directory.write(file.bytes, to: "three.pcap")
        let capture = try OfflineCapture(path: path)
        #expect(capture.linkType == .ethernet)
        #expect(capture.snapshotLength == 60)
        #expect(capture.isNanosecondFile == false)
        #expect(capture.fileFormat == .pcap(nanosecond: false))
        #expect(capture.isCompressed == false)
        let outcome = readAll(capture)
        #expect(outcome.damage == nil)
        try #require(outcome.frames.count == 3)
        #expect(outcome.frames.map(\.number) == [1, 2, 3])
        #expect(outcome.frames[0].timestamp == 1_700_000_000_123_456_000)
        #expect(outcome.frames[1].timestamp == 1_700_000_001_999_999_000)
        #expect(outcome.frames[2].timestamp == 1_700_000_002_000_000_000)
        #expect(outcome.frames[0].bytes.count == outcome.frames[0].capturedLength)
        #expect(outcome.frames[0].bytes[12...13] == [0x08, 0x00])
        #expect(outcome.frames[1].capturedLength == 60)
        #expect(outcome.frames[1].originalLength == 1_514)
        #expect(outcome.frames[2].bytes == [1, 2, 3])
        #expect(capture.framesRead == 3)
        // The end is sticky.
        for _ in 0..<3 {
            guard case .end = capture.next() else {
                Issue.record("expected .end after the last frame")
                return
            }
        }
    }

    @Test func snapshotLengthCutIsVisibleOnTheFrame() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(Self.threeFrames().bytes, to: "cut.pcap")
        let capture = try OfflineCapture(path: path)
        _ = capture.next()
        guard case .frame(let frame) = capture.next() else {
            Issue.record("expected a second frame")
            return
        }
        #expect(frame.isTruncatedBySnapshotLength)
        #expect(frame.bytes.count == 60)
    }

    @Test(arguments: [false, true])
    func nanosecondFileKeepsNanoseconds(bigEndian: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(Self.threeFrames(nanosecond: true, bigEndian: bigEndian).bytes, to: "nano.pcap")
        let capture = try OfflineCapture(path: path)
        #expect(capture.isNanosecondFile)
        #expect(capture.fileFormat == .pcap(nanosecond: true))
        let outcome = readAll(capture)
        #expect(outcome.damage == nil)
        #expect(outcome.frames.map(\.timestamp) == [1_700_000_000_123_456_789, 1_700_000_001_999_999_999, 1_700_000_002_000_000_000])
    }

    @Test func bigEndianFileReadsLikeLittleEndian() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let little = try OfflineCapture(path: directory.write(Self.threeFrames().bytes, to: "le.pcap"))
        let big = try OfflineCapture(path: directory.write(Self.threeFrames(bigEndian: true).bytes, to: "be.pcap"))
        #expect(readAll(little).frames == readAll(big).frames)
    }

    @Test func frameNumbersContinueFromTheCallersFirstNumber() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(Self.threeFrames().bytes, to: "second-file.pcap")
        let capture = try OfflineCapture(path: path, firstFrameNumber: 101)
        #expect(readAll(capture).frames.map(\.number) == [101, 102, 103])
        #expect(capture.framesRead == 3)
    }

    @Test func gzipFileReadsTheSameFramesAsThePlainFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plainBytes = Self.threeFrames(nanosecond: true).bytes
        let compressed = try gzipped(plainBytes, in: directory)
        #expect(compressed.prefix(2) == [0x1f, 0x8b])
        let plain = try OfflineCapture(path: directory.write(plainBytes, to: "plain.pcap"))
        // Detected by the magic: a misleading name changes nothing.
        for name in ["compressed.pcap.gz", "compressed-without-suffix.pcap"] {
            let gzip = try OfflineCapture(path: directory.write(compressed, to: name))
            #expect(gzip.isCompressed)
            #expect(gzip.isNanosecondFile)
            #expect(gzip.linkType == plain.linkType)
            #expect(gzip.snapshotLength == plain.snapshotLength)
            let outcome = readAll(gzip)
            #expect(outcome.damage == nil)
            #expect(outcome.frames.count == 3)
            let plainAgain = try OfflineCapture(path: directory.path + "/plain.pcap")
            #expect(outcome.frames == readAll(plainAgain).frames)
        }
        // And a plain file with a .gz name is read as plain.
        let misnamed = try OfflineCapture(path: directory.write(plainBytes, to: "not-really.pcap.gz"))
        #expect(misnamed.isCompressed == false)
        #expect(readAll(misnamed).frames.count == 3)
    }

    @Test func fileCutInsideARecordGivesItsFramesThenDamaged() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = Self.threeFrames()
        // Cut in the middle of the third record's data.
        let cut = Array(file.bytes[..<(file.recordOffsets[2] + 16 + 1)])
        let capture = try OfflineCapture(path: directory.write(cut, to: "cut.pcap"), firstFrameNumber: 10)
        let outcome = readAll(capture)
        #expect(outcome.frames.map(\.number) == [10, 11])
        let damage = try #require(outcome.damage)
        // libpcap 1.10.3's wording after our prefix.
        #expect(damage == "truncated capture file after frame 11: truncated dump file; tried to read 3 captured bytes, only got 1")
        #expect(!damage.contains("\n"))
        // After damaged, only .end.
        guard case .end = capture.next() else {
            Issue.record("expected .end after .damaged")
            return
        }
    }

    /// Drip-fed: every prefix of a valid file opens or fails cleanly, yields exactly the
    /// complete records it holds, and reports damage exactly when it ends inside one.
    @Test func everyPrefixOfAFileFailsCleanly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = Self.threeFrames()
        let recordEnds = file.recordOffsets.dropFirst() + [file.bytes.count]
        for length in 0...file.bytes.count {
            let path = try directory.write(Array(file.bytes[..<length]), to: "prefix-\(length).pcap")
            if length < 24 {
                let error = try #require(openingError(path), "prefix \(length) opened")
                guard case .notACapture = error else {
                    Issue.record("prefix \(length): \(error)")
                    continue
                }
                #expect(!error.description.contains("\n"))
                continue
            }
            let outcome = readAll(try OfflineCapture(path: path))
            let complete = recordEnds.filter { $0 <= length }.count
            #expect(outcome.frames.count == complete, "prefix \(length)")
            let endsOnBoundary = length == 24 || recordEnds.contains(length)
            #expect((outcome.damage == nil) == endsOnBoundary, "prefix \(length): \(outcome.damage ?? "clean end")")
        }
    }

    /// Every prefix of a gzip file: the stream is cut, so reading must stop with
    /// `.damaged` (or refuse to open) and never report a clean end.
    @Test func everyPrefixOfAGzipFileReportsTheCut() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let compressed = try gzipped(Self.threeFrames().bytes, in: directory)
        var framesSeen = Set<Int>()
        for length in 2..<compressed.count {
            let path = try directory.write(Array(compressed[..<length]), to: "prefix-\(length).pcap.gz")
            let capture: OfflineCapture
            do {
                capture = try OfflineCapture(path: path)
            } catch {
                guard case .notACapture = error else {
                    Issue.record("gzip prefix \(length): \(error)")
                    continue
                }
                continue
            }
            let outcome = readAll(capture)
            framesSeen.insert(outcome.frames.count)
            let damage = try #require(outcome.damage, "gzip prefix \(length) ended cleanly with \(outcome.frames.count) frames")
            #expect(damage.contains("truncated"), "\(damage)")
        }
        #expect(framesSeen.contains(2), "no prefix delivered the first complete records before the cut")
    }

    @Test func gzipOfAPipeAndPlainPipeAreRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plainBytes = Self.threeFrames().bytes
        let plainPath = try directory.write(plainBytes, to: "plain.pcap")
        let gzipPath = try directory.write(try gzipped(plainBytes, in: directory), to: "plain.pcap.gz")
        let expected = readAll(try OfflineCapture(path: plainPath)).frames
        for (index, source) in [plainPath, gzipPath].enumerated() {
            let fifo = directory.path + "/fifo-\(index)"
            try run("/usr/bin/mkfifo", [fifo])
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/bin/sh")
            writer.arguments = ["-c", "cat \"$1\" > \"$2\"", "sh", source, fifo]
            try writer.run()
            let capture = try OfflineCapture(path: fifo)
            #expect(capture.isCompressed == (index == 1))
            let outcome = readAll(capture)
            writer.waitUntilExit()
            #expect(outcome.damage == nil)
            #expect(outcome.frames == expected)
        }
    }

    /// "-" reads standard input (here a gzip file put on fd 0 for the duration of the test).
    @Test func dashReadsStandardInput() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plainBytes = Self.threeFrames().bytes
        let gzipPath = try directory.write(try gzipped(plainBytes, in: directory), to: "stdin.pcap.gz")
        let expected = readAll(try OfflineCapture(path: directory.write(plainBytes, to: "stdin.pcap"))).frames
        let savedStandardInput = dup(STDIN_FILENO)
        let file = open(gzipPath, O_RDONLY)
        try #require(savedStandardInput >= 0 && file >= 0)
        dup2(file, STDIN_FILENO)
        close(file)
        defer {
            dup2(savedStandardInput, STDIN_FILENO)
            close(savedStandardInput)
        }
        let capture = try OfflineCapture(path: "-")
        #expect(capture.isCompressed)
        #expect(readAll(capture).frames == expected)
    }

    /// A pcapng cut inside its last block (a temporary copy of a public capture): the
    /// complete blocks' frames, then `.damaged`.
    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
    func pcapngCutInsideABlock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath:
            PublicCaptureTests.directory + "/zeek_pcapng-multi-interface.pcapng")))
        let cut = try directory.write(Array(original.dropLast(10)), to: "cut.pcapng")
        let outcome = readAll(try OfflineCapture(path: cut))
        #expect(outcome.frames.count == 5)  // tshark: 6 frames in the whole file
        let damage = try #require(outcome.damage)
        #expect(damage.hasPrefix("truncated capture file after frame 5: "), "\(damage)")
    }

    /// A pcapng whose second block claims an impossible length: refused when opening if it
    /// is the interface block, reported as damage after the frames read otherwise.
    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
    func pcapngWithACorruptBlockLength() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath:
            PublicCaptureTests.directory + "/zeek_pcapng-multi-interface.pcapng")))
        // Walk the blocks (type, total length: little-endian here) to the third packet block.
        var offset = 0
        var packetBlocks = 0
        while offset + 8 <= bytes.count {
            let type = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
            let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16
                | Int(bytes[offset + 7]) << 24
            if type == 6 {
                packetBlocks += 1
                if packetBlocks == 3 {
                    bytes[offset + 4] = 0xff
                    bytes[offset + 5] = 0xff
                    bytes[offset + 6] = 0xff
                    bytes[offset + 7] = 0x7f
                    break
                }
            }
            guard length >= 12 else { break }
            offset += length
        }
        try #require(packetBlocks == 3)
        let path = try directory.write(bytes, to: "corrupt.pcapng")
        let outcome = readAll(try OfflineCapture(path: path))
        #expect(outcome.frames.count == 2)
        let damage = try #require(outcome.damage)
        #expect(damage.hasPrefix("damaged capture file after frame 2: "), "\(damage)")
        #expect(!damage.contains("\n"))
    }
}
