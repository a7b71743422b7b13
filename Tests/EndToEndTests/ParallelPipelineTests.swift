import Capture
import Pipeline
import Reports
import Testing
import Transactions
import WireCore

/// The parallel pipeline against the single-threaded one on generated traffic that the
/// bundled captures do not have: hundreds of clients, frames out of time order (a deadline
/// already past when it is set fires at the next operation, whichever shard owns it),
/// retries, parallel A/AAAA, late and missing answers, all in the same second.
@Suite struct ParallelPipelineTests {
    /// Raw IPv4 frames of DNS over UDP, from a seeded generator.
    struct Traffic {
        var frames: [(time: Timestamp, bytes: [UInt8])] = []
        private var state: UInt64

        init(seed: UInt64, frames count: Int, clients: Int, backwards: Bool) {
            state = seed
            var time: Int64 = 1_700_000_000_000_000_000
            var outstanding: [(client: UInt32, port: UInt16, id: UInt16, name: Int, type: UInt16)] = []
            while frames.count < count {
                // Steps of 0-40 ms, two thirds of them none (frames of one instant: no clock
                // step for the other shards, so a deadline left overdue by a frame from the past
                // must fire at the next operation by itself); now and then a frame 0-8 s back.
                if next(3) == 0 { time += Int64(next(40)) * 1_000_000 }
                var frameTime = time
                if backwards, next(50) == 0 { frameTime -= Int64(next(8_000)) * 1_000_000 }
                let roll = next(100)
                if roll < 45 || outstanding.isEmpty {
                    let query = (client: UInt32(0x0af4_0000) + UInt32(next(UInt64(clients))),
                                 port: UInt16(30_000 + next(50)), id: UInt16(truncatingIfNeeded: next(65_536)),
                                 name: Int(next(20)), type: UInt16(next(2) == 0 ? 1 : 28))
                    add(frameTime, query.client, query.port, query.id, query.name, query.type, response: false)
                    if next(4) == 0 {
                        // Its AAAA (or A) partner from the same socket at once.
                        add(frameTime, query.client, query.port, query.id &+ 1, query.name, query.type == 1 ? 28 : 1,
                            response: false)
                    }
                    outstanding.append(query)
                } else if roll < 55 {
                    // A retry of an outstanding query, same id, maybe from a new port.
                    let query = outstanding[Int(next(UInt64(outstanding.count)))]
                    add(frameTime, query.client, next(2) == 0 ? query.port : query.port &+ 100, query.id, query.name,
                        query.type, response: false)
                } else if roll < 90 {
                    // An answer; one in twelve truncated (TC), with no TCP retry: held for the
                    // retry until its wait ends, mostly at another shard's frame.
                    let query = outstanding.remove(at: Int(next(UInt64(outstanding.count))))
                    add(frameTime, query.client, query.port, query.id, query.name, query.type, response: true,
                        truncated: roll >= 87)
                } else {
                    // A query that is never answered (or answered much later: it stays listed).
                    if outstanding.count > 2_000 { outstanding.removeFirst() }
                    time += Int64(next(3)) * 1_000_000_000
                }
            }
        }

        private mutating func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % max(1, bound)
        }

        private mutating func add(_ time: Int64, _ client: UInt32, _ port: UInt16, _ id: UInt16, _ name: Int,
                                  _ type: UInt16, response: Bool, truncated: Bool = false) {
            let server: UInt32 = 0x0a60_000a
            let message = Traffic.dns(id: id, name: "name\(name).example.", type: type, response: response,
                                      truncated: truncated)
            let udp = Traffic.udp(source: response ? 53 : port, destination: response ? port : 53, payload: message)
            frames.append((Timestamp(nanoseconds: time),
                           Traffic.ipv4(source: response ? server : client, destination: response ? client : server,
                                        payload: udp)))
        }

        static func dns(id: UInt16, name: String, type: UInt16, response: Bool, truncated: Bool = false) -> [UInt8] {
            // RFC 1035 §4.1.1: QR 0x80, TC 0x02, RD 0x01 of the third byte.
            let flags: UInt8 = (response ? 0x81 : 0x01) | (truncated ? 0x02 : 0)
            var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), flags, response ? 0x80 : 0x00,
                                  0, 1, 0, 0, 0, 0, 0, 0]
            for label in name.split(separator: ".") {
                bytes.append(UInt8(label.utf8.count))
                bytes.append(contentsOf: label.utf8)
            }
            bytes += [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
            return bytes
        }

        static func udp(source: UInt16, destination: UInt16, payload: [UInt8]) -> [UInt8] {
            let length = UInt16(8 + payload.count)
            return [UInt8(source >> 8), UInt8(source & 0xff), UInt8(destination >> 8), UInt8(destination & 0xff),
                    UInt8(length >> 8), UInt8(length & 0xff), 0, 0] + payload
        }

        static func ipv4(source: UInt32, destination: UInt32, payload: [UInt8]) -> [UInt8] {
            let length = UInt16(20 + payload.count)
            func bytes(_ value: UInt32) -> [UInt8] {
                [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
            }
            return [0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 1, 0, 0, 64, 17, 0, 0]
                + bytes(source) + bytes(destination) + payload
        }
    }

    /// Every transaction as its NDJSON line, and the run's counts, with `threads`.
    static func analyse(_ traffic: Traffic, threads: Int, options: AnalysisOptions = AnalysisOptions())
        -> (lines: [String], packets: PacketStatistics, engine: EngineStatistics) {
        var lines: [String] = []
        let frames = traffic.frames
        let run = analyzeFrames(options: options, threads: threads, read: { body in
            for (index, frame) in frames.enumerated() {
                frame.bytes.withUnsafeBytes { bytes in
                    body(CapturedFrame(number: index + 1, timestamp: frame.time, capturedLength: bytes.count,
                                       originalLength: bytes.count, bytes: bytes, linkType: .raw))
                }
            }
        }, emit: { lines.append(ndjsonLine($0)) })
        return (lines, run.packets, run.engine)
    }

    /// Seeds; frames back in time or not; queries held for a late answer or handed over at
    /// their deadline (`maximumExpired` 0: then a deadline that fires at another shard's
    /// operation shows in the order at once).
    @Test(arguments: [(UInt64(1), false, true), (2, true, true), (3, true, true), (4, true, false), (5, true, false)])
    func generatedTrafficGivesTheSameTransactionsInTheSameOrder(seed: UInt64, backwards: Bool, holdsLate: Bool) {
        let traffic = Traffic(seed: seed, frames: 6_000, clients: 300, backwards: backwards)
        var options = AnalysisOptions()
        if !holdsLate { options.maximumExpired = 0 }
        let single = Self.analyse(traffic, threads: 1, options: options)
        #expect(single.engine.unanswered > 10 && single.engine.answered > 100 && single.engine.retries > 10,
                "the traffic exercises timeouts, answers and retries: \(single.engine)")
        #expect(single.lines.filter { $0.contains("\"truncated\":true") }.count > 10,
                "the traffic has truncated answers whose TCP retry never comes")
        for threads in [2, 3, 7] {
            let parallel = Self.analyse(traffic, threads: threads, options: options)
            #expect(parallel.lines.count == single.lines.count)
            if let index = zip(parallel.lines, single.lines).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                Issue.record("seed \(seed), \(threads) threads: transaction \(index + 1) differs:\n  \(parallel.lines[index])\n  \(single.lines[index])")
            }
            #expect(parallel.packets == single.packets)
            var engine = parallel.engine
            engine.peakPending = single.engine.peakPending  // a maximum per shard, not of the whole run
            engine.peakExpired = single.engine.peakExpired
            #expect(engine == single.engine)
        }
    }

    /// 20,000 queries of 500 clients, none answered, then a frame an hour later: they all
    /// expire at that one frame, and the late window of them all ends at another, and the
    /// capture's end closes the rest: rounds that close several chunks' worth at once
    /// (`EngineShard.chunkSize`), merged chunk by chunk.
    @Test func roundsClosingThousandsAtOnceMergeInOrder() {
        var traffic = Traffic(seed: 9, frames: 0, clients: 1, backwards: false)
        let start: Int64 = 1_700_000_000_000_000_000
        for number in 0..<20_000 {
            let client = UInt32(0x0af4_0000) + UInt32(number % 500)
            let query = Traffic.dns(id: UInt16(number % 65_536), name: "n\(number % 97).example.", type: 1, response: false)
            traffic.frames.append((Timestamp(nanoseconds: start + Int64(number) * 10_000),
                                   Traffic.ipv4(source: client, destination: 0x0a60_000a,
                                                payload: Traffic.udp(source: 40_000, destination: 53, payload: query))))
        }
        for (offset, seconds) in [(0, 3_600), (1, 3_700), (2, 3_700)] {
            let query = Traffic.dns(id: UInt16(offset), name: "late.example.", type: 1, response: false)
            traffic.frames.append((Timestamp(nanoseconds: start + Int64(seconds) * 1_000_000_000 + Int64(offset)),
                                   Traffic.ipv4(source: 0x0af4_ffff, destination: 0x0a60_000a,
                                                payload: Traffic.udp(source: 40_001, destination: 53, payload: query))))
        }
        let single = Self.analyse(traffic, threads: 1)
        #expect(single.engine.unanswered + single.engine.inFlight == 20_003)
        for threads in [2, 3] {
            let parallel = Self.analyse(traffic, threads: threads)
            #expect(parallel.lines == single.lines, "\(threads) threads")
        }
    }

    @Test func noFramesGiveAnEmptyRun() {
        let run = analyzeFrames(options: AnalysisOptions(), threads: 4, read: { _ in }, emit: { _ in
            Issue.record("a transaction from no frames")
        })
        #expect(run.packets.frames == 0 && run.engine.queries == 0)
    }
}
