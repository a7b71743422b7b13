import WireCore

/// The fixed 12-byte message header (RFC 1035 §4.1.1, RFC 2535 §6.1 for AD and CD).
///
///                                     1  1  1  1  1  1
///       0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
///     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
///     |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
///     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
///
/// The counts are what the sender announced: nothing is sized from them.
public struct DNSHeader: Hashable, Sendable {
    /// Bytes of the header on the wire.
    public static let length = 12

    public var id: UInt16
    /// The second 16-bit word, as sent; the accessors below decode it.
    public var flags: UInt16
    public var questionCount: UInt16
    public var answerCount: UInt16
    public var authorityCount: UInt16
    public var additionalCount: UInt16

    @inlinable
    public init(
        id: UInt16, flags: UInt16,
        questionCount: UInt16 = 0, answerCount: UInt16 = 0,
        authorityCount: UInt16 = 0, additionalCount: UInt16 = 0
    ) {
        self.id = id
        self.flags = flags
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    /// Reads the header from the first 12 bytes of a message.
    public init(parsing message: UnsafeRawBufferPointer) throws(DNSParseError) {
        var reader = ByteReader(message)
        try self.init(reading: &reader)
    }

    @inline(__always)
    init(reading reader: inout ByteReader) throws(DNSParseError) {
        guard reader.remaining >= Self.length else {
            throw DNSParseError(.truncated(needed: Self.length), offset: reader.position, section: .header)
        }
        // Checked once above: six loads from one read (six checked reads cost ~80
        // instructions more per message).
        let fields = try reader.dnsReadBytes(Self.length)
        id = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
        flags = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        questionCount = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        answerCount = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        authorityCount = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        additionalCount = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
    }

    /// QR: a response rather than a query.
    @inlinable public var isResponse: Bool { flags & 0x8000 != 0 }
    @inlinable public var opcode: DNSOpcode { DNSOpcode(UInt8(truncatingIfNeeded: flags >> 11) & 0x0F) }
    /// AA: authoritative answer.
    @inlinable public var isAuthoritative: Bool { flags & 0x0400 != 0 }
    /// TC: truncated to fit the transport; the client should retry over TCP.
    @inlinable public var isTruncated: Bool { flags & 0x0200 != 0 }
    /// RD: recursion desired.
    @inlinable public var recursionDesired: Bool { flags & 0x0100 != 0 }
    /// RA: recursion available.
    @inlinable public var recursionAvailable: Bool { flags & 0x0080 != 0 }
    /// AD: authentic data (RFC 4035 §3.2.3).
    @inlinable public var authenticData: Bool { flags & 0x0020 != 0 }
    /// CD: checking disabled (RFC 4035 §3.2.2).
    @inlinable public var checkingDisabled: Bool { flags & 0x0010 != 0 }
    /// The 4-bit header RCODE only; `DNSMessage.rcode` adds the EDNS high bits.
    @inlinable public var rcode: DNSRCode { DNSRCode(flags & 0x000F) }
}
