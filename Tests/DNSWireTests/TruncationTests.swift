import Testing
@testable import DNSWire

/// Every valid vector, for the drip-fed tests.
let allValidVectors: [[UInt8]] = [
    Real.queryWithECSAndCookie, Real.responseWithCNAMEChain, Real.responseAAAA, Real.queryMX, Real.responseMX,
    Real.responseTXT, Real.responseSRV, Real.responseNXDomainWithSOA, Real.responseWithECSAndServerCookie,
    Real.responseBadCookie,
]

// "Drip-fed" tests after swift-asn1: feed every prefix of a valid message. The whole must
// parse; every strict prefix must fail with `truncated`, at an offset inside the prefix and
// a need that reaches past its end, and never trap.
@Suite struct TruncationTests {
    @Test(arguments: allValidVectors)
    func everyStrictPrefixOfAMessageIsTruncated(bytes: [UInt8]) throws {
        _ = try DNSMessage(parsing: bytes)
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            let error = parseError { try DNSMessage(parsing: prefix) }
            guard let error, case .truncated(let needed) = error.code else {
                Issue.record("prefix of \(length) bytes: \(String(describing: error))")
                continue
            }
            #expect(error.offset <= length && error.offset + needed > length, "prefix of \(length) bytes: \(error)")
        }
    }

    /// Cut before the end of the first question, the summary throws; cut after it, the
    /// summary holds the same header and question, with the truncation as its body error.
    @Test(arguments: allValidVectors)
    func everyStrictPrefixOfASummary(bytes: [UInt8]) throws {
        let whole = try DNSMessageSummary(parsing: bytes)
        let question = try #require(whole.question)
        let questionEnd = question.nameOffset + question.nameWireLength + 4  // uncompressed QNAME in these
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            if length < questionEnd {
                let error = parseError { try DNSMessageSummary(parsing: prefix) }
                #expect(error?.section == (length < DNSHeader.length ? .header : .question), "prefix of \(length) bytes")
                guard case .truncated? = error?.code else {
                    Issue.record("prefix of \(length) bytes: \(String(describing: error))")
                    continue
                }
            } else {
                let summary = try DNSMessageSummary(parsing: prefix)
                #expect(summary.header == whole.header)
                #expect(summary.question == whole.question)
                guard case .truncated? = summary.bodyError?.code else {
                    Issue.record("prefix of \(length) bytes: body error \(String(describing: summary.bodyError))")
                    continue
                }
                let unchecked = try DNSMessageSummary(parsing: prefix, validateBody: false)
                #expect(unchecked.bodyError == nil && unchecked.question == whole.question)
            }
        }
    }

    /// The header claims 65535 answers, authorities and additionals; the message has one
    /// answer. Parsing stops cleanly at the second: nothing is sized from the counts.
    @Test func test_headerCount65535_withShortMessage_isTruncatedNotAllocated() throws {
        var message = MessageBuilder(counts: (1, 0xFFFF, 0xFFFF, 0xFFFF))
        message.question("example.com")
        message.pointer(12)
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])
        #expect(message.offset == 45)
        let expected = DNSParseError(.truncated(needed: 1), offset: 45, section: .answer, recordNumber: 2)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        let summary = try DNSMessageSummary(parsing: message.bytes)
        #expect(summary.header.answerCount == 0xFFFF)
        #expect(summary.bodyError == expected)
    }

    @Test func test_headerQuestionCount65535_withOneQuestion() throws {
        var message = MessageBuilder(flags: 0x0100, counts: (0xFFFF, 0, 0, 0))
        message.question("example.com")
        let expected = DNSParseError(.truncated(needed: 1), offset: 29, section: .question, recordNumber: 2)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        #expect(try DNSMessageSummary(parsing: message.bytes).bodyError == expected)
    }

    @Test func emptyAndShortHeaders() {
        for length in 0..<DNSHeader.length {
            let bytes = [UInt8](repeating: 0xFF, count: length)
            let expected = DNSParseError(.truncated(needed: 12), offset: 0, section: .header)
            #expect(parseError { try DNSMessage(parsing: bytes) } == expected)
            #expect(parseError { try DNSMessageSummary(parsing: bytes) } == expected)
        }
        #expect(DNSParseError(.truncated(needed: 12), offset: 0, section: .header).description
            == "header at offset 0: truncated: needed 12 bytes, the message ends first")
    }

    /// A header alone with zero counts is a complete (if useless) message.
    @Test func headerOnlyMessage() throws {
        let bytes = hex("abcd 0100 0000 0000 0000 0000")
        let message = try DNSMessage(parsing: bytes)
        #expect(message.questions.isEmpty && message.header.id == 0xabcd)
        let summary = try DNSMessageSummary(parsing: bytes)
        #expect(summary.question == nil && summary.bodyError == nil)
    }
}
