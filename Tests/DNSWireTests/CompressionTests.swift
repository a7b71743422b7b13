import Testing
import WireCore
@testable import DNSWire

// RFC 1035 §4.1.4 compression, with the rule that makes loops impossible: a pointer must
// target a byte strictly before the start of the segment it ends (the name's own start, or
// the previous pointer's target). tcpdump prints a message with a bad pointer as
// `[|domain]` or with `<LOOP>`; tshark as "Malformed Packet".

@Suite struct CompressionTests {
    /// A name built from a pointer to a name that itself ends in a pointer:
    /// `a.www.example.com.` from `a`→`www`→`example.com`.
    @Test func pointerToAnEarlierPointerIsFollowed() throws {
        var message = MessageBuilder(counts: (1, 2, 0, 0))
        let question = message.question("example.com")
        let firstOwner = message.name("www", pointer: question)
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])
        message.name("a", pointer: firstOwner)
        message.recordTail(type: 1, rdata: [192, 0, 2, 2])

        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(parsed.answers.map(\.name) == [name("www.example.com."), name("a.www.example.com.")])
        #expect(parsed.answers[1].name.wireLength == 19)
    }

    /// `C0 0C` at offset 12: the question name points at itself.
    @Test func test_pointerLoop_pointerToItself() {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.pointer(12)
        message.uint16(1)
        message.uint16(1)
        let expected = DNSParseError(
            .pointerNotBackward(pointer: 12, target: 12), offset: 12, section: .question, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        #expect(parseError { try DNSMessageSummary(parsing: message.bytes) } == expected)
    }

    /// `01 61 C0 0C`: the label `a`, then a pointer back to the start of the same name,
    /// which would spell `a.a.a.…` for ever.
    @Test func test_pointerLoop_pointerBackToStartOfOwnName() {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.name("a", pointer: 12)
        message.uint16(1)
        message.uint16(1)
        #expect(parseError { try DNSMessage(parsing: message.bytes) }
            == DNSParseError(.pointerNotBackward(pointer: 14, target: 12), offset: 14, section: .question, recordNumber: 1))
    }

    @Test func forwardPointerIsRejected() {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.pointer(20)
        message.uint16(1)
        message.uint16(1)
        message.raw([0, 0, 0, 0])  // so that offset 20 exists and holds a valid root name
        #expect(parseError { try DNSMessage(parsing: message.bytes) }?.code == .pointerNotBackward(pointer: 12, target: 20))
    }

    /// Bytes 41–44 hold `C0 2B` and `C0 29`: 41 → 43 → 41 → … The second answer's owner
    /// enters the loop at 43 by a valid backward pointer; the pointer at 41 back to 43 is
    /// the one that breaks the rule.
    @Test func test_pointerLoop_twoPointersTargetingEachOther() {
        var message = MessageBuilder(counts: (1, 2, 0, 0))
        let question = message.question("example.com")  // 12…28
        message.pointer(question)  // answer 1 at 29
        let loop = message.recordTail(type: 0xFF00, rdata: [0xC0, 43, 0xC0, 41])
        #expect(loop == 41)
        let secondOwner = message.pointer(43)  // answer 2 at 45
        #expect(secondOwner == 45)
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])

        let expected = DNSParseError(
            .pointerNotBackward(pointer: 41, target: 43), offset: 41, section: .answer, recordNumber: 2)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        #expect(expected.description == "answer record 2 at offset 41: compression pointer at 41 targets 43, not backwards")
        // The summary still has the question and reports the loop as the body's error.
        let summary = try? DNSMessageSummary(parsing: message.bytes)
        #expect(summary?.question?.nameOffset == 12)
        #expect(summary?.bodyError == expected)
    }

    /// A chain of pointers, each 2 bytes before the next, ending at a root byte: every hop
    /// is backwards, so only the hop limit stops it.
    func pointerChainMessage(links: Int) -> (bytes: [UInt8], chainStart: Int) {
        var message = MessageBuilder(counts: (1, 2, 0, 0))
        let question = message.question("example.com")
        message.pointer(question)
        var rdata: [UInt8] = [0]  // the root byte, at 41
        let root = 41
        for link in 0..<links {
            let target = link == 0 ? root : root + 1 + 2 * (link - 1)
            rdata += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
        }
        message.recordTail(type: 0xFF00, rdata: rdata)
        let lastLink = root + 1 + 2 * (links - 1)
        message.pointer(lastLink)
        message.recordTail(type: 1, rdata: [192, 0, 2, 1])
        return (message.bytes, root + 1)
    }

    @Test func pointerChainAtTheHopLimitIsAccepted() throws {
        // The owner's own pointer plus 126 links: 127 pointers, the limit.
        let chain = pointerChainMessage(links: DNSName.maximumCompressionPointers - 1)
        let parsed = try DNSMessage(parsing: chain.bytes)
        #expect(parsed.answers[1].name == .root)
    }

    @Test func pointerChainOverTheHopLimitIsRejected() {
        // 128 pointers: the 128th is the first link, at the chain's start.
        let chain = pointerChainMessage(links: DNSName.maximumCompressionPointers)
        let expected = DNSParseError(.tooManyPointers, offset: chain.chainStart, section: .answer, recordNumber: 2)
        #expect(parseError { try DNSMessage(parsing: chain.bytes) } == expected)
        #expect((try? DNSMessageSummary(parsing: chain.bytes))?.bodyError == expected)
    }

    @Test func pointerCutInHalfIsTruncated() {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.uint8(0xC0)
        #expect(parseError { try DNSMessage(parsing: message.bytes) }
            == DNSParseError(.truncated(needed: 1), offset: 13, section: .question, recordNumber: 1))
    }

    /// A name inside RDATA may point anywhere before it, including into earlier RDATA.
    @Test func rdataNamePointsIntoEarlierRDATA() throws {
        let message = try DNSMessage(parsing: Real.responseWithCNAMEChain)
        // Answer 2's owner (C0 2E) and answer 3's (C0 4C) point into the CNAME targets.
        #expect(message.answers[1].name == name("web.example.test."))
        #expect(message.answers[2].name == name("host.example.test."))
    }
}

/// The walker ends a record name at a pointer to the (uncompressed) question name without
/// walking it again: the result and every error must be what the full walk gives.
@Suite struct KnownNameShortcutTests {
    /// Owner names `<labels>.<question>` through `C0 0C`, whose total length is 255 octets
    /// exactly, then one octet over: the first parses, the second fails as the full walk
    /// fails (at the question's label where the limit is crossed).
    @Test func lengthLimitThroughThePointerIsStillEnforced() throws {
        let question = "example.com" // 13 octets uncompressed
        for (labelLength, accepted) in [(242, true), (243, false)] {
            // Labels totalling `labelLength` octets with their length bytes: 3 × (1 + 63) + rest.
            var labels: [String] = []
            var left = labelLength
            while left > 0 {
                let size = min(64, left)
                labels.append(String(repeating: "x", count: size - 1))
                left -= size
            }
            var message = MessageBuilder(counts: (1, 1, 0, 0))
            let questionOffset = message.question(question)
            message.name(labels.joined(separator: "."), pointer: questionOffset)
            message.recordTail(type: 1, rdata: [192, 0, 2, 1])
            let full = Result { () throws(DNSParseError) in try DNSMessage(parsing: message.bytes) }
            let summary = Result { () throws(DNSParseError) in try DNSMessageSummary(parsing: message.bytes) }
            if accepted {
                let parsed = try full.get()
                #expect(parsed.answers[0].name.wireLength == 255)
                #expect(try summary.get().bodyError == nil)
            } else {
                guard case .failure(let error) = full else {
                    Issue.record("a 256-octet name was accepted")
                    continue
                }
                guard case .nameTooLong = error.code else {
                    Issue.record("expected nameTooLong, got \(error)")
                    continue
                }
                #expect(try summary.get().bodyError == error)
            }
        }
    }

    /// Scanning with and without the shortcut gives the same length for names that end in
    /// a pointer to the question, after zero to three labels.
    @Test func shortcutAgreesWithTheFullWalk() throws {
        for prefix in ["", "a", "www.b", "x.y.z"] {
            var message = MessageBuilder(counts: (1, 1, 0, 0))
            let questionOffset = message.question("svc.cluster.local")
            let ownerOffset = prefix.isEmpty ? message.pointer(questionOffset) : message.name(prefix, pointer: questionOffset)
            message.recordTail(type: 1, rdata: [192, 0, 2, 1])
            try message.bytes.withUnsafeBytes { bytes in
                var unused: [UInt8] = []
                var plain = ByteReader(bytes, position: ownerOffset)
                var quick = plain
                let walked = try DNSName.scan(&plain, collectingInto: &unused, collect: false)
                let known = KnownName(offset: questionOffset, wireLength: 19)
                let shortcut = try DNSName.scan(&quick, collectingInto: &unused, collect: false, hashing: false, known: known)
                #expect(shortcut.wireLength == walked.wireLength)
                #expect(shortcut.offset == walked.offset)
                #expect(quick.position == plain.position)
            }
        }
    }
}

/// `DNSName.scan(_:hashing:known:)` reads the common names (labels to the root, labels to a
/// pointer into the known name) itself and leaves every other name to the full loop: for
/// any bytes, name start and clamp, with or without the question as the known name (as the
/// walker has it: scanned whole, in place), both must give the same name, hash, reader
/// position and error.
@Suite struct NameScanFastPathTests {
    /// A question `svc.cluster.local` at 12, then names ending at the root, at a pointer to
    /// each label of the question, to the middle of a label, forward, past the clamp; then
    /// every byte of that message mutated at random, clamped at random.
    @Test func fastPathAgreesWithTheFullLoopOnEveryInput() throws {
        var message = MessageBuilder(counts: (1, 1, 0, 0))
        let questionOffset = message.question("svc.cluster.local")
        let knownLength = 19
        var starts = [questionOffset]
        for target in [questionOffset, questionOffset + 4, questionOffset + 12, questionOffset + 18,
                       questionOffset + 2, questionOffset + 40, 0] {
            starts.append(message.name("a.bb", pointer: target))
            starts.append(message.pointer(target))
        }
        starts.append(message.name(String(repeating: "x", count: 63) + "." + String(repeating: "y", count: 63)
                                   + "." + String(repeating: "z", count: 63) + "." + String(repeating: "w", count: 50),
                                   pointer: questionOffset))
        starts.append(message.name("www.example.test"))
        let original = message.bytes
        var generator = SystemRandomNumberGenerator()
        var compared = 0
        for round in 0..<4_000 {
            var bytes = original
            if round > 0 {
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    bytes[Int.random(in: 12..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            let clamp = round % 3 == 0 ? bytes.count : Int.random(in: 12...bytes.count, using: &generator)
            // As the walker makes it: the question, when it scans whole and in place.
            let questionName = bytes.withUnsafeBytes { whole -> KnownName? in
                var reader = ByteReader(UnsafeRawBufferPointer(rebasing: whole[..<clamp]), position: questionOffset)
                var unused: [UInt8] = []
                guard let name = try? DNSName.scan(&reader, collectingInto: &unused, collect: false),
                      reader.position - name.offset == name.wireLength else { return nil }
                return KnownName(offset: name.offset, wireLength: name.wireLength)
            }
            if round == 0 { #expect(questionName?.wireLength == knownLength) }
            for start in starts where start < clamp {
                for hashing in [false, true] {
                    for known in [nil, questionName] {
                        try bytes.withUnsafeBytes { whole in
                            let clamped = UnsafeRawBufferPointer(rebasing: whole[..<clamp])
                            var full = ByteReader(clamped, position: start)
                            var fast = full
                            var unused: [UInt8] = []
                            let expected = Result { () throws(DNSParseError) in
                                try DNSName.scan(&full, collectingInto: &unused, collect: false, hashing: hashing, known: known)
                            }
                            let found = Result { () throws(DNSParseError) in
                                try DNSName.scan(&fast, hashing: hashing, known: known)
                            }
                            #expect(found == expected, "round \(round), name at \(start), clamp \(clamp)")
                            if case .success = expected { #expect(fast.position == full.position) }
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared > 100_000)
    }
}
