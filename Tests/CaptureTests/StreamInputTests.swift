import Capture
import Foundation
import Glibc
import Testing
import WireCore

/// Inputs that can be read only once (pipes, FIFOs, `/dev/fd/N`), through real file
/// descriptors: one open, the first record peeked and kept, every frame delivered once.
@Suite("Offline capture from pipes and FIFOs")
struct StreamInputTests {
    static func pcapngWithNames() -> PcapngFileBuilder {
        var file = PcapngFileBuilder(sectionComment: "recorded by a test\ndnstrail-interfaces: 2=eth0 6=veth1abc")
        file.appendInterface(linkType: 276, name: "any")
        for index in 0..<200 {
            file.appendPacket(microseconds: 1_700_000_000_000_000 + UInt64(index) * 1_000,
                              frame: [UInt8](repeating: UInt8(index & 0xff), count: 40 + index))
        }
        return file
    }

    @Test func pipeGivesTheSameFramesAsTheFileAndIsNotReopenable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var file = PcapFileBuilder()
        for index in 0..<3_000 {  // About 400 KB: more than a pipe's buffer.
            file.appendRecord(seconds: 1_700_000_000 + UInt32(index), fraction: 5, frame: [UInt8](repeating: 7, count: 120))
        }
        let regular = try OfflineCapture(path: directory.write(file.bytes, to: "plain.pcap"))
        #expect(regular.isReopenable)
        let expected = readAll(regular).frames
        let pipe = try FilledPipe(file.bytes)
        defer { pipe.close() }
        let stream = try OfflineCapture(path: pipe.path)
        #expect(!stream.isReopenable)
        let outcome = readAll(stream)
        #expect(outcome.damage == nil)
        #expect(outcome.frames == expected)
        #expect(outcome.frames.count == 3_000)
    }

    /// The peeked first record is the first frame `next()` returns, numbered from the
    /// number set after the peek.
    @Test func peekedFirstRecordIsReturnedOnceWithTheLaterFrameNumber() throws {
        let file = OfflineCaptureTests.threeFrames(nanosecond: true)
        let pipe = try FilledPipe(file.bytes)
        defer { pipe.close() }
        let stream = try OfflineCapture(path: pipe.path)
        #expect(stream.peekFirstTimestamp() == Timestamp(nanoseconds: 1_700_000_000_123_456_789))
        #expect(stream.peekFirstTimestamp() == Timestamp(nanoseconds: 1_700_000_000_123_456_789))
        stream.firstFrameNumber = 41
        let outcome = readAll(stream)
        #expect(outcome.damage == nil)
        #expect(outcome.frames.map(\.number) == [41, 42, 43])
        #expect(outcome.frames.map(\.timestamp) == [1_700_000_000_123_456_789, 1_700_000_001_999_999_999, 1_700_000_002_000_000_000])
        #expect(stream.peekFirstTimestamp() == nil)
    }

    @Test func gzipStreamThroughAFIFOGivesTheSameFrames() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plain = Self.pcapngWithNames().bytes
        let expected = readAll(try OfflineCapture(path: directory.write(plain, to: "plain.pcapng"))).frames
        let fifo = directory.path + "/capture.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let compressed = try gzipped(plain, in: directory)
        let writer = Thread {
            let descriptor = open(fifo, O_WRONLY)  // Blocks until the capture opens the FIFO.
            _ = compressed.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        writer.start()
        let stream = try OfflineCapture(path: fifo)
        #expect(stream.isCompressed)
        #expect(!stream.isReopenable)
        #expect(stream.fileFormat == .pcapng)
        let outcome = readAll(stream)
        #expect(outcome.damage == nil)
        #expect(outcome.frames == expected)
        #expect(stream.interfaceNames == [2: "eth0", 6: "veth1abc"])
    }

    @Test func emptyPipeIsNotACapture() throws {
        let pipe = try FilledPipe([])
        defer { pipe.close() }
        let error = openingError(pipe.path)
        #expect(error == .notACapture(path: pipe.path, reason: "not a pcap or pcapng file (the file is empty)"))
    }
}
