import Testing
@testable import DNSWire

@Suite struct NameTests {
    // MARK: Limits (RFC 1035 §2.3.4)

    @Test(arguments: [(UInt8(64), "label length 64 over 63"), (0x80, "reserved label type (length byte 128)"),
                      (0xBF, "reserved label type (length byte 191)")])
    func labelLengthByteOutsideZeroToSixtyThreeIsRejected(lengthByte: UInt8, text: String) {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.uint8(lengthByte)
        message.raw([UInt8](repeating: 0x61, count: 200))
        let expected = DNSParseError(
            .labelTooLong(length: Int(lengthByte)), offset: 12, section: .question, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
        #expect(parseError { try DNSMessageSummary(parsing: message.bytes) } == expected)
        #expect(expected.code.description == text)
    }

    @Test func labelOfSixtyThreeIsAccepted() throws {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.question(String(repeating: "a", count: 63) + ".com")
        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(parsed.questions[0].name.labels.map(\.count) == [63, 3])
    }

    /// Three 63-byte labels and one of 61: 3 × 64 + 62 + 1 = 255 octets, the maximum.
    @Test func nameOfTwoHundredFiftyFiveOctetsIsAccepted() throws {
        let long = [String](repeating: String(repeating: "a", count: 63), count: 3) + [String(repeating: "b", count: 61)]
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.question(long.joined(separator: "."))
        let parsed = try DNSMessage(parsing: message.bytes)
        #expect(parsed.questions[0].name.wireLength == 255)
        let summary = try DNSMessageSummary(parsing: message.bytes)
        #expect(summary.question?.nameWireLength == 255)
    }

    /// Four 63-byte labels: the fourth brings the name to 256 octets before its root byte.
    @Test func nameOverTwoHundredFiftyFiveOctetsIsRejected() {
        var message = MessageBuilder(counts: (1, 0, 0, 0))
        message.question([String](repeating: String(repeating: "a", count: 63), count: 4).joined(separator: "."))
        let expected = DNSParseError(.nameTooLong(length: 256), offset: 12 + 3 * 64, section: .question, recordNumber: 1)
        #expect(parseError { try DNSMessage(parsing: message.bytes) } == expected)
    }

    /// Compression cannot be used to build a name over the limit either: a 62-byte label
    /// in front of a pointer to a 193-octet name makes 256.
    @Test func compressedNameOverTwoHundredFiftyFiveOctetsIsRejected() {
        var message = MessageBuilder(counts: (2, 0, 0, 0))
        message.question([String](repeating: String(repeating: "a", count: 63), count: 3).joined(separator: "."))
        message.name(String(repeating: "b", count: 62), pointer: 12)
        message.uint16(1)
        message.uint16(1)
        #expect(parseError { try DNSMessage(parsing: message.bytes) }
            == DNSParseError(.nameTooLong(length: 256), offset: 12 + 3 * 64, section: .question, recordNumber: 2))
    }

    // MARK: Presentation format (RFC 1035 §5.1, RFC 4343 §2.1)

    @Test func presentationEscapesDotBackslashAndNonPrintableBytes() throws {
        let escaped = try #require(DNSName(labels: [
            Array("a.b".utf8), Array("\\".utf8), [0x00, 0x20, 0x7F, 0xFF], Array("ok".utf8),
        ]))
        #expect(escaped.description == #"a\.b.\\.\000\032\127\255.ok."#)
        #expect(DNSName(#"a\.b.\\.\000\032\127\255.ok."#) == escaped)
        #expect(DNSName(#"a\.b.\\.\000\ \127\255.ok"#) == escaped)  // `\X` quotes any X
        #expect(escaped.labelCount == 4)
    }

    @Test func rootAndSimpleNames() throws {
        #expect(DNSName.root.description == ".")
        #expect(DNSName(".") == .root)
        #expect(DNSName.root.wireLength == 1 && DNSName.root.labelCount == 0)
        let www = name("www.example.com.")
        #expect(www.description == "www.example.com.")
        #expect(www.wireLength == 17)
        #expect(www.labelCount == 3)
        #expect(www.wireBytes == hex("03 777777 07 6578616d706c65 03 636f6d 00"))
        #expect(DNSName("www.example.com") == www)  // no trailing dot: taken as absolute
    }

    @Test(arguments: ["", "a..b", ".a", "a\\", "a\\25", "a\\256", String(repeating: "x", count: 64) + ".com",
                      [String](repeating: String(repeating: "x", count: 63), count: 4).joined(separator: ".")])
    func invalidPresentationIsNil(text: String) {
        #expect(DNSName(text) == nil)
    }

    @Test func labelsInitializerChecksLimits() {
        #expect(DNSName(labels: []) == .root)
        #expect(DNSName(labels: [[]]) == nil)
        #expect(DNSName(labels: [[UInt8](repeating: 1, count: 64)]) == nil)
        #expect(DNSName(labels: [[UInt8]](repeating: [UInt8](repeating: 1, count: 63), count: 4)) == nil)
    }

    // MARK: Case-insensitive equality and hashing (RFC 4343 §3)

    @Test func equalityAndHashIgnoreASCIICase() {
        let lower = name("www.example.test.")
        let mixed = name("WwW.ExAmPlE.TEST.")
        #expect(lower == mixed)
        #expect(lower.hashValue == mixed.hashValue)
        #expect(lower.hashKey == mixed.hashKey)
        #expect(Set([lower, mixed]).count == 1)
        #expect(mixed.description == "WwW.ExAmPlE.TEST.")  // case kept for display
        #expect(lower != name("www.example.tes."))
        #expect(lower != name("ww.wexample.test."))  // same bytes but for one length byte
    }

    /// Folding by OR-ing 0x20 into every byte would make `@`/`` ` ``, `[`/`{` and
    /// 0xC3/0xE3 equal; only A–Z may fold.
    @Test func test_caseFolding_onlyTouchesASCIILetters() throws {
        #expect(name("@.") != name("`."))
        #expect(name("[.") != name("{."))
        let upper = try #require(DNSName(labels: [[0xC3]]))
        let lower = try #require(DNSName(labels: [[0xE3]]))
        #expect(upper != lower)
        #expect(upper.hashKey != lower.hashKey)
    }

    /// `NameHash` over the lowercased uncompressed wire form without its root byte (length
    /// bytes and labels, as one run) in little-endian 8-byte words, the last zero-padded,
    /// folded in with a 128-bit multiply (high ^ low) from the FNV offset basis, then
    /// `length << 8 | 0xFF`. Known answers from an independent implementation (Python, in the
    /// commit that introduced this form):
    ///
    ///     def mix(h, w): p = (h ^ w) * 0x9E3779B97F4A7C15; return ((p >> 64) ^ p) & (2**64 - 1)
    ///     words of the run, zero-padded: h = mix(h, int.from_bytes(word, "little"))
    ///     return mix(h, len(run) << 8 | 0xFF)
    @Test func hashKeyKnownAnswers() {
        #expect(DNSName.root.hashKey == 0xabff_4c1e_d1a7_033c)
        #expect(name("A.").hashKey == 0x17ab_f625_34d8_26d7)
        #expect(name("www.example.TEST.").hashKey == 0x0603_cc3b_0442_1132)
        // More than 8 bytes: whole words across the labels, then a tail.
        #expect(name("a-very-long-label-of-more-than-sixteen-bytes.cluster.local.").hashKey == 0x5427_8e94_378e_635c)
    }

    /// The presentation form against a plain rendering of RFC 1035 §5.1 (escapes for `.`
    /// and `\\`, `\\DDD` outside 0x21-0x7E), on names of random labels over every byte value.
    @Test func descriptionAgreesWithAPlainRenderingForEveryByte() throws {
        func plain(_ labels: [[UInt8]]) -> String {
            var text = ""
            for label in labels {
                for byte in label {
                    switch byte {
                    case UInt8(ascii: "."), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
                    case 0x21...0x7E: text += String(UnicodeScalar(byte))
                    default: text += "\\" + String(String(1000 + Int(byte)).dropFirst())
                    }
                }
                text += "."
            }
            return labels.isEmpty ? "." : text
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let labels = Self.randomLabels(0...6, using: &generator)
            let name = try #require(DNSName(labels: labels))
            #expect(name.description == plain(labels))
        }
        // Every byte value once, in labels of 63.
        let all = (0...255).map { UInt8($0) }
        let labels = [Array(all[0..<63]), Array(all[63..<126]), Array(all[126..<189])]
        #expect(try #require(DNSName(labels: labels)).description == plain(labels))
    }

    /// Up to `count` labels of 1 to 20 random bytes, as many as fit in a name.
    static func randomLabels(_ count: ClosedRange<Int>, using generator: inout some RandomNumberGenerator) -> [[UInt8]] {
        var labels: [[UInt8]] = []
        var total = 1
        for _ in 0..<Int.random(in: count, using: &generator) {
            let label = (0..<Int.random(in: 1...20, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            guard total + 1 + label.count <= 255 else { break }
            total += 1 + label.count
            labels.append(label)
        }
        return labels
    }

    /// The leading names' hashes, read from the presentation form, are the `hashKey`s of the
    /// names made of the first 1, 2, ... labels, on random names over every byte value (the
    /// escapes `\.`, `\\` and `\DDD` included) and mixed case; text that `init?(_:)`
    /// refuses stops where it fails.
    @Test func leadingNameHashesAreThoseOfTheLeadingNames() throws {
        func hashes(_ text: String) -> [UInt64] {
            var found: [UInt64] = []
            var wholes: [Bool] = []
            DNSName.forEachLeadingNameHash(of: text) { hash, isWhole in
                found.append(hash)
                wholes.append(isWhole)
            }
            #expect(wholes.dropLast().allSatisfy { !$0 }, "\(text)")
            return found
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let labels = Self.randomLabels(1...6, using: &generator)
            let name = try #require(DNSName(labels: labels))
            let expected = try (1...labels.count).map { try #require(DNSName(labels: Array(labels.prefix($0)))).hashKey }
            #expect(hashes(name.description) == expected, "\(name)")
            // Without the trailing dot the name is the same (taken as absolute).
            #expect(hashes(String(name.description.dropLast())) == expected, "\(name)")
        }
        // Names without escapes (the fast path: dots found eight bytes at a time), of every
        // length up to 255 octets and labels of 1 to 63 letters, digits and hyphens.
        let plain = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".utf8)
        for _ in 0..<2_000 {
            var labels: [[UInt8]] = []
            var total = 0
            let longest = Int.random(in: 1...63, using: &generator)
            for _ in 0..<Int.random(in: 1...40, using: &generator) {
                let label = (0..<Int.random(in: 1...longest, using: &generator)).map { _ in plain.randomElement(using: &generator)! }
                guard total + 1 + label.count <= 254 else { break }
                total += 1 + label.count
                labels.append(label)
            }
            guard !labels.isEmpty else { continue }
            let name = try #require(DNSName(labels: labels))
            let expected = try (1...labels.count).map { try #require(DNSName(labels: Array(labels.prefix($0)))).hashKey }
            #expect(hashes(name.description) == expected, "\(name)")
            #expect(hashes(String(name.description.dropLast())) == expected, "\(name)")
        }
        #expect(hashes("API.GitHub.com.svc.cluster.local.").prefix(3) == hashes("api.github.com.")[...])
        #expect(hashes(".") == [DNSName.root.hashKey])
        #expect(hashes("a\\.b.c.") == [name("a\\.b.").hashKey, name("a\\.b.c.").hashKey])
        #expect(hashes("a\\098.c.") == hashes("ab.c."))
        // Where `init?(_:)` fails: an empty label, a bad escape, a label of 64, a name over 255.
        #expect(hashes("a..b.") == [name("a.").hashKey])
        #expect(hashes("a.b\\25x.") == [name("a.").hashKey])
        #expect(hashes("a.b\\256.") == [name("a.").hashKey])
        #expect(hashes("a." + String(repeating: "x", count: 64) + ".") == [name("a.").hashKey])
        let sixtyThree = String(repeating: "y", count: 63)
        let longest = [String](repeating: sixtyThree, count: 3).joined(separator: ".") + "." + String(repeating: "z", count: 61) + "."
        #expect(DNSName(longest) != nil)
        #expect(hashes(longest).count == 4)
        #expect(DNSName(longest + "q.") == nil)
        #expect(hashes(longest + "q.").count == 4)
        #expect(hashes("").isEmpty)
    }

    /// The eight-at-a-time lowercasing agrees with the byte-by-byte one for every byte value
    /// in every position.
    @Test func wordLowercasingAgreesWithBytes() {
        for byte in 0...255 {
            for position in 0..<8 {
                let filler: UInt64 = 0x5A41_7A61_405B_2E2D   // Z A z a @ [ . -
                let word = filler & ~(0xFF << UInt64(8 * position)) | UInt64(byte) << UInt64(8 * position)
                var expected: UInt64 = 0
                for index in 0..<8 {
                    let original = UInt8(truncatingIfNeeded: word >> UInt64(8 * index))
                    expected |= UInt64(NameHash.asciiLowercase(original)) << UInt64(8 * index)
                }
                #expect(NameHash.asciiLowercase(word: word) == expected, "byte \(byte) at \(position)")
            }
        }
    }

    @Test func subdomains() {
        let zone = name("Example.Test.")
        #expect(name("www.example.test.").isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: .root))
        #expect(!name("wwwexample.test.").isSubdomain(of: name("example.test.")))
        #expect(!name("example.test.").isSubdomain(of: name("www.example.test.")))
        #expect(!name("xample.test.").isSubdomain(of: name("example.test.")))
    }

    // MARK: Decoding on its own

    @Test func parsingAtAnOffsetOutsideTheMessageIsTruncated() {
        let bytes: [UInt8] = [0]
        let error = bytes.withUnsafeBytes { buffer in parseError { try DNSName(parsing: buffer, at: 5) } }
        #expect(error?.code == .truncated(needed: 5))
        let ok = bytes.withUnsafeBytes { buffer in try? DNSName(parsing: buffer, at: 0) }
        #expect(ok == .root)
    }
}
