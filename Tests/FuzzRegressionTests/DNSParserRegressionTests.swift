import DNSWire
import Foundation
import Testing

@Suite struct DNSParserRegressionTests {
    /// FuzzDNSParser, crash-7ba96298: a response whose question name is exactly 255 octets
    /// (labels of 62, 59, 59, 57, 1, 6 and 3 bytes) parsed, but its presentation form did
    /// not read back: `DNSName(_: String)` counted a length byte for the empty label after
    /// the final dot, so the name came to 256 octets and was refused. (The answer after the
    /// question is cut short: the minimized message has a body error, its question is fine.)
    @Test func test_maximumLengthNameRoundTripsThroughPresentation() throws {
        let bytes = try reproducer("FuzzDNSParser/name-255-octets-round-trip")
        let summary = try DNSMessageSummary(parsing: bytes)
        let name = try bytes.withUnsafeBytes { buffer in try #require(summary.question).name(in: buffer) }
        #expect(name.wireLength == 255)
        #expect(DNSName(name.description) == name)
        #expect(DNSName(name.description)?.wireBytes == name.wireBytes)

        // The same limit from labels alone: 63 + 63 + 63 + 61 bytes, 255 octets in all.
        let longest = try #require(DNSName(labels: [63, 63, 63, 61].map { [UInt8](repeating: 0x61, count: $0) }))
        #expect(longest.wireLength == 255)
        #expect(DNSName(longest.description) == longest)
        #expect(DNSName(String(longest.description.dropLast())) == longest)
        // One octet more is still refused, with or without the trailing dot.
        let tooLong = [63, 63, 63, 62].map { String(repeating: "a", count: $0) }.joined(separator: ".")
        #expect(DNSName(tooLong) == nil)
        #expect(DNSName(tooLong + ".") == nil)
    }
}

/// The bytes of a minimized reproducer kept in `Reproducers/<target>/<name>`.
func reproducer(_ path: String, filePath: String = #filePath) throws -> [UInt8] {
    let directory = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Reproducers")
    return [UInt8](try Data(contentsOf: directory.appendingPathComponent(path)))
}
