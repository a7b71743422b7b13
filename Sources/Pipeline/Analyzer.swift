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

/// Takes frames from any source through decoding, DNS parsing and the transaction engine.
///
/// One instance per run. `process` is the hot path: it allocates nothing for frames that
/// are not DNS, and for DNS only when a new transaction starts (its name).
public struct Analyzer {
    public let options: AnalysisOptions
    public private(set) var packets = PacketStatistics()
    public private(set) var engine: TransactionEngine
    public private(set) var fragments = FragmentReassembler()
    public private(set) var streams = TCPReassembler()
    private let decoder: PacketDecoder
    private var packet = DecodedPacket()
    /// Reused buffer for the events one TCP segment produces (no allocation per segment).
    private var tcpEvents: [TCPEvent] = []
    /// Capture time of the last reassembly expiry sweep (run at most once a second).
    private var lastSweep = Timestamp(nanoseconds: .min)
    /// Question names rendered once per distinct name.
    private let questionNames = QuestionNames()
    /// The last TCP segments with payload of captures with interface indexes (at most
    /// `recentTCPSegmentCapacity`), to recognise a copy of one on another interface.
    private var recentTCPSegments: [RecentTCPSegment] = []
    private var recentTCPSegmentNext = 0
    static let recentTCPSegmentCapacity = 64

    public init(options: AnalysisOptions) {
        self.options = options
        decoder = PacketDecoder(ports: options.ports)
        engine = TransactionEngine(timeout: options.timeout, maximumPending: options.maximumPending,
                                   maximumExpired: options.maximumExpired)
    }

    /// Called with each query the moment its deadline passes unanswered, before it waits for
    /// a late answer (`TransactionEngine.onExpiry`): for a live display.
    public var onExpiry: ((Transaction) -> Void)? {
        get { engine.onExpiry }
        set { engine.onExpiry = newValue }
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
        // `time >= lastSweep + 1 s`, not `time - lastSweep >= 1 s`: from `.min` the
        // difference wrapped negative and the sweep never ran (FuzzRegressionTests). The sum
        // saturates: near the clock's end it neither wraps nor sweeps on every frame.
        if time.nanoseconds >= lastSweep.nanoseconds.saturatingAdd(1_000_000_000) || time < lastSweep { sweep(now: time, emit: emit) }
        let isCut = bytes.count < originalLength
        if isCut { packets.cutFrames += 1 }
        switch decoder.decode(bytes, linkType: linkType, isCut: isCut, into: &packet) {
        case nil:
            handleDecoded(frame: number, time: time, emit: emit)
        case .ipFragment?:
            handleFragment(frame: number, time: time, emit: emit)
        case let reason?:
            packets.skipped.count(reason)
            engine.advance(to: time, emit: emit)
        }
    }

    /// A frame decoded to a UDP or TCP payload on a DNS port, or to an ICMP error quoting one.
    private mutating func handleDecoded(frame number: Int, time: Timestamp, emit: (Transaction) -> Void) {
        if packet.transport == .tcp && packet.icmpError == nil {
            handleSegment(frame: number, time: time, emit: emit)
            return
        }
        handleMessage(packet.payload, isCut: packet.payloadIsCut, frame: number, time: time,
                      source: Endpoint(ip: packet.source, port: packet.sourcePort),
                      destination: Endpoint(ip: packet.destination, port: packet.destinationPort),
                      transport: packet.transport, emit: emit)
    }

    /// RFC 791 §3.2 / RFC 8200 §4.5: fragments are held until the datagram is complete;
    /// the frame that completes it carries the message (as tshark numbers it).
    private mutating func handleFragment(frame number: Int, time: Timestamp, emit: (Transaction) -> Void) {
        engine.advance(to: time, emit: emit)
        let fragment = packet.fragment
        if packet.payloadIsCut {
            packets.skipped.count(.snaplenCut)
            return
        }
        let key = FragmentKey(source: packet.source, destination: packet.destination,
                              identification: fragment.identification, protocolNumber: fragment.protocolNumber,
                              isIPv6: fragment.isIPv6)
        let result = fragments.add(key: key, offset: fragment.offset, moreFragments: fragment.moreFragments,
                                   payload: fragment.data, frame: number, time: time)
        guard case .complete(let datagram) = result else { return }
        packets.reassembledDatagrams += 1
        datagram.payload.withUnsafeBytes { bytes in
            let source = packet.source
            let destination = packet.destination
            if let reason = decoder.decodeReassembled(bytes, protocolNumber: fragment.protocolNumber,
                                                      isIPv6: fragment.isIPv6, into: &packet) {
                packets.skippedDatagrams.count(reason)
                return
            }
            packet.source = source
            packet.destination = destination
            handleDecoded(frame: number, time: time, emit: emit)
        }
    }

    /// RFC 7766 §8: DNS over TCP, reassembled per connection; each complete message is
    /// paired like a UDP one, and connections that fail before any message are reported.
    private mutating func handleSegment(frame number: Int, time: Timestamp, emit: (Transaction) -> Void) {
        let sourceIsServer = decoder.isDNSPort(packet.sourcePort)
        let destinationIsServer = decoder.isDNSPort(packet.destinationPort)
        // The client is the side not on a DNS port; between two DNS ports, the SYN's sender
        // (or, mid-stream, the lower address) is taken as the client.
        let fromClient: Bool
        if destinationIsServer != sourceIsServer {
            fromClient = destinationIsServer
        } else if packet.tcpFlags.contains(.syn) {
            fromClient = !packet.tcpFlags.contains(.ack)
        } else {
            fromClient = (packet.source, packet.sourcePort) > (packet.destination, packet.destinationPort)
        }
        let key = fromClient
            ? TCPConnectionKey(client: packet.source, clientPort: packet.sourcePort,
                               server: packet.destination, serverPort: packet.destinationPort)
            : TCPConnectionKey(client: packet.destination, clientPort: packet.destinationPort,
                               server: packet.source, serverPort: packet.sourcePort)
        let segment = TCPSegment(key: key, fromClient: fromClient, sequence: packet.tcpSequence,
                                 acknowledgement: packet.tcpAcknowledgement, flags: packet.tcpFlags,
                                 payload: packet.payloadIsCut ? UnsafeRawBufferPointer(start: nil, count: 0) : packet.payload,
                                 frame: number, time: time)
        if packet.payloadIsCut { packets.skipped.count(.snaplenCut) }
        if packet.interfaceIndex >= 0, !packet.payloadIsCut, !packet.payload.isEmpty {
            feedIfCopyOnAnotherInterface(segment, emit: emit)
        }
        var events = tcpEvents
        events.removeAll(keepingCapacity: true)
        streams.add(segment) { events.append($0) }
        handle(events, emit: emit)
        tcpEvents = events
        engine.advance(to: time, emit: emit)
    }

    /// `-i any` sees one TCP segment on the pod's veth, the bridge, the uplink. Before DNAT
    /// the copies share the 5-tuple, so the stream reassembler drops all but the first as
    /// retransmissions and their interfaces never reached `seen_on`. A segment equal in
    /// connection, direction, sequence and length to one seen on another interface within
    /// the engine's copy window has its whole DNS messages fed to the engine, which
    /// records the copy's interface (and counts it) as it does for UDP.
    private mutating func feedIfCopyOnAnotherInterface(_ segment: TCPSegment, emit: (Transaction) -> Void) {
        let seen = RecentTCPSegment(key: segment.key, fromClient: segment.fromClient, sequence: segment.sequence,
                                    length: segment.payload.count, interfaceIndex: packet.interfaceIndex, time: segment.time)
        let isCopy = recentTCPSegments.contains {
            $0.key == seen.key && $0.fromClient == seen.fromClient && $0.sequence == seen.sequence && $0.length == seen.length
                && $0.interfaceIndex != seen.interfaceIndex && seen.time - $0.time <= TransactionEngine.copyWindow
                && $0.time <= seen.time
        }
        if recentTCPSegments.count < Analyzer.recentTCPSegmentCapacity {
            recentTCPSegments.append(seen)
        } else {
            recentTCPSegments[recentTCPSegmentNext] = seen
            recentTCPSegmentNext = (recentTCPSegmentNext + 1) % Analyzer.recentTCPSegmentCapacity
        }
        guard isCopy else { return }
        let client = Endpoint(ip: segment.key.client, port: segment.key.clientPort)
        let server = Endpoint(ip: segment.key.server, port: segment.key.serverPort)
        let payload = segment.payload
        var offset = 0
        // RFC 7766 §8: each message behind its two-byte length; a message continuing in a
        // later segment is left to the reassembler's copy.
        while offset + 2 <= payload.count {
            let length = Int(payload[offset]) << 8 | Int(payload[offset + 1])
            guard length > 0, length <= payload.count - offset - 2 else { break }
            let message = UnsafeRawBufferPointer(rebasing: payload[(offset + 2)..<(offset + 2 + length)])
            handleMessage(message, isCut: false, frame: segment.frame, time: segment.time,
                          source: segment.fromClient ? client : server, destination: segment.fromClient ? server : client,
                          transport: .tcp, emit: emit)
            offset += 2 + length
        }
    }

    private mutating func handle(_ events: [TCPEvent], emit: (Transaction) -> Void) {
        for event in events {
            switch event {
            case .message(let key, let fromClient, let bytes, let frame, _, let time):
                let client = Endpoint(ip: key.client, port: key.clientPort)
                let server = Endpoint(ip: key.server, port: key.serverPort)
                bytes.withUnsafeBytes { message in
                    handleMessage(message, isCut: false, frame: frame, time: time,
                                  source: fromClient ? client : server, destination: fromClient ? server : client,
                                  transport: .tcp, emit: emit)
                }
            case .connectionEnded(let summary):
                engine.observeConnectionEnd(TCPConnectionReport(
                    client: Endpoint(ip: summary.key.client, port: summary.key.clientPort),
                    server: Endpoint(ip: summary.key.server, port: summary.key.serverPort),
                    synFrame: summary.synFrame, synTime: summary.synTime ?? summary.firstTime,
                    synCount: summary.synCount, synAcknowledged: summary.synAckFrame != nil,
                    resetByServer: summary.resetBy == .server, resetFrame: summary.resetFrame,
                    clientMessages: summary.clientMessages, lastTime: summary.lastTime), emit: emit)
            }
        }
    }

    /// Expires reassembly state on the capture clock.
    private mutating func sweep(now: Timestamp, emit: (Transaction) -> Void) {
        lastSweep = now
        fragments.expire(now: now)
        var events = tcpEvents
        events.removeAll(keepingCapacity: true)
        streams.expire(now: now) { events.append($0) }
        handle(events, emit: emit)
        tcpEvents = events
    }

    /// Parses one DNS message and feeds it (or the ICMP error quoting it) to the engine.
    private mutating func handleMessage(
        _ payload: UnsafeRawBufferPointer, isCut: Bool, frame number: Int, time: Timestamp,
        source: Endpoint, destination: Endpoint, transport: Transport, emit: (Transaction) -> Void
    ) {
        guard let message = parse(payload, isCut: isCut) else {
            engine.advance(to: time, emit: emit)
            return
        }
        let observation = MessageObservation(
            frame: number, time: time, source: source, destination: destination,
            transport: transport, vlanIDs: packet.vlanIDs, interfaceIndex: packet.interfaceIndex,
            underlay: packet.underlay,
            ipIdentification: transport == .udp ? packet.ipIdentification : nil,
            messageHash: packet.interfaceIndex >= 0 ? Analyzer.hash(payload) : 0, id: message.header.id, isResponse: message.header.isResponse, opcode: message.header.opcode,
            rcode: message.rcode, isTruncated: message.header.isTruncated, question: message.question)
        if let icmpError = packet.icmpError {
            packets.icmpErrors += 1
            engine.observeICMPError(observation, error: icmpError, frame: number, time: time, emit: emit)
            return
        }
        packets.dnsMessages += 1
        engine.observe(observation, qname: {
            guard let questionSummary = message.questionSummary else { return nil }
            return questionNames.text(of: questionSummary, in: payload)
        }, emit: emit)
    }

    /// FNV-1a 64 over the message bytes: equal for copies of one message (NAT rewrites
    /// headers, never the DNS payload). Computed only for captures with interface indexes.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return value
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

    /// Ends the run: open TCP connections end, incomplete fragment sets are counted, and
    /// outstanding queries become unanswered (capture end).
    public mutating func finish(emit: (Transaction) -> Void) {
        var events = tcpEvents
        events.removeAll(keepingCapacity: true)
        streams.finish { events.append($0) }
        handle(events, emit: emit)
        fragments.finish()
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

/// A TCP segment with payload as `Analyzer` remembers it to recognise copies on other interfaces.
struct RecentTCPSegment {
    var key: TCPConnectionKey
    var fromClient: Bool
    var sequence: UInt32
    var length: Int
    var interfaceIndex: Int32
    var time: Timestamp
}
