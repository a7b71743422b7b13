import Capture
import PacketDecoding
import Pipeline
import Reports
import Testing
import Transactions
import WireCore

/// Inputs of the FuzzPipeline target on which 2 threads gave other transactions, or another
/// order, than 1 (the target runs every input both ways since issue 13).
@Suite struct ParallelRegressionTests {
    /// The frames of a FuzzPipeline input (layout at the top of Fuzz/Sources/FuzzPipeline/FuzzPipeline.swift).
    struct FuzzFrames {
        var options = AnalysisOptions()
        var frames: [(time: Timestamp, bytes: [UInt8], originalLength: Int, linkType: LinkType)] = []

        init(_ data: [UInt8]) {
            let linkTypes: [LinkType] = [.raw, .ethernet, .linuxSLL2, .null]
            var position = 0
            func byte() -> UInt8 {
                defer { position += 1 }
                return position < data.count ? data[position] : 0
            }
            let flags = byte()
            if flags & 0x80 != 0 { options.maximumPending = Int(flags & 0x0F) + 1 }
            var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
            while position < data.count {
                let header = byte()
                let step = byte()
                let length = Int(byte()) << 8 | Int(byte())
                let available = max(0, min(length, data.count - position))
                let bytes = Array(data[position..<(position + available)])
                position += available
                let delta = step < 128 ? Int64(step) * 1_000_000 : Int64(step - 127) * 1_000_000_000
                time.nanoseconds += header & 0x08 != 0 ? -delta : delta
                let originalLength = bytes.count + (header & 0x04 != 0 ? 1 + Int(step & 0x3F) : 0)
                frames.append((time, bytes, originalLength, linkTypes[Int(header & 0x03)]))
            }
        }

        func lines(threads: Int) -> [String] {
            var lines: [String] = []
            let frames = frames
            _ = analyzeFrames(options: options, threads: threads, read: { body in
                for (index, frame) in frames.enumerated() {
                    frame.bytes.withUnsafeBytes { bytes in
                        body(CapturedFrame(number: index + 1, timestamp: frame.time, capturedLength: bytes.count,
                                           originalLength: frame.originalLength, bytes: bytes, linkType: frame.linkType))
                    }
                }
            }, emit: { lines.append(ndjsonLine($0)) })
            return lines
        }
    }

    static func expectSameWithThreads(_ path: String) throws {
        let input = FuzzFrames(try reproducer(path))
        let single = input.lines(threads: 1)
        #expect(!single.isEmpty)
        for threads in [2, 3] {
            let parallel = input.lines(threads: threads)
            if let index = zip(parallel, single).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                Issue.record("\(threads) threads: transaction \(index + 1) differs:\n  \(parallel[index])\n  \(single[index])")
            }
            #expect(parallel.count == single.count)
        }
    }

    @Test func test_threadsOrderDiffers() throws {
        try Self.expectSameWithThreads("FuzzPipeline/threads-order-differs")
    }

    /// FuzzPipeline (issue 13, 7 minutes in): the capture's clock goes back 87 s, then a
    /// query (frame 38) repeats one 85 s older (frame 10: same client, port, id, bytes and
    /// IP id, another interface). One engine took it for a copy of frame 10 — a record far
    /// outside `copyWindow`, left in the copy table behind a newer one of another client —
    /// and dropped it; with 2 threads that other client was on the other shard, the record
    /// was gone, and frame 38 became a transaction: 33 against 32.
    @Test func test_staleCopyRecordAfterTheClockWentBack() throws {
        try Self.expectSameWithThreads("FuzzPipeline/stale-copy-after-clock-went-back")
    }
}
