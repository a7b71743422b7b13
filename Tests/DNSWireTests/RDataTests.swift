import Testing
@testable import DNSWire

/// A response with the question `example.com. A IN` (12…28) and one answer whose owner is a
/// pointer to it (29); the answer's RDATA starts at 41.
func responseWithOneAnswer(
    type: UInt16, rawClass: UInt16 = 1, rdlength: Int? = nil, rdata: [UInt8], after: [UInt8] = []
) -> [UInt8] {
    var message = MessageBuilder(counts: (1, 1, 0, 0))
    message.question("example.com")
    message.pointer(12)
    message.recordTail(type: type, rawClass: rawClass, rdlength: rdlength, rdata: rdata)
    message.raw(after)
    return message.bytes
}

/// A response with the question `example.com. A IN` and an OPT record holding `options`.
func responseWithOPT(_ options: [(UInt16, [UInt8])]) -> [UInt8] {
    var message = MessageBuilder(counts: (1, 0, 0, 1))
    message.question("example.com")
    message.opt(options: options)  // OPT at 29, options from 40
    return message.bytes
}

@Suite struct RDataTests {
    // MARK: RDLENGTH against the fields

    /// tcpdump: `4660 q: A? example.com. 1/0/0 example.com. A 192.0.2.1 [|domain]`.
    @Test func aWithRDLength5IsAMismatch() {
        let bytes = responseWithOneAnswer(type: 1, rdata: [192, 0, 2, 1, 0])
        let expected = DNSParseError(
            .rdataLengthMismatch(type: .a, declared: 5, consumed: 4), offset: 41, section: .answer, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: bytes) } == expected)
        #expect((try? DNSMessageSummary(parsing: bytes))?.bodyError == expected)
        #expect(expected.description == "answer record 1 at offset 41: A RDATA ends after 4 bytes but RDLENGTH is 5")
    }

    /// RDLENGTH 3, followed by more bytes of the message: the address must not be read
    /// across the end of its RDATA.
    @Test func aWithRDLength3IsTooShortNotAReadAcross() {
        let bytes = responseWithOneAnswer(type: 1, rdata: [192, 0, 2], after: [1, 2, 3, 4])
        #expect(parseError { try DNSMessage(parsing: bytes) }?.code == .rdataTooShort(type: .a, declared: 3, needed: 4))
    }

    @Test func aaaaWithRDLength4ReportsTheSixteenItNeeds() {
        let bytes = responseWithOneAnswer(type: 28, rdata: [0x20, 0x01, 0x0d, 0xb8], after: [UInt8](repeating: 0, count: 16))
        #expect(parseError { try DNSMessage(parsing: bytes) }?.code
            == .rdataTooShort(type: .aaaa, declared: 4, needed: 16))
    }

    /// MX RDLENGTH 5 covers the preference and `04 6d 61`; the label `mail` runs 2 bytes
    /// into what follows. The name must not be read past the RDATA: at least 7 bytes needed.
    @Test func mxWhoseNameOverrunsRDLength() {
        let rdata: [UInt8] = [0x00, 0x0a, 0x04, 0x6d, 0x61]
        let bytes = responseWithOneAnswer(type: 15, rdata: rdata, after: [0x69, 0x6c, 0xC0, 0x0C])
        let expected = DNSParseError(
            .rdataTooShort(type: .mx, declared: 5, needed: 7), offset: 41, section: .answer, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: bytes) } == expected)
        #expect(expected.code.description == "MX RDATA needs at least 7 bytes but RDLENGTH is 5")
    }

    @Test func mxWithBytesLeftAfterItsName() {
        let bytes = responseWithOneAnswer(type: 15, rdata: [0x00, 0x0a, 0xC0, 0x0C, 0xFF])
        #expect(parseError { try DNSMessage(parsing: bytes) }?.code == .rdataLengthMismatch(type: .mx, declared: 5, consumed: 4))
    }

    @Test func rdLengthPastTheEndOfTheMessageIsTruncated() {
        let bytes = responseWithOneAnswer(type: 1, rdlength: 4, rdata: [192, 0])
        #expect(parseError { try DNSMessage(parsing: bytes) }
            == DNSParseError(.truncated(needed: 4), offset: 41, section: .answer, recordNumber: 1))
    }

    @Test func txtCharacterStringOverrunningRDLength() {
        let bytes = responseWithOneAnswer(type: 16, rdata: [0x05, 0x61, 0x62], after: [0x63, 0x64, 0x65])
        #expect(parseError { try DNSMessage(parsing: bytes) }?.code == .rdataTooShort(type: .txt, declared: 3, needed: 6))
    }

    @Test func txtEscapesQuotesAndNonPrintableBytes() throws {
        let bytes = responseWithOneAnswer(type: 16, rdata: [0x05, 0x22, 0x5c, 0x00, 0x20, 0x61, 0x00])
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers[0].data == .txt([[0x22, 0x5c, 0x00, 0x20, 0x61], []]))
        #expect(message.answers[0].data.description == #""\"\\\000 a" """#)
    }

    // MARK: Types kept raw (RFC 3597)

    @Test func unknownTypeIsKeptRawAndPrintedGenerically() throws {
        let bytes = responseWithOneAnswer(type: 0xFF00, rdata: [0x0a, 0x00, 0x00, 0x01])
        let record = try DNSMessage(parsing: bytes).answers[0]
        #expect(record.type == DNSType(65280))
        #expect(record.data == .unknown(type: DNSType(65280), bytes: [0x0a, 0x00, 0x00, 0x01]))
        #expect(record.description == ##"example.com. 300 IN TYPE65280 \# 4 0a000001"##)
    }

    /// RFC 2136 §2.5.2: "Delete an RRset" is the RRset's name and type, class ANY, TTL 0 and
    /// an empty RDATA, whatever the type; so an A record with RDLENGTH 0 is valid there.
    @Test func updateDeletionWithEmptyRDATA() throws {
        var message = MessageBuilder(flags: 0x2800, counts: (1, 0, 1, 0))  // UPDATE: ZOCOUNT, PRCOUNT, UPCOUNT
        message.question("example.com", type: 6)  // zone section: example.com. SOA IN
        message.name("www", pointer: 12)
        message.recordTail(type: 1, rawClass: 255, ttl: 0, rdata: [])
        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(parsed.header.opcode == .update)
        #expect(parsed.authorities == [
            DNSRecord(name: name("www.example.com."), type: .a, rawClass: 255, ttl: 0, data: .unknown(type: .a, bytes: [])),
        ])
        #expect(parsed.authorities[0].description == ##"www.example.com. 0 ANY A \# 0"##)
        // The same with class IN is a malformed A record.
        let bad = responseWithOneAnswer(type: 1, rdata: [])
        #expect(parseError { try DNSMessage(parsing: bad) }?.code == .rdataTooShort(type: .a, declared: 0, needed: 4))
    }

    @Test func mDNSTopBitsOfClassAreSplitOff() throws {
        var message = MessageBuilder(id: 0, flags: 0x8400, counts: (1, 1, 0, 0))
        message.question("printer.local", type: 1, rawClass: 0x8001)  // QU question
        message.pointer(12)
        message.recordTail(type: 1, rawClass: 0x8001, ttl: 120, rdata: [192, 0, 2, 7])  // cache-flush
        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(parsed.questions[0].class == .in && parsed.questions[0].unicastResponse)
        #expect(parsed.questions[0].rawClass == 0x8001)
        #expect(parsed.answers[0].class == .in && parsed.answers[0].cacheFlush && parsed.answers[0].rawClass == 0x8001)
        let summary = try DNSMessageSummary(parsing: message.bytes)
        #expect(summary.question?.class == .in && summary.question?.unicastResponse == true)
    }

    // MARK: OPT placement (RFC 6891 §6.1.1)

    @Test func optInTheAnswerSection() {
        var message = MessageBuilder(counts: (1, 1, 0, 0))
        message.question("example.com")
        message.opt()
        let expected = DNSParseError(.optNotInAdditional, offset: 29, section: .answer, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        #expect((try? DNSMessageSummary(parsing: message.bytes))?.bodyError == expected)
    }

    @Test func optInTheAuthoritySection() {
        var message = MessageBuilder(counts: (1, 0, 1, 0))
        message.question("example.com")
        message.opt()
        #expect(parseError { try DNSMessage(parsing: message.bytes) }
            == DNSParseError(.optNotInAdditional, offset: 29, section: .authority, recordNumber: 1))
    }

    @Test func twoOPTRecords() {
        var message = MessageBuilder(counts: (1, 0, 0, 2))
        message.question("example.com")
        message.opt()
        let second = message.opt(udpSize: 4096)
        let expected = DNSParseError(.multipleOPT, offset: second, section: .additional, recordNumber: 2)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        #expect((try? DNSMessageSummary(parsing: message.bytes))?.bodyError == expected)
    }

    @Test func optWithANonRootOwner() {
        var message = MessageBuilder(counts: (1, 0, 0, 1))
        message.question("example.com")
        message.opt(ownerRoot: false)
        #expect(parseError { try DNSMessage(parsing: message.bytes) }
            == DNSParseError(.optNameNotRoot, offset: 29, section: .additional, recordNumber: 1))
    }

    /// OPT after other additional records is fine; the OPT record stays in `additionals`.
    @Test func optAmongOtherAdditionalRecords() throws {
        var message = MessageBuilder(counts: (1, 0, 0, 2))
        message.question("example.com")
        message.pointer(12)
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])
        message.opt(udpSize: 512, ttl: 0x0000_8000)
        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(parsed.additionals.count == 2)
        #expect(parsed.edns == EDNS(udpPayloadSize: 512, dnssecOK: true))
    }

    // MARK: EDNS options (RFC 7871, RFC 7873)

    @Test func optionLongerThanTheOPTRData() {
        var message = MessageBuilder(counts: (1, 0, 0, 1))
        message.question("example.com")
        message.uint8(0)
        message.recordTail(type: 41, rawClass: 1232, ttl: 0, rdata: [0x00, 0x0a, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(parseError { try DNSMessage(parsing: message.bytes) }
            == DNSParseError(.rdataTooShort(type: .opt, declared: 12, needed: 20), offset: 40, section: .additional, recordNumber: 1))
    }

    @Test func optionHeaderCutShort() {
        var message = MessageBuilder(counts: (1, 0, 0, 1))
        message.question("example.com")
        message.uint8(0)
        message.recordTail(type: 41, rawClass: 1232, ttl: 0, rdata: [0x00, 0x0a, 0x00])
        #expect(parseError { try DNSMessage(parsing: message.bytes) }?.code
            == .rdataTooShort(type: .opt, declared: 3, needed: 4))
    }

    @Test(arguments: [
        // Too short for FAMILY, SOURCE and SCOPE.
        ([0x00, 0x01, 24], EDNSOptionError.clientSubnetTooShort(length: 3)),
        // Source /24 needs 3 address bytes, not 4.
        ([0x00, 0x01, 24, 0, 192, 0, 2, 0], .clientSubnetAddressLength(expected: 3, actual: 4)),
        // Source /24 with only 2 address bytes.
        ([0x00, 0x01, 24, 0, 192, 0], .clientSubnetAddressLength(expected: 3, actual: 2)),
        // IPv4 source /33.
        ([0x00, 0x01, 33, 0, 192, 0, 2, 1, 0], .clientSubnetSourcePrefixTooLong(prefix: 33, maximum: 32)),
        // IPv6 scope /129.
        ([0x00, 0x02, 0, 129], .clientSubnetScopePrefixTooLong(prefix: 129, maximum: 128)),
        // Source /20: the low 4 bits of the third byte must be zero (0x0f is not).
        ([0x00, 0x01, 20, 0, 192, 0, 0x0f], .clientSubnetBitsBeyondPrefix),
    ] as [([UInt8], EDNSOptionError)])
    func malformedClientSubnet(body: [UInt8], reason: EDNSOptionError) {
        let bytes = responseWithOPT([(8, body)])
        let expected = DNSParseError(
            .invalidEDNSOption(code: 8, reason: reason), offset: 40, section: .additional, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: bytes) } == expected)
        #expect((try? DNSMessageSummary(parsing: bytes))?.bodyError == expected)
        #expect(throws: reason) { try EDNSClientSubnet(optionData: body) }
    }

    @Test func wellFormedClientSubnets() throws {
        let zero = try EDNSClientSubnet(optionData: [0x00, 0x01, 0, 0])  // 0.0.0.0/0: no address bytes
        #expect(zero.address.isEmpty && zero.description == "0.0.0.0/0/0")
        let v6 = try EDNSClientSubnet(optionData: [0x00, 0x02, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56])
        #expect(v6.description == "2001:db8:1234:5600::/56/0")
        let bits = try EDNSClientSubnet(optionData: [0x00, 0x01, 20, 0, 192, 0, 0xf0])
        #expect(bits.description == "192.0.240.0/20/0")
    }

    @Test(arguments: [0, 7, 9, 15, 41])
    func malformedCookieLength(length: Int) {
        let body = [UInt8](repeating: 0xAB, count: length)
        let bytes = responseWithOPT([(10, body)])
        #expect(parseError { try DNSMessage(parsing: bytes) }?.code
            == .invalidEDNSOption(code: 10, reason: .cookieLength(length)))
        #expect(EDNSOption(code: 10, data: body).cookie == nil)
    }

    @Test(arguments: [8, 16, 24, 40])
    func wellFormedCookieLength(length: Int) throws {
        let body = (0..<length).map { UInt8($0) }
        let message = try DNSMessage(parsing: responseWithOPT([(10, body)]))
        let cookie = try #require(message.edns?.options.first?.cookie)
        #expect(cookie.client == Array(body.prefix(8)))
        #expect(cookie.server == Array(body.dropFirst(8)))
    }

    /// Options this module does not decode are kept as sent, whatever their body.
    @Test func unknownOptionsAreKept() throws {
        let message = try DNSMessage(parsing: responseWithOPT([(65001, [1, 2, 3]), (12, [0, 0])]))
        #expect(message.edns?.options == [EDNSOption(code: 65001, data: [1, 2, 3]), EDNSOption(code: 12, data: [0, 0])])
        #expect(message.edns?.options.map(\.description) == ["OPTION65001 010203", "PADDING 0000"])
    }

    // MARK: Trailing bytes

    /// tshark shows such bytes as "Extraneous data"; the message itself is fine.
    @Test func trailingBytesAreToleratedByTheMessageAndReportedByTheSummary() throws {
        let bytes = responseWithOneAnswer(type: 1, rdata: [192, 0, 2, 1], after: [0xde, 0xad, 0xbe])
        let message = try DNSMessage(parsing: bytes)
        #expect(message.trailingByteCount == 3)
        #expect(message.answers[0].data == .a(.init(192, 0, 2, 1)))
        let summary = try DNSMessageSummary(parsing: bytes)
        let expected = DNSParseError(.trailingBytes(count: 3), offset: 45)
        #expect(summary.bodyError == expected)
        #expect(expected.description == "message at offset 45: 3 bytes after the last record")
    }
}
