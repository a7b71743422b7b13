import DNSWire
import PacketDecoding
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
}

/// Takes frames from any source through decoding, DNS parsing and the transaction engine.
///
/// One instance per run. `process` is the hot path: it allocates nothing for frames that
/// are not DNS, and for DNS only when a new transaction starts (its name).
public struct Analyzer {
    public let options: AnalysisOptions
    public private(set) var packets = PacketStatistics()
    public private(set) var engine: TransactionEngine
    private let decoder: PacketDecoder
    private var packet = DecodedPacket()

    public init(options: AnalysisOptions) {
        self.options = options
        decoder = PacketDecoder(ports: options.ports)
        engine = TransactionEngine(timeout: options.timeout, maximumPending: options.maximumPending)
    }

    /// Analyses one captured frame; closed transactions go to `emit`.
    public mutating func process(
        frame number: Int, time: Timestamp, bytes: UnsafeRawBufferPointer, originalLength: Int,
        linkType: LinkType, emit: (Transaction) -> Void
    ) {
        packets.frames += 1
        packets.bytes += originalLength
        if packets.firstTime == nil { packets.firstTime = time }
        if let last = packets.lastTime, last > time {} else { packets.lastTime = time }
        let isCut = bytes.count < originalLength
        if isCut { packets.cutFrames += 1 }
        if let reason = decoder.decode(bytes, linkType: linkType, isCut: isCut, into: &packet) {
            packets.skipped.count(reason)
            engine.advance(to: time, emit: emit)
            return
        }
        if packet.transport == .tcp {
            // DNS over TCP needs stream reassembly (RFC 7766 framing): counted, not yet paired.
            packets.skipped.count(.dnsOverTCP)
            engine.advance(to: time, emit: emit)
            return
        }
        let payload = packet.payload
        guard let message = parse(payload, isCut: packet.payloadIsCut) else {
            engine.advance(to: time, emit: emit)
            return
        }
        let observation = MessageObservation(
            frame: number, time: time,
            source: Endpoint(ip: packet.source, port: packet.sourcePort),
            destination: Endpoint(ip: packet.destination, port: packet.destinationPort),
            transport: packet.transport, vlanIDs: packet.vlanIDs, interfaceIndex: packet.interfaceIndex,
            id: message.header.id, isResponse: message.header.isResponse, opcode: message.header.opcode,
            rcode: message.rcode, isTruncated: message.header.isTruncated, question: message.question)
        if let icmpError = packet.icmpError {
            packets.icmpErrors += 1
            engine.observeICMPError(observation, error: icmpError, frame: number, time: time, emit: emit)
            return
        }
        packets.dnsMessages += 1
        engine.observe(observation, qname: {
            guard let questionSummary = message.questionSummary else { return nil }
            return (try? questionSummary.name(in: payload))?.description
        }, emit: emit)
    }

    /// What pairing needs of a DNS message.
    struct ParsedMessage {
        var header: DNSHeader
        var rcode: DNSRCode
        var question: QuestionKey?
        var questionSummary: DNSQuestionSummary?
    }

    /// Parses header and first question, counting what is malformed. A damaged question
    /// with an intact header still yields a message that pairs by 5-tuple and id alone (as
    /// a FORMERR answer without a question does); without a header there is nothing to use.
    private mutating func parse(_ payload: UnsafeRawBufferPointer, isCut: Bool) -> ParsedMessage? {
        do {
            let summary = try DNSMessageSummary(parsing: payload)
            if let bodyError = summary.bodyError {
                packets.malformedDNSBody[isCut ? "cut-by-snaplen" : bodyError.kind, default: 0] += 1
            }
            return ParsedMessage(
                header: summary.header, rcode: summary.rcode,
                question: summary.question.map { QuestionKey(nameHash: $0.nameHash, type: $0.type, qclass: $0.class) },
                questionSummary: summary.question)
        } catch {
            let kind = isCut ? "cut-by-snaplen" : error.kind
            guard let header = try? DNSHeader(parsing: payload) else {
                packets.malformedDNS[kind, default: 0] += 1
                return nil
            }
            packets.malformedDNSBody[kind, default: 0] += 1
            return ParsedMessage(header: header, rcode: header.rcode, question: nil, questionSummary: nil)
        }
    }

    /// Ends the run: outstanding queries become unanswered (capture end).
    public mutating func finish(emit: (Transaction) -> Void) {
        engine.finish(emit: emit)
    }

    /// Lets pending queries expire while a live capture is idle (live capture time is the
    /// system clock, so idle time is capture time too).
    public mutating func advanceIdle(to time: Timestamp, emit: (Transaction) -> Void) {
        engine.advance(to: time, emit: emit)
    }
}

extension DNSParseError {
    /// A short stable label for counting: the section and the error's name, no values.
    var kind: String {
        guard let section else { return code.name }
        return "\(section) \(code.name)"
    }
}
