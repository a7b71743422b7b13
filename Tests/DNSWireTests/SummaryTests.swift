import Testing
import WireCore
@testable import DNSWire

@Suite struct SummaryTests {
    @Test func summaryOfTheRealResponse() throws {
        let summary = try DNSMessageSummary(parsing: Real.responseWithCNAMEChain)
        #expect(summary.header.id == 22970 && summary.header.isResponse)
        #expect(summary.header.answerCount == 3)
        #expect(summary.question == DNSQuestionSummary(
            nameOffset: 12, nameHash: name("www.example.test.").hashKey, nameWireLength: 18,
            type: .a, class: .in, unicastResponse: false))
        #expect(summary.bodyError == nil)
        #expect(summary.edns == EDNSSummary(udpPayloadSize: 1232, extendedRCodeHigh: 0, version: 0, dnssecOK: true))
        #expect(summary.rcode == .noError)
    }

    /// Resolvers randomize the case of query names (DNS 0x20); the responder echoes it, or
    /// not. Either way the query and its response must pair on `nameHash`.
    @Test func nameHashIgnoresCase() throws {
        var query = MessageBuilder(flags: 0x0100, counts: (1, 0, 0, 0))
        query.question("wWw.ExAmple.TeSt")
        let fromQuery = try DNSMessageSummary(parsing: query.bytes)
        let fromResponse = try DNSMessageSummary(parsing: Real.responseWithCNAMEChain)
        #expect(fromQuery.question?.nameHash == fromResponse.question?.nameHash)
        #expect(fromQuery.question?.nameHash == name("WWW.EXAMPLE.TEST.").hashKey)
    }

    /// The scan that makes `nameHash` gives the same hash for a compressed name as for the
    /// same name uncompressed: `web.example.test.` at 64 is the pointer `C0 2E`, at 46 it is
    /// spelled out, and `host.example.test.` at 95 is `C0 4C`.
    @Test func nameHashIsTheSameCompressedOrNot() throws {
        func scan(_ bytes: [UInt8], at offset: Int) throws -> ScannedName {
            try bytes.withUnsafeBytes { buffer in
                var reader = ByteReader(buffer, position: offset)
                var unused: [UInt8] = []
                return try DNSName.scan(&reader, collectingInto: &unused, collect: false)
            }
        }
        let bytes = Real.responseWithCNAMEChain
        let spelledOut = try scan(bytes, at: 46)
        let compressed = try scan(bytes, at: 64)
        #expect(spelledOut.hashKey == compressed.hashKey)
        #expect(compressed.hashKey == name("Web.Example.Test.").hashKey)
        #expect(compressed.wireLength == 18 && spelledOut.wireLength == 18)
        #expect(try scan(bytes, at: 95).hashKey == name("host.example.test.").hashKey)

        // A second question compressed against the first: the message's names agree.
        var message = MessageBuilder(flags: 0x0100, counts: (2, 0, 0, 0))
        message.question("Example.Test")
        let second = message.name("www", pointer: 12)
        message.uint16(1)
        message.uint16(1)
        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(try scan(message.bytes, at: second).hashKey == parsed.questions[1].name.hashKey)
        #expect(try parsed.questions[1].name.hashKey == fromCNAMEChainQuestionHash())
    }

    /// The scan reads a label's last word past its end when the buffer has the bytes (masked
    /// off) and byte by byte when it ends sooner: both give `hashKey`'s value, for labels of
    /// every length up to 63 with 0 to 9 bytes after the name, letters in either case.
    @Test func nameHashIsTheSameWhateverFollowsTheName() throws {
        for length in 1...63 {
            let label = String((0..<length).map { Character(UnicodeScalar(UInt8(ascii: $0 % 3 == 0 ? "Q" : "q") &+ UInt8($0 % 7))) })
            let expected = name("\(label).x.").hashKey
            for trailing in 0...9 {
                let bytes = [UInt8(length)] + Array(label.utf8) + [1, UInt8(ascii: "X"), 0] + Array(repeating: 0xAB, count: trailing)
                let scanned = try bytes.withUnsafeBytes { buffer in
                    var reader = ByteReader(buffer)
                    var unused: [UInt8] = []
                    return try DNSName.scan(&reader, collectingInto: &unused, collect: false)
                }
                #expect(scanned.hashKey == expected, "label of \(length), \(trailing) bytes after")
            }
        }
    }

    /// A compressed name is hashed from its labels put together: random names over every
    /// byte value, each a few labels of its own and a pointer into the labels of an earlier
    /// name (itself compressed against a third, sometimes), give the `hashKey` of the whole.
    @Test func compressedNamesOfRandomLabelsHashAsTheirWholeName() throws {
        var generator = SystemRandomNumberGenerator()
        func wire(_ labels: [[UInt8]]) -> [UInt8] { labels.flatMap { [UInt8($0.count)] + $0 } }
        for _ in 0..<1_000 {
            // 12 bytes of header, then: first (uncompressed), second (labels + pointer into
            // first), third (labels + pointer into second's own labels or into first).
            let first = NameTests.randomLabels(1...4, using: &generator)
            var bytes = [UInt8](repeating: 0, count: 12)
            let firstOffsets = first.indices.map { index in 12 + wire(Array(first.prefix(index))).count }
            bytes += wire(first) + [0]
            let intoFirst = Int.random(in: first.indices, using: &generator)
            let second = NameTests.randomLabels(1...3, using: &generator)
            let secondStart = bytes.count
            let secondOffsets = second.indices.map { index in secondStart + wire(Array(second.prefix(index))).count }
            bytes += wire(second) + [0xC0 | UInt8(firstOffsets[intoFirst] >> 8), UInt8(firstOffsets[intoFirst] & 0xFF)]
            let secondWhole = second + first[intoFirst...]
            let third = NameTests.randomLabels(0...2, using: &generator)
            let thirdStart = bytes.count
            let (target, suffix) = Bool.random(using: &generator)
                ? { let index = Int.random(in: second.indices, using: &generator)
                    return (secondOffsets[index], Array(secondWhole[index...])) }()
                : (firstOffsets[0], first)
            bytes += wire(third) + [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)] + Array(repeating: 0xAB, count: 3)
            for (start, labels) in [(secondStart, secondWhole), (thirdStart, third + suffix)] {
                guard let whole = DNSName(labels: labels) else { continue }  // more than 255 octets
                let scanned = try bytes.withUnsafeBytes { buffer in
                    var reader = ByteReader(buffer, position: start)
                    var unused: [UInt8] = []
                    return try DNSName.scan(&reader, collectingInto: &unused, collect: false)
                }
                #expect(scanned.hashKey == whole.hashKey, "\(whole)")
                #expect(scanned.wireLength == whole.wireLength)
            }
        }
    }

    private func fromCNAMEChainQuestionHash() throws -> UInt64? {
        try DNSMessageSummary(parsing: Real.responseWithCNAMEChain).question?.nameHash
    }

    @Test func questionNameIsMaterializedLater() throws {
        let bytes = Real.responseSRV
        let summary = try DNSMessageSummary(parsing: bytes)
        let question = try #require(summary.question)
        let decoded = try bytes.withUnsafeBytes { buffer in try question.name(in: buffer) }
        #expect(decoded.description == "_sip._udp.example.test.")
        #expect(decoded.hashKey == question.nameHash)
        // Given the wrong bytes, it fails cleanly rather than trapping.
        let wrong: [UInt8] = [0, 0, 0]
        let error = wrong.withUnsafeBytes { buffer in parseError { try question.name(in: buffer) } }
        #expect(error?.section == .question)
    }

    @Test func bodyErrorKeepsHeaderAndQuestionUsable() throws {
        // A response whose only answer has a forward pointer.
        var message = MessageBuilder(counts: (1, 1, 0, 0))
        message.question("example.com")
        message.pointer(200)
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])
        let summary = try DNSMessageSummary(parsing: message.bytes)
        #expect(summary.header.id == 0x1234)
        #expect(summary.question?.nameHash == name("example.com.").hashKey)
        #expect(summary.bodyError
            == DNSParseError(.pointerNotBackward(pointer: 29, target: 200), offset: 29, section: .answer, recordNumber: 1))
        // Without validation the body is not looked at.
        let quick = try DNSMessageSummary(parsing: message.bytes, validateBody: false)
        #expect(quick.bodyError == nil && quick.question == summary.question && quick.edns == nil)
    }

    /// The OPT record seen before a later error still gives the summary its EDNS fields.
    @Test func ednsFoundBeforeABodyError() throws {
        var message = MessageBuilder(counts: (1, 0, 0, 2))
        message.question("example.com")
        message.opt(udpSize: 4096, ttl: 0x0100_8000)
        message.uint8(0x40)  // second additional: a bad label
        let summary = try DNSMessageSummary(parsing: message.bytes)
        #expect(summary.edns == EDNSSummary(udpPayloadSize: 4096, extendedRCodeHigh: 1, version: 0, dnssecOK: true))
        #expect(summary.bodyError?.code == .labelTooLong(length: 64))
    }

    @Test func messageWithoutQuestionHasNoQuestionSummary() throws {
        var message = MessageBuilder(counts: (0, 1, 0, 0))
        message.name("example.com")
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])
        let summary = try DNSMessageSummary(parsing: message.bytes)
        #expect(summary.question == nil && summary.bodyError == nil)
    }

    @Test func summaryFromAnotherModuleSizedBuffer() throws {
        // The engine hands a slice of a larger capture buffer: only the slice is read.
        let frame = [UInt8](repeating: 0xEE, count: 42) + Real.responseMX + [0xEE, 0xEE]
        let summary = try frame.withUnsafeBytes { buffer in
            try DNSMessageSummary(parsing: UnsafeRawBufferPointer(rebasing: buffer[42..<(42 + Real.responseMX.count)]))
        }
        #expect(summary.header.id == 15536 && summary.bodyError == nil)
    }
}
