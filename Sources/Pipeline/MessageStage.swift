import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// The second half of the analysis: parses each DNS message's header and question, counts
/// what is malformed, and feeds the transaction engine. One per run, or one per shard of a
/// parallel run (each with its own engine and name cache).
public struct MessageStage: MessageSink {
    /// DNS messages, ICMP errors and malformed payloads counted here (the frame stage counts the rest).
    public private(set) var packets = PacketStatistics()
    public var engine: TransactionEngine
    /// Question names rendered once per distinct name.
    private let questionNames = QuestionNames()

    public init(options: AnalysisOptions) {
        engine = TransactionEngine(timeout: options.timeout, maximumPending: options.maximumPending,
                                   maximumExpired: options.maximumExpired)
    }

    /// Parses one DNS message and feeds it (or the ICMP error quoting it) to the engine.
    public mutating func message(
        _ payload: UnsafeRawBufferPointer, isCut: Bool, frame number: Int, time: Timestamp, source: Endpoint,
        destination: Endpoint, transport: Transport, context: MessageContext, emit: (consuming Transaction) -> Void
    ) {
        guard let message = parse(payload, isCut: isCut) else {
            engine.advance(to: time, emit: emit)
            return
        }
        let observation = MessageObservation(
            frame: number, time: time, source: source, destination: destination,
            transport: transport, vlanIDs: context.vlanIDs, interfaceIndex: context.interfaceIndex,
            underlay: context.underlay, ipIdentification: context.ipIdentification,
            messageHash: context.interfaceIndex >= 0 ? MessageStage.hash(payload) : 0, id: message.header.id,
            isResponse: message.header.isResponse, opcode: message.header.opcode,
            rcode: message.rcode, isTruncated: message.header.isTruncated, question: message.question)
        if let icmpError = context.icmpError {
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

    public mutating func connectionEnded(_ connection: TCPConnectionReport, emit: (consuming Transaction) -> Void) {
        engine.observeConnectionEnd(connection, emit: emit)
    }

    public mutating func advance(to time: Timestamp, emit: (consuming Transaction) -> Void) {
        engine.advance(to: time, emit: emit)
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
    @inline(__always)
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
}
