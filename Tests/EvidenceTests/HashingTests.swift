import Foundation
import Testing
@testable import Evidence

@Suite("SHA-256 of files")
struct HashingTests {
    /// FIPS 180-2 appendix B.1 and the empty message.
    @Test(arguments: [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ])
    func knownVectors(input: String, expected: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("input", input)
        let digest = try sha256(fileAt: directory.file("input"))
        #expect(digest.hex == expected)
        #expect(digest.bytes == input.utf8.count)
    }

    /// A file spanning several read chunks, with a ragged tail, hashes as `sha256sum` does.
    @Test func multiChunkFileMatchesSha256sum() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var generator = SplitMix64(seed: 0x5EED)
        let size = 2 * sha256ChunkSize + sha256ChunkSize / 2 + 3
        let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let url = directory.file("random.bin")
        try Data(bytes).write(to: url)

        let digest = try sha256(fileAt: url)
        let result = try run("sha256sum", [url.path])
        #expect(result.status == 0)
        #expect(digest.hex == result.output.split(separator: " ").first.map(String.init))
        #expect(digest.bytes == size)
    }

    @Test func missingFileNamesPathAndReason() {
        #expect(throws: EvidenceError.cannotOpen(path: "/nonexistent/capture.pcap", reason: "No such file or directory")) {
            try sha256(fileAt: URL(fileURLWithPath: "/nonexistent/capture.pcap"))
        }
    }
}

/// Deterministic bytes for tests (Steele, Lea and Flood's SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
