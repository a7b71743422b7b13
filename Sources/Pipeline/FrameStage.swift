import PacketDecoding
import Reassembly
import Transactions
import WireCore

/// What the frame stage hands on for each DNS message besides its bytes and endpoints: the
/// fields of the packet that carried it.
public struct MessageContext: Sendable {
    public var vlanIDs: VLANIDs
    public var interfaceIndex: Int32
    public var underlay: Underlay?
    /// IPv4 identification (UDP only; nil for IPv6 and TCP).
    public var ipIdentification: UInt32?
    /// Set when the message is quoted by an ICMP error (then the message is the quoted one).
    public var icmpError: ICMPError?
}

/// Takes what the frame stage finds, in capture order: DNS messages (or ICMP errors quoting
/// one), ended TCP connections, and the capture clock. `MessageStage` analyses them; a
/// parallel run's router hands them to the message stages of its shards.
public protocol MessageSink {
    mutating func message(
        _ payload: UnsafeRawBufferPointer, isCut: Bool, frame: Int, time: Timestamp, source: Endpoint,
        destination: Endpoint, transport: Transport, context: MessageContext, emit: (consuming Transaction) -> Void)
    mutating func connectionEnded(_ connection: TCPConnectionReport, emit: (consuming Transaction) -> Void)
    /// The capture clock reached `time` (a frame that carries no DNS message for the sink).
    mutating func advance(to time: Timestamp, emit: (consuming Transaction) -> Void)
}

/// The first half of the analysis, one per run and never split: link, IP and transport
/// decoding, fragment reassembly, DNS-over-TCP stream reassembly. Every frame ends up as
/// calls to a `MessageSink`, in capture order.
///
/// Allocates nothing for frames that are not DNS.
public struct FrameStage {
    /// The counts of decoding (frames, bytes, skipped by reason, reassembled datagrams); the
    /// message stage counts DNS messages and malformed ones.
    public private(set) var packets = PacketStatistics()
    public private(set) var fragments = FragmentReassembler()
    public private(set) var streams = TCPReassembler()
    private let decoder: PacketDecoder
    private var packet = DecodedPacket()
    /// Reused buffer for the events one TCP segment produces (no allocation per segment).
    private var tcpEvents: [TCPEvent] = []
    /// Capture time of the last reassembly expiry sweep (run at most once a second).
    private var lastSweep = Timestamp(nanoseconds: .min)
    /// The last TCP segments with payload of captures with interface indexes (at most
    /// `recentTCPSegmentCapacity`), to recognise a copy of one on another interface.
    private var recentTCPSegments: [RecentTCPSegment] = []
    private var recentTCPSegmentNext = 0
    static let recentTCPSegmentCapacity = 64

    public init(options: AnalysisOptions) {
        decoder = PacketDecoder(ports: options.ports)
    }

    /// Decodes one captured frame and hands what it carries to `sink`.
    public mutating func process<Sink: MessageSink>(
        frame number: Int, time: Timestamp, bytes: UnsafeRawBufferPointer, originalLength: Int,
        linkType: LinkType, into sink: inout Sink, emit: (consuming Transaction) -> Void
    ) {
        packets.frames += 1
        packets.bytes += originalLength
        if packets.firstTime == nil { packets.firstTime = time }
        if let last = packets.lastTime, last > time {} else { packets.lastTime = time }
        // `time >= lastSweep + 1 s`, not `time - lastSweep >= 1 s`: from `.min` the
        // difference wrapped negative and the sweep never ran (FuzzRegressionTests). The sum
        // saturates: near the clock's end it neither wraps nor sweeps on every frame.
        if time.nanoseconds >= lastSweep.nanoseconds.saturatingAdd(1_000_000_000) || time < lastSweep {
            sweep(now: time, into: &sink, emit: emit)
        }
        let isCut = bytes.count < originalLength
        if isCut { packets.cutFrames += 1 }
        switch decoder.decode(bytes, linkType: linkType, isCut: isCut, into: &packet) {
        case nil:
            handleDecoded(frame: number, time: time, into: &sink, emit: emit)
        case .ipFragment?:
            handleFragment(frame: number, time: time, into: &sink, emit: emit)
        case let reason?:
            packets.skipped.count(reason)
            sink.advance(to: time, emit: emit)
        }
    }

    /// A frame decoded to a UDP or TCP payload on a DNS port, or to an ICMP error quoting one.
    private mutating func handleDecoded<Sink: MessageSink>(
        frame number: Int, time: Timestamp, into sink: inout Sink, emit: (consuming Transaction) -> Void
    ) {
        if packet.transport == .tcp && packet.icmpError == nil {
            handleSegment(frame: number, time: time, into: &sink, emit: emit)
            return
        }
        sink.message(packet.payload, isCut: packet.payloadIsCut, frame: number, time: time,
                     source: Endpoint(ip: packet.source, port: packet.sourcePort),
                     destination: Endpoint(ip: packet.destination, port: packet.destinationPort),
                     transport: packet.transport, context: context(for: packet.transport), emit: emit)
    }

    /// The packet fields a message carries along (the packet just decoded).
    private func context(for transport: Transport) -> MessageContext {
        MessageContext(vlanIDs: packet.vlanIDs, interfaceIndex: packet.interfaceIndex, underlay: packet.underlay,
                       ipIdentification: transport == .udp ? packet.ipIdentification : nil,
                       icmpError: packet.icmpError)
    }

    /// RFC 791 §3.2 / RFC 8200 §4.5: fragments are held until the datagram is complete;
    /// the frame that completes it carries the message (as tshark numbers it).
    private mutating func handleFragment<Sink: MessageSink>(
        frame number: Int, time: Timestamp, into sink: inout Sink, emit: (consuming Transaction) -> Void
    ) {
        sink.advance(to: time, emit: emit)
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
            handleDecoded(frame: number, time: time, into: &sink, emit: emit)
        }
    }

    /// RFC 7766 §8: DNS over TCP, reassembled per connection; each complete message is
    /// paired like a UDP one, and connections that fail before any message are reported.
    private mutating func handleSegment<Sink: MessageSink>(
        frame number: Int, time: Timestamp, into sink: inout Sink, emit: (consuming Transaction) -> Void
    ) {
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
            feedIfCopyOnAnotherInterface(segment, into: &sink, emit: emit)
        }
        var events = tcpEvents
        events.removeAll(keepingCapacity: true)
        streams.add(segment) { events.append($0) }
        handle(events, into: &sink, emit: emit)
        tcpEvents = events
        sink.advance(to: time, emit: emit)
    }

    /// `-i any` sees one TCP segment on the pod's veth, the bridge, the uplink. Before DNAT
    /// the copies share the 5-tuple, so the stream reassembler drops all but the first as
    /// retransmissions and their interfaces never reached `seen_on`. A segment equal in
    /// connection, direction, sequence and length to one seen on another interface within
    /// the engine's copy window has its whole DNS messages fed to the engine, which
    /// records the copy's interface (and counts it) as it does for UDP.
    private mutating func feedIfCopyOnAnotherInterface<Sink: MessageSink>(
        _ segment: TCPSegment, into sink: inout Sink, emit: (consuming Transaction) -> Void
    ) {
        let seen = RecentTCPSegment(key: segment.key, fromClient: segment.fromClient, sequence: segment.sequence,
                                    length: segment.payload.count, interfaceIndex: packet.interfaceIndex, time: segment.time)
        let isCopy = recentTCPSegments.contains {
            $0.key == seen.key && $0.fromClient == seen.fromClient && $0.sequence == seen.sequence && $0.length == seen.length
                && $0.interfaceIndex != seen.interfaceIndex && seen.time - $0.time <= TransactionEngine.copyWindow
                && $0.time <= seen.time
        }
        if recentTCPSegments.count < FrameStage.recentTCPSegmentCapacity {
            recentTCPSegments.append(seen)
        } else {
            recentTCPSegments[recentTCPSegmentNext] = seen
            recentTCPSegmentNext = (recentTCPSegmentNext + 1) % FrameStage.recentTCPSegmentCapacity
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
            sink.message(message, isCut: false, frame: segment.frame, time: segment.time,
                         source: segment.fromClient ? client : server, destination: segment.fromClient ? server : client,
                         transport: .tcp, context: context(for: .tcp), emit: emit)
            offset += 2 + length
        }
    }

    private mutating func handle<Sink: MessageSink>(_ events: [TCPEvent], into sink: inout Sink, emit: (consuming Transaction) -> Void) {
        for event in events {
            switch event {
            case .message(let key, let fromClient, let bytes, let frame, _, let time):
                let client = Endpoint(ip: key.client, port: key.clientPort)
                let server = Endpoint(ip: key.server, port: key.serverPort)
                let context = context(for: .tcp)
                bytes.withUnsafeBytes { message in
                    sink.message(message, isCut: false, frame: frame, time: time,
                                 source: fromClient ? client : server, destination: fromClient ? server : client,
                                 transport: .tcp, context: context, emit: emit)
                }
            case .connectionEnded(let summary):
                sink.connectionEnded(TCPConnectionReport(
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
    private mutating func sweep<Sink: MessageSink>(now: Timestamp, into sink: inout Sink, emit: (consuming Transaction) -> Void) {
        lastSweep = now
        fragments.expire(now: now)
        var events = tcpEvents
        events.removeAll(keepingCapacity: true)
        streams.expire(now: now) { events.append($0) }
        handle(events, into: &sink, emit: emit)
        tcpEvents = events
    }

    /// Ends the run's reassembly: open TCP connections end, incomplete fragment sets are counted.
    public mutating func finish<Sink: MessageSink>(into sink: inout Sink, emit: (consuming Transaction) -> Void) {
        var events = tcpEvents
        events.removeAll(keepingCapacity: true)
        streams.finish { events.append($0) }
        handle(events, into: &sink, emit: emit)
        fragments.finish()
    }
}

/// A TCP segment with payload as `FrameStage` remembers it to recognise copies on other interfaces.
struct RecentTCPSegment {
    var key: TCPConnectionKey
    var fromClient: Bool
    var sequence: UInt32
    var length: Int
    var interfaceIndex: Int32
    var time: Timestamp
}
