import WireCore

/// What the traffic engine needs of every DNS packet, read without allocating: the header,
/// the first question by reference, and whether the rest of the message is well formed.
///
/// Uses only a `ByteReader` over the borrowed bytes: no `String`, no array, no existential,
/// typed throws throughout. Keeps offsets, not copies, so it may outlive the bytes; only
/// `DNSQuestionSummary.name(in:)` needs them again.
public struct DNSMessageSummary: Equatable, Sendable {
    public var header: DNSHeader
    /// The first question; `nil` when QDCOUNT is 0.
    public var question: DNSQuestionSummary?
    /// The first problem after the first question (a later question, a record, OPT
    /// placement, trailing bytes). The header and question are still good for pairing a
    /// query with its response. Always `nil` when the body was not validated.
    public var bodyError: DNSParseError?
    /// The OPT record's fixed fields, if the validating walk reached one.
    public var edns: EDNSSummary?

    /// Reads the header and first question, then (if `validateBody`) walks every other
    /// question and record as `DNSMessage` would, names followed and RDATA checked, keeping
    /// the first error in `bodyError`. Throws only when the header or the first question is
    /// unreadable: without them a packet cannot be paired.
    @inline(__always)
    public init(parsing bytes: UnsafeRawBufferPointer, validateBody: Bool = true) throws(DNSParseError) {
        var walker = try MessageWalker(bytes)
        header = walker.header
        bodyError = nil
        edns = nil
        if header.questionCount > 0 {
            let view = try walker.question(number: 1)
            let rawClass = view.rawClass
            question = DNSQuestionSummary(
                nameOffset: view.name.offset, nameHash: view.name.hashKey, nameWireLength: view.name.wireLength,
                type: view.type, class: DNSClass(rawClass & 0x7FFF), unicastResponse: rawClass & 0x8000 != 0)
        } else {
            question = nil
        }
        guard validateBody else { return }
        do throws(DNSParseError) {
            try walker.walkRest(questionsDone: min(1, Int(header.questionCount)))
        } catch {
            bodyError = error
        }
        if let opt = walker.opt {
            edns = EDNSSummary(rawClass: opt.rawClass, ttl: opt.ttl)
        }
    }

    /// Summarizes a message held in an array.
    public init(parsing bytes: [UInt8], validateBody: Bool = true) throws(DNSParseError) {
        self = try withBorrowedBytes(bytes) { buffer throws(DNSParseError) in
            try DNSMessageSummary(parsing: buffer, validateBody: validateBody)
        }
    }

    /// The header RCODE, extended by the OPT record's high bits when the walk found one
    /// (RFC 6891 §6.1.3).
    @inlinable
    public var rcode: DNSRCode {
        guard let edns else { return header.rcode }
        return DNSRCode(UInt16(edns.extendedRCodeHigh) << 4 | header.rcode.rawValue)
    }
}

/// The first question of a message, by reference into the message bytes.
public struct DNSQuestionSummary: Hashable, Sendable {
    /// Offset of the QNAME's first byte in the message.
    public var nameOffset: Int
    /// `DNSName.hashKey` of the QNAME: `NameHash` over its uncompressed, ASCII-lowercased
    /// wire form. Equal names have equal hashes whatever their case or compression.
    public var nameHash: UInt64
    /// Octets of the uncompressed QNAME, length bytes and root included.
    public var nameWireLength: Int
    public var type: DNSType
    /// QCLASS without its top bit.
    public var `class`: DNSClass
    /// The top bit of QCLASS: in mDNS, "unicast response requested" (RFC 6762 §5.4).
    public var unicastResponse: Bool

    @inlinable
    public init(
        nameOffset: Int, nameHash: UInt64, nameWireLength: Int,
        type: DNSType, class: DNSClass, unicastResponse: Bool
    ) {
        self.nameOffset = nameOffset
        self.nameHash = nameHash
        self.nameWireLength = nameWireLength
        self.type = type
        self.class = `class`
        self.unicastResponse = unicastResponse
    }

    /// Decodes the QNAME from the same message bytes the summary was made from.
    public func name(in bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> DNSName {
        do throws(DNSParseError) {
            return try DNSName(parsing: bytes, at: nameOffset)
        } catch {
            throw error.located(in: .question, number: 1)
        }
    }
}

/// The fixed fields of an OPT record (RFC 6891 §6.1.2–3), without its options.
public struct EDNSSummary: Hashable, Sendable {
    public var udpPayloadSize: UInt16
    public var extendedRCodeHigh: UInt8
    public var version: UInt8
    public var dnssecOK: Bool

    @inlinable
    public init(udpPayloadSize: UInt16, extendedRCodeHigh: UInt8, version: UInt8, dnssecOK: Bool) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRCodeHigh = extendedRCodeHigh
        self.version = version
        self.dnssecOK = dnssecOK
    }

    init(rawClass: UInt16, ttl: UInt32) {
        self.init(
            udpPayloadSize: rawClass, extendedRCodeHigh: UInt8(truncatingIfNeeded: ttl >> 24),
            version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: ttl & 0x8000 != 0)
    }
}
