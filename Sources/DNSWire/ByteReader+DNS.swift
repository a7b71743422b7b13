import WireCore

// `ByteReader`'s reads with a short read reported as `DNSParseError.truncated` at the
// reader's offset. Every reader in this module is over a prefix of one message that starts
// at the message's first byte, so reader offsets are message offsets.
extension ByteReader {
    @inline(__always)
    mutating func dnsReadUInt8() throws(DNSParseError) -> UInt8 {
        do throws(ByteReaderError) { return try readUInt8() } catch { throw DNSParseError(error) }
    }

    @inline(__always)
    mutating func dnsReadUInt16() throws(DNSParseError) -> UInt16 {
        do throws(ByteReaderError) { return try readUInt16() } catch { throw DNSParseError(error) }
    }

    @inline(__always)
    mutating func dnsReadUInt32() throws(DNSParseError) -> UInt32 {
        do throws(ByteReaderError) { return try readUInt32() } catch { throw DNSParseError(error) }
    }

    @inline(__always)
    mutating func dnsReadBytes(_ count: Int) throws(DNSParseError) -> UnsafeRawBufferPointer {
        do throws(ByteReaderError) { return try readBytes(count) } catch { throw DNSParseError(error) }
    }

    @inline(__always)
    mutating func dnsSkip(_ count: Int) throws(DNSParseError) {
        do throws(ByteReaderError) { try skip(count) } catch { throw DNSParseError(error) }
    }

    @inline(__always)
    mutating func dnsSeek(to offset: Int) throws(DNSParseError) {
        do throws(ByteReaderError) { try seek(to: offset) } catch { throw DNSParseError(error) }
    }

    /// The first `count` bytes of the reader's buffer (not from `position`): a view that
    /// keeps message offsets, used to clamp reads to the end of one record's RDATA.
    func dnsPrefix(_ count: Int) throws(DNSParseError) -> UnsafeRawBufferPointer {
        var whole = ByteReader(bytes)
        return try whole.dnsReadBytes(count)
    }
}

/// `Array.withUnsafeBytes` with the body's typed error kept (the standard one rethrows
/// `any Error`).
func withBorrowedBytes<Result, Failure: Error>(
    _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
) throws(Failure) -> Result {
    let outcome = bytes.withUnsafeBytes { buffer in
        Swift.Result { () throws(Failure) -> Result in try body(buffer) }
    }
    return try outcome.get()
}
