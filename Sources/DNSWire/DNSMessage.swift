import WireCore

/// A whole DNS message, every name decompressed and every RDATA this module knows decoded
/// (RFC 1035 §4.1).
///
/// Parsing is the validating walk of `DNSMessageSummary` followed by a copy of what it
/// found, so `DNSMessage(parsing:)` succeeds exactly when a summary of the same bytes has no
/// `bodyError` other than `trailingBytes`. Arrays grow with the records actually present,
/// never from header counts.
public struct DNSMessage: Hashable, Sendable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    /// The additional records as sent, the OPT record included (also decoded in `edns`).
    public var additionals: [DNSRecord]
    /// The OPT pseudo-record, if the message has one (RFC 6891).
    public var edns: EDNS?
    /// Bytes after the last record. RFC 1035 has no room for them, but they are tolerated
    /// (as tshark does); a summary reports them as `trailingBytes`.
    public var trailingByteCount: Int

    public init(
        header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
        authorities: [DNSRecord] = [], additionals: [DNSRecord] = [], trailingByteCount: Int = 0
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.trailingByteCount = trailingByteCount
        edns = additionals.lazy.compactMap { record -> EDNS? in
            if case .opt(let edns) = record.data { return edns }
            return nil
        }.first
    }

    /// Parses a message from its first byte to the end of `bytes` (a UDP payload, or a TCP
    /// message without its 2-byte length prefix).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(DNSParseError) {
        var walker = try MessageWalker(bytes)
        header = walker.header
        questions = []
        answers = []
        authorities = []
        additionals = []
        edns = nil
        var number = 0
        while number < Int(header.questionCount) {
            number += 1
            let view = try walker.question(number: number)
            do throws(DNSParseError) {
                let name = try DNSName(parsing: bytes, at: view.name.offset)
                let rawClass = view.rawClass
                questions.append(DNSQuestion(
                    name: name, type: view.type,
                    class: DNSClass(rawClass & 0x7FFF), unicastResponse: rawClass & 0x8000 != 0))
            } catch {
                throw error.located(in: .question, number: number)
            }
        }
        answers = try Self.records(in: .answer, count: header.answerCount, walker: &walker)
        authorities = try Self.records(in: .authority, count: header.authorityCount, walker: &walker)
        additionals = try Self.records(in: .additional, count: header.additionalCount, walker: &walker)
        for record in additionals {
            if case .opt(let found) = record.data { edns = found }
        }
        trailingByteCount = walker.reader.remaining
    }

    /// Parses a message held in an array.
    public init(parsing bytes: [UInt8]) throws(DNSParseError) {
        self = try withBorrowedBytes(bytes) { buffer throws(DNSParseError) in try DNSMessage(parsing: buffer) }
    }

    /// The full response code: the header's 4 bits, plus the EDNS high 8 bits above them
    /// when there is an OPT record (RFC 6891 §6.1.3).
    public var rcode: DNSRCode {
        guard let edns else { return header.rcode }
        return DNSRCode(UInt16(edns.extendedRCodeHigh) << 4 | header.rcode.rawValue)
    }

    private static func records(
        in section: DNSSection, count: UInt16, walker: inout MessageWalker
    ) throws(DNSParseError) -> [DNSRecord] {
        var records: [DNSRecord] = []
        var number = 0
        while number < Int(count) {
            number += 1
            let view = try walker.record(in: section, number: number)
            do throws(DNSParseError) {
                records.append(try DNSRecord(view, in: walker.message))
            } catch {
                throw error.located(in: section, number: number)
            }
        }
        return records
    }
}

extension DNSRecord {
    /// Copies a walked record out of the message: names decompressed, RDATA decoded.
    /// The walk has checked everything, so this only re-reads what it accepted.
    init(_ view: RecordView, in message: UnsafeRawBufferPointer) throws(DNSParseError) {
        func name(_ scanned: ScannedName) throws(DNSParseError) -> DNSName {
            try DNSName(parsing: message, at: scanned.offset)
        }
        var whole = ByteReader(message)
        try whole.dnsSeek(to: view.rdataOffset)
        var rdata = ByteReader(try whole.dnsReadBytes(view.rdataLength))
        let data: DNSRecordData
        switch view.rdata {
        case .a(let address):
            data = .a(address)
        case .aaaa(let address):
            data = .aaaa(address)
        case .name(let target):
            let target = try name(target)
            data = switch view.type {
            case .cname: .cname(target)
            case .ns: .ns(target)
            default: .ptr(target)
            }
        case .mx(let preference, let exchange):
            data = .mx(preference: preference, exchange: try name(exchange))
        case .srv(let priority, let weight, let port, let target):
            data = .srv(priority: priority, weight: weight, port: port, target: try name(target))
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            data = .soa(
                mname: try name(mname), rname: try name(rname),
                serial: serial, refresh: refresh, retry: retry, expire: expire, minimum: minimum)
        case .txt:
            var strings: [[UInt8]] = []
            while !rdata.isAtEnd {
                let length = try rdata.dnsReadUInt8()
                strings.append(Array(try rdata.dnsReadBytes(Int(length))))
            }
            data = .txt(strings)
        case .opt:
            var options: [EDNSOption] = []
            while !rdata.isAtEnd {
                let code = try rdata.dnsReadUInt16()
                let length = try rdata.dnsReadUInt16()
                options.append(EDNSOption(code: code, data: Array(try rdata.dnsReadBytes(Int(length)))))
            }
            data = .opt(EDNS(rawClass: view.rawClass, ttl: view.ttl, options: options))
        case .unknown:
            data = .unknown(type: view.type, bytes: Array(rdata.bytes))
        }
        self.init(
            name: try name(view.name), type: view.type, rawClass: view.rawClass, ttl: view.ttl, data: data)
    }
}
