import WireCore

/// The one validating pass over a message, shared by `DNSMessageSummary` (which only
/// checks) and `DNSMessage` (which then materializes what the pass found), so that both
/// accept and reject exactly the same bytes with the same errors.
///
/// Allocates nothing: names are scanned, not collected; RDATA comes back as an `RDataView`
/// of offsets and fixed-size values. Every loop is bounded by the message bytes, never by a
/// header count alone: each question or record consumes at least 5 bytes or throws.
struct MessageWalker {
    let message: UnsafeRawBufferPointer
    /// Over the whole message; sits after the last question or record walked.
    var reader: ByteReader
    let header: DNSHeader
    /// The OPT record's CLASS and TTL once one has been walked.
    private(set) var opt: (rawClass: UInt16, ttl: UInt32)?
    /// The first question's name when it is stored uncompressed: record names point to it
    /// (`c0 0c`) and need not walk it again. Record names are not hashed either (only the
    /// question's hash is used).
    private var knownName: KnownName?

    @inline(__always)
    init(_ message: UnsafeRawBufferPointer) throws(DNSParseError) {
        self.message = message
        reader = ByteReader(message)
        header = try DNSHeader(reading: &reader)
    }

    @inline(__always)
    mutating func question(number: Int) throws(DNSParseError) -> QuestionView {
        do throws(DNSParseError) {
            let name = try DNSName.scan(&reader)
            if knownName == nil, reader.position - name.offset == name.wireLength {
                knownName = KnownName(offset: name.offset, wireLength: name.wireLength)
            }
            guard reader.remaining >= 4 else {
                // Field by field, so that the error names the first field cut short.
                let type = try reader.dnsReadUInt16()
                return QuestionView(name: name, type: DNSType(type), rawClass: try reader.dnsReadUInt16())
            }
            let fields = try reader.dnsReadBytes(4)
            return QuestionView(name: name, type: DNSType(UInt16(bigEndian: fields.loadUnaligned(as: UInt16.self))),
                                rawClass: UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        } catch {
            throw error.located(in: .question, number: number)
        }
    }

    mutating func record(in section: DNSSection, number: Int) throws(DNSParseError) -> RecordView {
        do throws(DNSParseError) {
            return try readRecord(in: section)
        } catch {
            throw error.located(in: section, number: number)
        }
    }

    /// Walks the questions after the first `questionsDone`, every record, and checks that
    /// nothing follows the last one.
    mutating func walkRest(questionsDone: Int) throws(DNSParseError) {
        var number = questionsDone
        while number < Int(header.questionCount) {
            number += 1
            _ = try question(number: number)
        }
        try walkRecords(in: .answer, count: header.answerCount)
        try walkRecords(in: .authority, count: header.authorityCount)
        try walkRecords(in: .additional, count: header.additionalCount)
        try checkEnd()
    }

    /// Each record is first tried by `checkRecord`, which takes only well-formed records of
    /// the common kinds; any other goes through `record(in:number:)`, which gives its error.
    private mutating func walkRecords(in section: DNSSection, count: UInt16) throws(DNSParseError) {
        var number = 0
        while number < Int(count) {
            number += 1
            if checkRecord(in: section) { continue }
            _ = try record(in: section, number: number)
        }
    }

    /// Steps over one record when it is well formed and of a kind checked here without
    /// building its view (A, AAAA, names, SOA, MX, SRV, OPT without options, and every type
    /// `readRData` skips), with the checks `readRecord` makes. Returns false, the reader
    /// untouched, for anything else, so that `readRecord` reads it again and throws
    /// exactly its error: what this accepts, `readRecord` accepts with the same effect
    /// (the reader after the record, `opt` set by an OPT record).
    /// Validation took about 500 instructions a record through the views (bench/profile.md).
    private mutating func checkRecord(in section: DNSSection) -> Bool {
        var names = reader
        guard let owner = try? DNSName.scan(&names, hashing: false, known: knownName) else { return false }
        let bytes = message
        let fields = names.position
        guard bytes.count - fields >= 10, let base = bytes.baseAddress else { return false }
        let type = DNSType(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: fields, as: UInt16.self)))
        let rawClass = UInt16(bigEndian: base.loadUnaligned(fromByteOffset: fields + 2, as: UInt16.self))
        let rdataLength = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: fields + 8, as: UInt16.self)))
        let rdataStart = fields + 10
        guard rdataLength <= bytes.count - rdataStart else { return false }
        let rdataEnd = rdataStart + rdataLength
        // A name in RDATA, read as `readRData` reads it: clamped to the RDATA's end.
        @inline(__always)
        func name(at offset: Int) -> Int? {
            var inside = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[..<rdataEnd]), position: offset)
            guard (try? DNSName.scan(&inside, hashing: false, known: knownName)) != nil else { return nil }
            return inside.position
        }
        switch type {
        case .opt:
            // No options, in the additional section, the first, owned by the root.
            guard rdataLength == 0, section == .additional, opt == nil, owner.wireLength == 1 else { return false }
        case _ where rdataLength == 0:
            // An empty RDATA: valid or not by class (RFC 2136) and type; `readRData` decides.
            return false
        case .a:
            guard rdataLength == 4 else { return false }
        case .aaaa:
            guard rdataLength == 16 else { return false }
        case .cname, .ns, .ptr:
            guard name(at: rdataStart) == rdataEnd else { return false }
        case .mx:
            guard rdataLength > 2, name(at: rdataStart + 2) == rdataEnd else { return false }
        case .srv:
            guard rdataLength > 6, name(at: rdataStart + 6) == rdataEnd else { return false }
        case .soa:
            guard let mname = name(at: rdataStart), let rname = name(at: mname), rname + 20 == rdataEnd else { return false }
        case .txt:
            return false
        default:
            break
        }
        reader = ByteReader(bytes, position: rdataEnd)
        if type == .opt {
            opt = (rawClass, UInt32(bigEndian: base.loadUnaligned(fromByteOffset: fields + 4, as: UInt32.self)))
        }
        return true
    }

    /// RFC 1035 has no room for bytes after the last record.
    @inline(__always)
    func checkEnd() throws(DNSParseError) {
        guard reader.isAtEnd else {
            throw DNSParseError(.trailingBytes(count: reader.remaining), offset: reader.position)
        }
    }

    @inline(__always)
    private mutating func readRecord(in section: DNSSection) throws(DNSParseError) -> RecordView {
        let recordStart = reader.position
        let name = try DNSName.scan(&reader, hashing: false, known: knownName)
        let type: DNSType
        let rawClass: UInt16
        let ttl: UInt32
        let rdataLength: Int
        if reader.remaining >= 10 {
            // TYPE, CLASS, TTL and RDLENGTH from one checked read.
            let fields = try reader.dnsReadBytes(10)
            type = DNSType(UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 0, as: UInt16.self)))
            rawClass = UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            ttl = UInt32(bigEndian: fields.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            rdataLength = Int(UInt16(bigEndian: fields.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        } else {
            // Field by field, so that the error names the first field cut short.
            type = DNSType(try reader.dnsReadUInt16())
            rawClass = try reader.dnsReadUInt16()
            ttl = try reader.dnsReadUInt32()
            rdataLength = Int(try reader.dnsReadUInt16())
        }
        let rdataStart = reader.position
        guard rdataLength <= reader.remaining else {
            throw DNSParseError(.truncated(needed: rdataLength), offset: rdataStart)
        }
        if type == .opt {
            // RFC 6891 §6.1.1: OPT "MUST be in the additional data section", at most once
            // (more is FORMERR), and §6.1.2: its NAME "MUST be 0 (root domain)".
            guard section == .additional else { throw DNSParseError(.optNotInAdditional, offset: recordStart) }
            guard opt == nil else { throw DNSParseError(.multipleOPT, offset: recordStart) }
            guard name.wireLength == 1 else { throw DNSParseError(.optNameNotRoot, offset: recordStart) }
        }
        let rdataEnd = rdataStart + rdataLength
        let rdata: RDataView
        // Clamped to the end of RDATA, so that no field or name can read the next record.
        var rdataReader = ByteReader(try reader.dnsPrefix(rdataEnd), position: rdataStart)
        do throws(DNSParseError) {
            rdata = try Self.readRData(type: type, rawClass: rawClass, from: &rdataReader, known: knownName)
        } catch {
            guard case .truncated(let needed) = error.code else { throw error }
            // The read ran into the clamp: the RDATA is shorter than its fields.
            throw DNSParseError(
                .rdataTooShort(type: type, declared: rdataLength, needed: error.offset + needed - rdataStart),
                offset: rdataStart)
        }
        guard rdataReader.isAtEnd else {
            throw DNSParseError(
                .rdataLengthMismatch(type: type, declared: rdataLength, consumed: rdataReader.position - rdataStart),
                offset: rdataStart)
        }
        try reader.dnsSkip(rdataLength)
        if type == .opt { opt = (rawClass, ttl) }
        return RecordView(
            name: name, type: type, rawClass: rawClass, ttl: ttl,
            rdataOffset: rdataStart, rdataLength: rdataLength, rdata: rdata)
    }

    /// Reads and checks the RDATA of the types this module decodes; skips any other.
    private static func readRData(
        type: DNSType, rawClass: UInt16, from reader: inout ByteReader, known: KnownName?
    ) throws(DNSParseError) -> RDataView {
        // RFC 2136 §2.4–2.5: UPDATE prerequisites and deletions carry class ANY or NONE and
        // an empty RDATA whatever the type.
        if reader.isAtEnd, rawClass == DNSClass.any.rawValue || rawClass == DNSClass.none.rawValue, type != .opt {
            return .unknown
        }
        switch type {
        case .a:
            return .a(DNSRecordData.IPv4Address(rawValue: try reader.dnsReadUInt32()))
        case .aaaa:
            // One 16-byte read, so that a short RDATA reports the 16 bytes it needs.
            var address = ByteReader(try reader.dnsReadBytes(16))
            let high = UInt64(try address.dnsReadUInt32()) << 32 | UInt64(try address.dnsReadUInt32())
            let low = UInt64(try address.dnsReadUInt32()) << 32 | UInt64(try address.dnsReadUInt32())
            return .aaaa(DNSRecordData.IPv6Address(high: high, low: low))
        case .cname, .ns, .ptr:
            return .name(try DNSName.scan(&reader, hashing: false, known: known))
        case .mx:
            let preference = try reader.dnsReadUInt16()
            return .mx(preference, try DNSName.scan(&reader, hashing: false, known: known))
        case .srv:
            let priority = try reader.dnsReadUInt16()
            let weight = try reader.dnsReadUInt16()
            let port = try reader.dnsReadUInt16()
            return .srv(priority, weight, port, try DNSName.scan(&reader, hashing: false, known: known))
        case .soa:
            let mname = try DNSName.scan(&reader, hashing: false, known: known)
            let rname = try DNSName.scan(&reader, hashing: false, known: known)
            return .soa(
                mname, rname,
                serial: try reader.dnsReadUInt32(), refresh: try reader.dnsReadUInt32(),
                retry: try reader.dnsReadUInt32(), expire: try reader.dnsReadUInt32(),
                minimum: try reader.dnsReadUInt32())
        case .txt:
            while !reader.isAtEnd {
                let length = try reader.dnsReadUInt8()
                try reader.dnsSkip(Int(length))
            }
            return .txt
        case .opt:
            while !reader.isAtEnd {
                let optionStart = reader.position
                let code = try reader.dnsReadUInt16()
                let length = try reader.dnsReadUInt16()
                let body = try reader.dnsReadBytes(Int(length))
                do throws(EDNSOptionError) {
                    try EDNSOption.validate(code: code, body: body)
                } catch {
                    throw DNSParseError(.invalidEDNSOption(code: code, reason: error), offset: optionStart)
                }
            }
            return .opt
        default:
            try reader.dnsSkip(reader.remaining)
            return .unknown
        }
    }
}

/// A question as walked: the name scanned in place, nothing copied.
struct QuestionView {
    var name: ScannedName
    var type: DNSType
    var rawClass: UInt16
}

/// A record as walked: fixed fields decoded, names and variable RDATA left in the message.
struct RecordView {
    var name: ScannedName
    var type: DNSType
    var rawClass: UInt16
    var ttl: UInt32
    var rdataOffset: Int
    var rdataLength: Int
    var rdata: RDataView
}

/// RDATA as walked and checked; `.txt`, `.opt` and `.unknown` are re-read from the bytes.
enum RDataView {
    case a(DNSRecordData.IPv4Address)
    case aaaa(DNSRecordData.IPv6Address)
    /// CNAME, NS or PTR: the record's type says which.
    case name(ScannedName)
    case mx(UInt16, ScannedName)
    case srv(UInt16, UInt16, UInt16, ScannedName)
    case soa(ScannedName, ScannedName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    case txt
    case opt
    case unknown
}
