import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// How findings quote transactions: examples, frames, lists and durations in their words.
extension Diagnoser {
    static func example(_ transaction: Transaction) -> EvidenceExample {
        ExampleSource(transaction).example(frames: frames(of: transaction))
    }

    /// Every frame of `transaction`: its attempts, the response, the TCP fallback and the ICMP error.
    public static func frames(of transaction: Transaction) -> [Int] {
        var frames = transaction.attempts.map(\.frame)
        if let response = transaction.response { frames.append(response.frame) }
        if let fallback = transaction.fallback {
            frames += fallback.frames
            if let response = fallback.responseFrame { frames.append(response) }
            if let reset = fallback.resetFrame { frames.append(reset) }
        }
        if let rejection = transaction.rejection { frames.append(rejection.frame) }
        // Seen at several vantages (`--vantage`): the other vantages' copies are evidence too
        // (the answers leaving the server's node of a lookup lost on the way back).
        for sighting in transaction.vantagePath?.sightings.dropFirst() ?? [] { frames += sighting.frames }
        return frames
    }

    /// Keeps the first `maximumExamples` examples; `example` is built only if kept.
    static func appendExample(_ example: @autoclosure () -> EvidenceExample, to list: inout [EvidenceExample]) {
        if list.count < maximumExamples { list.append(example()) }
    }

    /// Keeps the first `maximumFramesPerSource` frames; `frames` is built only if there is room.
    static func appendFrames(_ frames: @autoclosure () -> [Int], to list: inout [Int]) {
        let room = Diagnoser.maximumFramesPerSource - list.count
        if room > 0 { list += frames().prefix(room) }
    }

    static func appendFrames(_ frames: @autoclosure () -> [Int], to list: inout FrameList) {
        let room = Diagnoser.maximumFramesPerSource - list.count
        if room > 0 { list.append(contentsOf: frames().prefix(room)) }
    }

    /// Names listed in a title or sentence: the first `limit`, then how many more (the
    /// finding's evidence lists them all).
    static func listed(_ names: [String], limit: Int = 10) -> String {
        guard names.count > limit else { return names.joined(separator: ", ") }
        return names.prefix(limit).joined(separator: ", ") + " and \(names.count - limit) more"
    }

    static func seconds(_ duration: Duration) -> String {
        let tenths = duration.nanoseconds.saturatingAdd(50_000_000) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// What an `EvidenceExample` is made of, without its text: addresses, not their rendering.
/// For examples kept by the thousand that only a few findings will quote (a third the
/// memory of the rendered example); `example(frames:)` renders it as `Diagnoser.example`.
struct ExampleSource {
    var client: Endpoint
    var server: Endpoint
    var transport: Transport
    var qname: String?
    var qtype: DNSType?
    var outcome: Outcome
    /// TCP fallback, ICMP error, DNAT (rare: nil for most).
    var note: String?

    init(_ transaction: Transaction) {
        client = transaction.client
        server = transaction.server
        transport = transaction.transport
        qname = transaction.qname
        qtype = transaction.question?.type
        outcome = transaction.outcome
        var note: String?
        if let fallback = transaction.fallback { note = "TCP fallback \(fallback.outcome.rawValue)" }
        if let rejection = transaction.rejection { note = "ICMP \(rejection.error.reason) from \(rejection.error.sender)" }
        if let backend = transaction.backend { note = (note.map { $0 + "; " } ?? "") + "DNAT to \(backend)" }
        self.note = note
    }

    func example(frames: [Int]) -> EvidenceExample {
        EvidenceExample(
            client: client.description, server: server.description, transport: transport.description, qname: qname,
            qtype: qtype?.description, outcome: outcome.rawValue, frames: frames, note: note)
    }
}
