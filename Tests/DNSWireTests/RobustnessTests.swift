import Testing
@testable import DNSWire

/// SplitMix64: a small, fixed, seedable generator, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

// A small randomized robustness test (the real fuzz target belongs in its own package):
// random and mutated buffers through the summary and the full parser. Neither may trap,
// and they must agree: the summary throws exactly when the message does, with the same
// error; otherwise the message parses exactly when the summary has no body error (or
// only trailing bytes), and fails with that body error when it has one.
@Suite struct RobustnessTests {
    static let iterations = 40_000

    @Test func randomAndMutatedBuffersNeverTrapAndBothParsersAgree() {
        var random = SplitMix64(state: 0x00D1_5EA5_E0F0_0D5)
        var outcomes = (parsed: 0, bodyErrors: 0, rejected: 0)
        for iteration in 0..<Self.iterations {
            let bytes = Self.input(iteration: iteration, using: &random)
            switch Self.check(bytes) {
            case .parsed: outcomes.parsed += 1
            case .bodyError: outcomes.bodyErrors += 1
            case .rejected: outcomes.rejected += 1
            case .disagreement(let what):
                Issue.record("iteration \(iteration), bytes \(hexadecimal(bytes)): \(what)")
                return
            }
        }
        // The inputs must reach every outcome often, or the test proves little.
        #expect(outcomes.parsed > Self.iterations / 20)
        #expect(outcomes.bodyErrors > Self.iterations / 10)
        #expect(outcomes.rejected > Self.iterations / 10)
    }

    /// One of: random bytes, a plausible header with a random body, or a real message with
    /// a few bytes changed, cut, or doubled.
    static func input(iteration: Int, using random: inout SplitMix64) -> [UInt8] {
        func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
        switch iteration % 4 {
        case 0:
            return randomBytes(Int.random(in: 0...120, using: &random))
        case 1:
            let counts = (0..<4).flatMap { _ in [0, UInt8.random(in: 0...3, using: &random)] }
            return randomBytes(4) + counts + randomBytes(Int.random(in: 0...150, using: &random))
        default:
            var bytes = allValidVectors[Int.random(in: 0..<allValidVectors.count, using: &random)]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[index] = 0xC0 | UInt8.random(in: 0...0x3F, using: &random)  // a pointer
                case 2: bytes[index] = UInt8.random(in: 0...70, using: &random)  // a length
                case 3: bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
                case 4: bytes.removeSubrange(index...)
                default: bytes.insert(contentsOf: bytes[index...].prefix(12), at: index)
                }
                if bytes.isEmpty { break }
            }
            return bytes
        }
    }

    enum Outcome {
        case parsed
        case bodyError
        case rejected
        case disagreement(String)
    }

    static func check(_ bytes: [UInt8]) -> Outcome {
        let message = Result { () throws(DNSParseError) in try DNSMessage(parsing: bytes) }
        let summary = Result { () throws(DNSParseError) in try DNSMessageSummary(parsing: bytes) }
        let quick = Result { () throws(DNSParseError) in try DNSMessageSummary(parsing: bytes, validateBody: false) }
        switch (summary, message) {
        case (.failure(let summaryError), .failure(let messageError)):
            guard summaryError == messageError else { return .disagreement("\(summaryError) vs \(messageError)") }
            guard case .failure(summaryError) = quick else { return .disagreement("quick summary: \(quick)") }
            _ = summaryError.description
            return .rejected
        case (.failure(let error), .success):
            return .disagreement("summary threw \(error), message parsed")
        case (.success(let summary), let message):
            guard case .success(let quick) = quick, quick.header == summary.header, quick.question == summary.question
            else { return .disagreement("quick summary: \(quick)") }
            if let question = summary.question {
                let name = bytes.withUnsafeBytes { buffer in try? question.name(in: buffer) }
                guard name?.hashKey == question.nameHash, name?.wireLength == question.nameWireLength else {
                    return .disagreement("question name \(String(describing: name)) vs its summary")
                }
            }
            var trailing = 0
            if case .trailingBytes(let count)? = summary.bodyError?.code { trailing = count }
            switch (summary.bodyError, message) {
            case (let bodyError, .success(let message)) where bodyError == nil || trailing > 0:
                guard message.header == summary.header,
                      message.questions.first?.name.hashKey == summary.question?.nameHash,
                      message.rcode == summary.rcode,
                      message.edns?.udpPayloadSize == summary.edns?.udpPayloadSize,
                      message.trailingByteCount == trailing
                else { return .disagreement("message \(message) vs summary \(summary)") }
                // Exercise every description: formatting must not trap either.
                let records = message.answers + message.authorities + message.additionals
                _ = (message.questions.map(\.description) + records.map(\.description)).joined()
                return summary.bodyError == nil ? .parsed : .bodyError
            case (let bodyError?, .failure(let messageError)) where trailing == 0:
                guard bodyError == messageError else { return .disagreement("body \(bodyError) vs message \(messageError)") }
                return .bodyError
            default:
                return .disagreement("summary body error \(String(describing: summary.bodyError)) vs message \(message)")
            }
        }
    }
}

/// The summary steps over the common records without building their views
/// (`MessageWalker.checkRecord`), `DNSMessage` reads every one: for a response with every
/// kind the step takes (A, AAAA, CNAME, MX, SRV, SOA, an unknown type, an OPT without
/// options) and every single byte of it changed to each of a set of values, both must
/// accept and reject the same bytes with the same errors.
@Suite struct RecordStepTests {
    static var response: [UInt8] {
        var message = MessageBuilder(counts: (1, 6, 1, 2))
        let question = message.question("svc.cluster.local")
        message.pointer(question)
        message.recordTail(type: 1, rdata: [10, 96, 0, 10])
        message.pointer(question)
        message.recordTail(type: 28, rdata: Array(repeating: 0x20, count: 16))
        message.pointer(question)
        var target = MessageBuilder(counts: (0, 0, 0, 0))
        target.name("web", pointer: question)
        message.recordTail(type: 5, rdata: Array(target.bytes.dropFirst(12)))
        message.pointer(question)
        message.recordTail(type: 15, rdata: [0, 10] + Array(target.bytes.dropFirst(12)))
        message.pointer(question)
        message.recordTail(type: 33, rdata: [0, 1, 0, 2, 0, 53] + Array(target.bytes.dropFirst(12)))
        message.pointer(question)
        message.recordTail(type: 99, rdata: [1, 2, 3])
        message.name("cluster.local")
        var soa = MessageBuilder(counts: (0, 0, 0, 0))
        soa.name("ns.dns", pointer: question + 4)
        soa.name("hostmaster", pointer: question + 4)
        for value: UInt32 in [1, 7200, 1800, 86400, 30] { soa.uint32(value) }
        message.recordTail(type: 6, rdata: Array(soa.bytes.dropFirst(12)))
        message.pointer(question)
        message.recordTail(type: 1, rdata: [10, 0, 0, 1])
        message.opt()
        return message.bytes
    }

    @Test func everySingleByteChangeIsJudgedAsTheFullReadJudgesIt() {
        let original = Self.response
        #expect(RobustnessTests.check(original).isParsed)
        var outcomes = (parsed: 0, bodyErrors: 0, rejected: 0)
        for index in 12..<original.count {
            let byte = original[index]
            for value in Set([0, 1, 2, 3, 4, 5, 15, 16, 20, 41, 63, 64, 0xC0, 0xC1, 0xFF, byte &+ 1, byte &- 1, byte ^ 0x80]) {
                var bytes = original
                bytes[index] = value
                for cut in [bytes.count, bytes.count - 1, index + 1] where cut <= bytes.count {
                    switch RobustnessTests.check(Array(bytes[..<cut])) {
                    case .parsed: outcomes.parsed += 1
                    case .bodyError: outcomes.bodyErrors += 1
                    case .rejected: outcomes.rejected += 1
                    case .disagreement(let what):
                        Issue.record("byte \(index) set to \(value), cut at \(cut): \(what)")
                        return
                    }
                }
            }
        }
        #expect(outcomes.parsed > 100)
        #expect(outcomes.bodyErrors > 1_000)
    }
}

extension RobustnessTests.Outcome {
    var isParsed: Bool { if case .parsed = self { true } else { false } }
}
