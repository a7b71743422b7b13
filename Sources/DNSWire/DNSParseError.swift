import WireCore

/// Why a DNS message could not be parsed, and where: a `code` to match on, the byte
/// `offset` in the message, and the section and question or record number when known.
///
/// Holds no `String` and no array, so creating one never allocates: the summary path can
/// keep the first error of a packet at no cost.
public struct DNSParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong. Offsets inside a code are byte offsets in the message.
    public enum Code: Equatable, Sendable, CustomStringConvertible {
        /// The message ends before a field that needs `needed` bytes from `offset`.
        case truncated(needed: Int)
        /// A compression pointer at `pointer` targets `target`, which is not strictly before
        /// the start of the name segment it belongs to (RFC 1035 §4.1.4, made strict so that
        /// no byte is read twice and pointer loops cannot exist).
        case pointerNotBackward(pointer: Int, target: Int)
        /// One name followed more than `DNSName.maximumCompressionPointers` pointers.
        case tooManyPointers
        /// A label length byte of 64…191: over 63 (RFC 1035 §2.3.4), or one of the label
        /// types 0b01 (extended, RFC 6891 §5) and 0b10 (reserved) that no one may send.
        case labelTooLong(length: Int)
        /// The uncompressed name, length bytes and root included, exceeds 255 octets
        /// (RFC 1035 §2.3.4); `length` is the length reached when the limit was crossed.
        case nameTooLong(length: Int)
        /// A field, name or character-string would run past the end of the RDATA: the
        /// record needs at least `needed` bytes of RDATA, RDLENGTH says `declared`. Fields
        /// are never read across into the next record.
        case rdataTooShort(type: DNSType, declared: Int, needed: Int)
        /// The RDATA was complete after `consumed` bytes, but RDLENGTH says `declared`.
        case rdataLengthMismatch(type: DNSType, declared: Int, consumed: Int)
        /// An OPT record in the answer or authority section (RFC 6891 §6.1.1).
        case optNotInAdditional
        /// A second OPT record (RFC 6891 §6.1.1: FORMERR).
        case multipleOPT
        /// An OPT record whose owner name is not the root (RFC 6891 §6.1.2).
        case optNameNotRoot
        /// An EDNS option whose body breaks its own RFC (client subnet, cookie).
        case invalidEDNSOption(code: UInt16, reason: EDNSOptionError)
        /// Bytes after the last record the header announced. Not fatal to `DNSMessage`
        /// (tshark tolerates them too); reported as a summary's `bodyError`.
        case trailingBytes(count: Int)

        /// A short stable label for counting errors by kind in reports (kebab-case, no values).
        public var name: String {
            switch self {
            case .truncated: "truncated"
            case .pointerNotBackward: "pointer-not-backward"
            case .tooManyPointers: "too-many-pointers"
            case .labelTooLong(let length): length >= 128 ? "reserved-label-type" : "label-too-long"
            case .nameTooLong: "name-too-long"
            case .rdataTooShort: "rdata-too-short"
            case .rdataLengthMismatch: "rdata-length-mismatch"
            case .optNotInAdditional: "opt-not-in-additional"
            case .multipleOPT: "multiple-opt"
            case .optNameNotRoot: "opt-name-not-root"
            case .invalidEDNSOption: "invalid-edns-option"
            case .trailingBytes: "trailing-bytes"
            }
        }

        public var description: String {
            switch self {
            case .truncated(let needed):
                "truncated: needed \(needed) bytes, the message ends first"
            case .pointerNotBackward(let pointer, let target):
                "compression pointer at \(pointer) targets \(target), not backwards"
            case .tooManyPointers:
                "more than \(DNSName.maximumCompressionPointers) compression pointers in one name"
            case .labelTooLong(let length):
                length < 128
                    ? "label length \(length) over \(DNSName.maximumLabelLength)"
                    : "reserved label type (length byte \(length))"
            case .nameTooLong(let length):
                "name reaches \(length) octets, over \(DNSName.maximumWireLength)"
            case .rdataTooShort(let type, let declared, let needed):
                "\(type) RDATA needs at least \(needed) bytes but RDLENGTH is \(declared)"
            case .rdataLengthMismatch(let type, let declared, let consumed):
                "\(type) RDATA ends after \(consumed) bytes but RDLENGTH is \(declared)"
            case .optNotInAdditional:
                "OPT record outside the additional section"
            case .multipleOPT:
                "second OPT record"
            case .optNameNotRoot:
                "OPT record owner is not the root"
            case .invalidEDNSOption(let code, let reason):
                "EDNS option \(code): \(reason)"
            case .trailingBytes(let count):
                "\(count) bytes after the last record"
            }
        }
    }

    public var code: Code
    /// Byte offset in the message where the faulty field starts.
    public var offset: Int
    /// Where in the message: `nil` only for errors outside any section (trailing bytes) or
    /// from a helper called on its own (`DNSName(parsing:at:)`).
    public var section: DNSSection?
    /// 1-based number of the question or record within `section`; `nil` for the header.
    public var recordNumber: Int?

    @inlinable
    public init(_ code: Code, offset: Int, section: DNSSection? = nil, recordNumber: Int? = nil) {
        self.code = code
        self.offset = offset
        self.section = section
        self.recordNumber = recordNumber
    }

    /// A short read of the message bytes, with the reader's own offset and need.
    init(_ error: ByteReaderError) {
        self.init(.truncated(needed: error.needed), offset: error.offset)
    }

    /// This error with its section and number filled in, unless an inner layer already did.
    func located(in section: DNSSection, number: Int?) -> DNSParseError {
        guard self.section == nil else { return self }
        var located = self
        located.section = section
        located.recordNumber = number
        return located
    }

    /// One line: `answer record 2 at offset 57: compression pointer at 57 targets 80, not backwards`.
    public var description: String {
        let place: String
        switch (section, recordNumber) {
        case (nil, _): place = "message"
        case (.header?, _), (_?, nil): place = section?.description ?? "message"
        case (.question?, let number?): place = "question \(number)"
        case (let section?, let number?): place = "\(section) record \(number)"
        }
        return "\(place) at offset \(offset): \(code)"
    }
}
