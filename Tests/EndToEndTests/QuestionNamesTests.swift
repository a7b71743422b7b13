import DNSWire
import Testing
@testable import Pipeline

/// The analyzer renders each distinct question name once (`QuestionNames`): a cached text
/// must be exactly what rendering that message's name gives, whatever came before it.
struct QuestionNamesTests {
    /// A query for `labels` (type A, class IN), with an arbitrary header.
    static func query(_ labels: [[UInt8]], id: UInt16 = 0x4242) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in labels { bytes += [UInt8(label.count)] + label }
        bytes += [0, 0, 1, 0, 1]
        return bytes
    }

    static func text(_ cache: QuestionNames, _ bytes: [UInt8]) throws -> (cached: String?, rendered: String) {
        try bytes.withUnsafeBytes { message in
            let summary = try DNSMessageSummary(parsing: message)
            let question = try #require(summary.question)
            return (cache.text(of: question, in: message), try question.name(in: message).description)
        }
    }

    @Test func repeatedNameGivesTheSameText() throws {
        let cache = QuestionNames()
        let bytes = Self.query([Array("api".utf8), Array("example".utf8), Array("com".utf8)])
        for _ in 0..<3 {
            let result = try Self.text(cache, bytes)
            #expect(result.cached == "api.example.com.")
            #expect(result.cached == result.rendered)
        }
    }

    /// Same case-insensitive hash and length, other spelling (0x20 randomisation): the
    /// second query keeps its own case.
    @Test func otherCaseIsNotTakenFromTheCache() throws {
        let cache = QuestionNames()
        let lower = try Self.text(cache, Self.query([Array("www".utf8), Array("example".utf8), Array("com".utf8)]))
        let mixed = try Self.text(cache, Self.query([Array("WwW".utf8), Array("eXample".utf8), Array("COM".utf8)]))
        let lowerAgain = try Self.text(cache, Self.query([Array("www".utf8), Array("example".utf8), Array("com".utf8)]))
        #expect(lower.cached == "www.example.com.")
        #expect(mixed.cached == "WwW.eXample.COM.")
        #expect(lowerAgain.cached == "www.example.com.")
    }

    @Test func escapesAndRootAreRendered() throws {
        let cache = QuestionNames()
        let escaped = try Self.text(cache, Self.query([[UInt8(ascii: "a"), UInt8(ascii: "."), 0x07], Array("example".utf8)]))
        #expect(escaped.cached == #"a\.\007.example."#)
        #expect(try Self.text(cache, Self.query([])).cached == ".")
        #expect(try Self.text(cache, Self.query([])).cached == ".")
    }

    /// Many names from a small alphabet in random case, seen in random order: every text
    /// the cache gives equals a fresh rendering of that message's name.
    @Test func agreesWithRenderingOnRandomNames() throws {
        let cache = QuestionNames()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abAB-_.\\ 09".utf8) + [0x00, 0xC0, 0xFF]
        var bases: [[[UInt8]]] = []
        for _ in 0..<50 {
            let labelCount = Int.random(in: 1...4, using: &generator)
            bases.append((0..<labelCount).map { _ in
                (0..<Int.random(in: 1...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            })
        }
        for _ in 0..<2000 {
            let labels = bases.randomElement(using: &generator)!.map { label in
                label.map { byte in
                    Bool.random(using: &generator) && (0x61...0x7A).contains(byte | 0x20) ? byte ^ 0x20 : byte
                }
            }
            let result = try Self.text(cache, Self.query(labels))
            #expect(result.cached == result.rendered)
        }
    }

    /// Tens of thousands of distinct names, asked twice over in random order: the table
    /// grows (to its largest) while holding names, which move into the larger table; every
    /// answer, cached or rendered, is the name's own text.
    @Test func namesKeepTheirTextThroughTheTablesGrowth() throws {
        let cache = QuestionNames()
        var generator = SystemRandomNumberGenerator()
        let names = (0..<40_000).map { index in [Array("host-\(index)".utf8), Array("ns-\(index % 97)".utf8), Array("svc".utf8)] }
        var asked = names.indices.map { $0 }
        for round in 0..<2 {
            asked.shuffle(using: &generator)
            for index in asked {
                let result = try Self.text(cache, Self.query(names[index]))
                #expect(result.cached == result.rendered, "round \(round), name \(index)")
                #expect(result.rendered == "host-\(index).ns-\(index % 97).svc.")
            }
        }
    }
}
