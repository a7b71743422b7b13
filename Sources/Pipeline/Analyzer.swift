import DNSWire
import PacketDecoding
import Reassembly
import Transactions
import WireCore

/// Settings of one analysis run.
public struct AnalysisOptions: Sendable {
    /// Ports whose UDP/TCP traffic is parsed as DNS.
    public var ports: [UInt16] = [53, 5353, 5355]
    /// A query with no response within this long after its last attempt is unanswered.
    public var timeout: Duration = TransactionEngine.defaultTimeout
    /// Outstanding transactions kept before the oldest is evicted.
    public var maximumPending: Int = TransactionEngine.defaultMaximumPending
    /// Queries past their deadline held for a late answer before the oldest is reported unanswered early.
    public var maximumExpired: Int = TransactionEngine.defaultMaximumExpired

    public init() {}
}

/// What happened to the frames of a run, counted by layer and reason.
public struct PacketStatistics: Sendable, Equatable {
    public var frames = 0
    public var bytes = 0
    /// Frames the capture's snaplen cut short (caplen < original length).
    public var cutFrames = 0
    /// DNS messages analysed (header intact).
    public var dnsMessages = 0
    /// ICMP errors quoting a DNS message.
    public var icmpErrors = 0
    /// IP datagrams rebuilt from fragments.
    public var reassembledDatagrams = 0
    /// Reassembled datagrams that carried no DNS, by reason.
    public var skippedDatagrams = SkipCounters()
    /// Frames that carry no analysable DNS message, by reason (not DNS, or undecodable).
    public var skipped = SkipCounters()
    /// Payloads on a DNS port whose header or question did not parse, by error kind.
    public var malformedDNS: [String: Int] = [:]
    /// Messages that were paired but whose later sections are malformed, by error kind.
    public var malformedDNSBody: [String: Int] = [:]
    public var firstTime: Timestamp?
    public var lastTime: Timestamp?

    public init() {}

    public var malformedDNSTotal: Int { malformedDNS.values.reduce(0, +) }

    /// Adds the counts of another part of the run (another vantage, another shard); the
    /// time range is the caller's to combine. A field added here must be added there too.
    public mutating func add(_ other: PacketStatistics) {
        frames += other.frames
        bytes += other.bytes
        cutFrames += other.cutFrames
        dnsMessages += other.dnsMessages
        icmpErrors += other.icmpErrors
        reassembledDatagrams += other.reassembledDatagrams
        skippedDatagrams += other.skippedDatagrams
        skipped += other.skipped
        malformedDNS.merge(other.malformedDNS, uniquingKeysWith: +)
        malformedDNSBody.merge(other.malformedDNSBody, uniquingKeysWith: +)
    }
}

/// Takes frames from any source through decoding, DNS parsing and the transaction engine,
/// on the calling thread: the frame stage hands every message straight to the message stage.
///
/// One instance per run. `process` is the hot path: it allocates nothing for frames that
/// are not DNS, and for DNS only when a new transaction starts (its name).
public struct Analyzer {
    public let options: AnalysisOptions
    private var frames: FrameStage
    private var messages: MessageStage

    public init(options: AnalysisOptions) {
        self.options = options
        frames = FrameStage(options: options)
        messages = MessageStage(options: options)
    }

    /// What happened to the frames so far, counted by layer and reason.
    public var packets: PacketStatistics {
        var packets = frames.packets
        packets.add(messages.packets)
        return packets
    }

    public var engine: TransactionEngine { messages.engine }
    public var fragments: FragmentReassembler { frames.fragments }
    public var streams: TCPReassembler { frames.streams }

    /// Called with each query the moment its deadline passes unanswered, before it waits for
    /// a late answer (`TransactionEngine.onExpiry`): for a live display.
    public var onExpiry: ((Transaction) -> Void)? {
        get { messages.engine.onExpiry }
        set { messages.engine.onExpiry = newValue }
    }

    /// Analyses one captured frame; closed transactions go to `emit`.
    public mutating func process(
        frame number: Int, time: Timestamp, bytes: UnsafeRawBufferPointer, originalLength: Int,
        linkType: LinkType, emit: (consuming Transaction) -> Void
    ) {
        frames.process(frame: number, time: time, bytes: bytes, originalLength: originalLength, linkType: linkType,
                       into: &messages, emit: emit)
    }

    /// Ends the run: open TCP connections end, incomplete fragment sets are counted, and
    /// outstanding queries become unanswered (capture end).
    public mutating func finish(emit: (consuming Transaction) -> Void) {
        frames.finish(into: &messages, emit: emit)
        messages.engine.finish(emit: emit)
    }

    /// Lets pending queries expire while a live capture is idle (live capture time is the
    /// system clock, so idle time is capture time too).
    public mutating func advanceIdle(to time: Timestamp, emit: (consuming Transaction) -> Void) {
        messages.engine.advance(to: time, emit: emit)
    }
}

extension DNSParseError {
    /// A short stable label for counting: the section and the error's name, no values.
    var kind: String {
        guard let section else { return code.name }
        return "\(section) \(code.name)"
    }
}
