import DNSWire
import PacketDecoding
import WireCore

/// One side of a DNS exchange.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    public var description: String { ip.isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
}

/// One DNS message as the engine needs it: where it was seen and the fields that pair it.
/// Built by the pipeline per message; holds no pointers into packet memory.
public struct MessageObservation: Sendable {
    public var frame: Int
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    public var transport: Transport
    public var vlanIDs: VLANIDs
    public var interfaceIndex: Int32
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: DNSOpcode
    public var rcode: DNSRCode
    public var isTruncated: Bool
    /// Question of the message, if it has one (FORMERR answers often have none).
    public var question: QuestionKey?

    public init(
        frame: Int, time: Timestamp, source: Endpoint, destination: Endpoint, transport: Transport,
        vlanIDs: VLANIDs = VLANIDs(), interfaceIndex: Int32 = -1, id: UInt16, isResponse: Bool,
        opcode: DNSOpcode = .query, rcode: DNSRCode = .noError, isTruncated: Bool = false, question: QuestionKey?
    ) {
        self.frame = frame
        self.time = time
        self.source = source
        self.destination = destination
        self.transport = transport
        self.vlanIDs = vlanIDs
        self.interfaceIndex = interfaceIndex
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.rcode = rcode
        self.isTruncated = isTruncated
        self.question = question
    }
}

/// A question reduced to what pairing compares: the case-insensitive name hash, type, class.
public struct QuestionKey: Hashable, Sendable {
    public var nameHash: UInt64
    public var type: DNSType
    public var qclass: DNSClass

    public init(nameHash: UInt64, type: DNSType, qclass: DNSClass) {
        self.nameHash = nameHash
        self.type = type
        self.qclass = qclass
    }
}

/// One transmission of a query: resolvers resend with the same id and question, often from
/// a new source port.
public struct Attempt: Hashable, Sendable {
    public var frame: Int
    public var time: Timestamp
    public var clientPort: UInt16
}

/// The response that closed a transaction.
public struct ResponseRecord: Hashable, Sendable {
    public var frame: Int
    public var time: Timestamp
    public var rcode: DNSRCode
    public var isTruncated: Bool
    /// Index into `attempts` of the attempt it answered (same 5-tuple).
    public var attemptIndex: Int
}

/// How a transaction ended.
public enum Outcome: String, Sendable, CaseIterable {
    /// A response arrived within the timeout.
    case answered
    /// No response within the timeout of the last attempt, or before the capture ended.
    case unanswered
    /// An ICMP Destination Unreachable quoting the query came back: a REJECT rule
    /// (administratively prohibited, port unreachable from a firewall) or no listener.
    case rejected
    /// A query sent to a multicast group (mDNS, LLMNR) with no reply from the group
    /// address: answers come from whichever host owns the name, so silence proves nothing.
    case multicast
}

/// Why an unanswered transaction was closed.
public enum ExpiryReason: String, Sendable {
    /// `--timeout` elapsed after the last attempt.
    case timeout
    /// The capture ended before the timeout elapsed.
    case captureEnd = "capture-end"
    /// The pending table was full and this was the oldest entry.
    case evicted
}

/// The ICMP error that closed a transaction as rejected.
public struct Rejection: Hashable, Sendable {
    public var frame: Int
    public var time: Timestamp
    public var error: ICMPError
}

/// A query, its retries, and its response if one came.
public struct Transaction: Sendable {
    public var client: Endpoint
    public var server: Endpoint
    public var transport: Transport
    public var id: UInt16
    public var opcode: DNSOpcode
    public var qname: String?
    public var question: QuestionKey?
    public var vlanIDs: VLANIDs
    public var interfaceIndex: Int32
    /// Every transmission, in capture order (at most `TransactionEngine.maximumAttempts`).
    public var attempts: [Attempt]
    /// Attempts beyond `maximumAttempts`, counted but not kept.
    public var droppedAttempts: Int
    public var response: ResponseRecord?
    public var rejection: Rejection?
    public var outcome: Outcome
    public var expiry: ExpiryReason?

    /// Time of the most recent attempt, counted or kept.
    public var lastTime: Timestamp

    public var firstTime: Timestamp { attempts.first?.time ?? lastTime }
    public var attemptCount: Int { attempts.count + droppedAttempts }
    public var isTruncated: Bool { response?.isTruncated ?? false }

    /// Client-perceived resolution time: from the first attempt to the response.
    public var latency: Duration? {
        guard let response else { return nil }
        return response.time - firstTime
    }
}

/// A response the engine could not pair with any query it saw.
public enum UnsolicitedReason: String, Sendable, CaseIterable {
    /// No outstanding query with that 5-tuple and id (the query preceded the capture, was
    /// already answered, or timed out).
    case noMatchingQuery = "no-matching-query"
    /// A query with that 5-tuple and id exists but asked a different question.
    case questionMismatch = "question-mismatch"
}
