import Capture
import FuzzSupport
import PacketDecoding
import Pipeline
import Reassembly
import Reports
import Transactions
import WireCore

/// Link types a frame can be decoded as: the two the brief asks for, plus Linux cooked v2
/// (interface indexes switch on the engine's copy detection) and BSD loopback.
let linkTypes: [LinkType] = [.raw, .ethernet, .linuxSLL2, .null]

/// The whole analysis of a short capture: frames through `Analyzer` (decoding, fragment and
/// TCP reassembly, DNS parsing, the transaction engine), then `finish`.
///
/// Input layout (all optional: missing bytes read as zeros):
///
///     options   1 byte   bit 7: small pending table ((bits 0-3) + 1 transactions)
///     frame*    header   1 byte   bits 0-1 link type, bit 2 cut by snaplen, bit 3 time goes back
///               step     1 byte   0-127: that many ms; 128-255: (step - 127) s
///               length   2 bytes  big-endian, clamped to what is left
///               bytes
///
/// Nothing may trap; buffered bytes stay within the reassemblers' caps; after `finish` no
/// connection, fragment, byte or transaction is left behind; every transaction is coherent.
/// Then the same frames through the parallel pipeline with 2 threads (issue 13): the same
/// transactions in the same order (their NDJSON lines) and the same counts, unless the
/// engine's memory bounds were reached (they are divided among the shards) or the input has
/// multicast name resolution (see ShardRouter).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    var options = AnalysisOptions()
    let flags = input.byte()
    if flags & 0x80 != 0 { options.maximumPending = Int(flags & 0x0F) + 1 }
    var analyzer = Analyzer(options: options)
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    var frame = 0
    var lines: [String] = []
    let emit: (Transaction) -> Void = {
        check($0)
        lines.append(ndjsonLine($0))
    }
    var frames: [(time: Timestamp, bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType)] = []
    while !input.isAtEnd {
        let header = input.byte()
        let step = input.byte()
        let length = Int(input.uint16())
        let bytes = input.take(length)
        let delta = step < 128 ? Int64(step) * 1_000_000 : Int64(step - 127) * 1_000_000_000
        time.nanoseconds += header & 0x08 != 0 ? -delta : delta
        frame += 1
        let linkType = linkTypes[Int(header & 0x03)]
        let originalLength = bytes.count + (header & 0x04 != 0 ? 1 + Int(step & 0x3F) : 0)
        analyzer.process(frame: frame, time: time, bytes: bytes, originalLength: originalLength,
                         linkType: linkType, emit: emit)
        checkBounds(analyzer)
        frames.append((time, bytes, originalLength, linkType))
    }
    analyzer.finish(emit: emit)
    checkBounds(analyzer)
    fuzzExpect(analyzer.streams.statistics.connections == 0, "TCP connections left after finish")
    fuzzExpect(analyzer.streams.statistics.bufferedBytes == 0,
               "TCP bytes left after finish: \(analyzer.streams.statistics.bufferedBytes)")
    fuzzExpect(analyzer.fragments.statistics.datagrams == 0, "fragment datagrams left after finish")
    fuzzExpect(analyzer.fragments.statistics.bufferedBytes == 0,
               "fragment bytes left after finish: \(analyzer.fragments.statistics.bufferedBytes)")
    fuzzExpect(analyzer.engine.pendingCount == 0, "transactions pending after finish")
    fuzzExpect(analyzer.packets.frames == frame, "frames counted \(analyzer.packets.frames) of \(frame)")
    fuzzLog("\(analyzer.packets)\n\(analyzer.engine.statistics)\n\(analyzer.streams.statistics)\n\(analyzer.fragments.statistics)")
    compareWithParallelRun(frames, options: options, lines: lines, packets: analyzer.packets,
                           engine: analyzer.engine.statistics)
    return 0
}

/// The frames again through the parallel pipeline (2 shards): same lines, same counts.
func compareWithParallelRun(
    _ frames: [(time: Timestamp, bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType)],
    options: AnalysisOptions, lines: [String], packets: PacketStatistics, engine: EngineStatistics
) {
    var parallelLines: [String] = []
    let run = analyzeFrames(options: options, threads: 2, read: { body in
        for (index, frame) in frames.enumerated() {
            body(CapturedFrame(number: index + 1, timestamp: frame.time, capturedLength: frame.bytes.count,
                               originalLength: frame.originalLength, bytes: frame.bytes, linkType: frame.linkType))
        }
    }, emit: { parallelLines.append(ndjsonLine($0)) })
    // Left out: runs that reached the engine's memory bounds (divided among the shards) or
    // carried multicast name resolution (what ShardRouter cannot always keep together).
    guard engine.evicted == 0, engine.expiredReleasedEarly == 0, run.engine.evicted == 0,
          run.engine.expiredReleasedEarly == 0, run.parallel?.multicastOperations == 0 else { return }
    if let index = zip(parallelLines, lines).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        fuzzExpect(false, "2 threads: transaction \(index + 1) differs:\n  \(parallelLines[index])\n  \(lines[index])")
    }
    fuzzExpect(parallelLines.count == lines.count, "2 threads: \(parallelLines.count) transactions, 1 thread: \(lines.count)")
    fuzzExpect(run.packets == packets, "2 threads: packets \(run.packets), 1 thread: \(packets)")
    var parallelEngine = run.engine
    parallelEngine.peakPending = engine.peakPending
    parallelEngine.peakExpired = engine.peakExpired
    fuzzExpect(parallelEngine == engine, "2 threads: engine \(run.engine), 1 thread: \(engine)")
}

func checkBounds(_ analyzer: Analyzer) {
    let streams = analyzer.streams
    fuzzExpect(streams.statistics.bufferedBytes >= 0 && streams.statistics.bufferedBytes <= streams.maximumBufferedBytes,
               "TCP buffered bytes \(streams.statistics.bufferedBytes)")
    let fragments = analyzer.fragments
    fuzzExpect(fragments.statistics.bufferedBytes >= 0
                   && fragments.statistics.bufferedBytes <= fragments.maximumBufferedBytes,
               "fragment buffered bytes \(fragments.statistics.bufferedBytes)")
    fuzzExpect(analyzer.engine.pendingCount <= analyzer.options.maximumPending,
               "pending \(analyzer.engine.pendingCount) over \(analyzer.options.maximumPending)")
}

func check(_ transaction: Transaction) {
    fuzzExpect(transaction.attempts.count <= TransactionEngine.maximumAttempts, "attempts \(transaction.attempts.count)")
    if let response = transaction.response, !transaction.attempts.isEmpty {
        fuzzExpect(transaction.attempts.indices.contains(response.attemptIndex),
                   "attempt index \(response.attemptIndex) of \(transaction.attempts.count)")
    }
    _ = transaction.client.description
    _ = transaction.server.description
    _ = transaction.latency
}
