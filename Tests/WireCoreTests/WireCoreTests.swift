import Testing
@testable import WireCore

struct ByteReaderTests {
    @Test func readsBigEndianAndStopsAtTheEnd() throws {
        let bytes: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0x9a]
        try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(try reader.readUInt16() == 0x1234)
            #expect(try reader.peekUInt8(at: 2) == 0x9a)
            #expect(throws: ByteReaderError(offset: 2, needed: 4, available: 3)) { try reader.readUInt32() }
            #expect(reader.position == 2)
            var slice = try reader.readSlice(count: 2)
            #expect(try slice.readUInt16() == 0x5678)
            #expect(throws: ByteReaderError.self) { try slice.readUInt8() }
            #expect(reader.remaining == 1)
            #expect(throws: ByteReaderError.self) { try reader.skip(-1) }
            #expect(throws: ByteReaderError.self) { try reader.seek(to: 6) }
        }
    }
}

struct TimestampTests {
    /// Values checked with `date -u -d @1758496289.123456789 +%FT%T.%NZ`.
    @Test(arguments: [
        (Int64(1_758_496_289_123_456_789), "2025-09-21T23:11:29.123456789Z"),
        (Int64(0), "1970-01-01T00:00:00.000000000Z"),
        (Int64(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999999Z"),
    ])
    func rfc3339(nanoseconds: Int64, expected: String) {
        #expect(Timestamp(nanoseconds: nanoseconds).rfc3339 == expected)
    }
}
