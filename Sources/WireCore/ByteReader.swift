/// A bounds-checked cursor over borrowed bytes: `read…` consumes, `peek…` looks ahead.
///
/// Invariant: `position` is always within `0...bytes.count`; every accessor checks the
/// length it needs before touching memory, so no accessor can trap on any input.
/// The bytes are borrowed (a libpcap buffer, usually): a reader must not outlive them.
/// Offsets in errors are relative to the start of `bytes`, which lets a layer report
/// where in its own header the problem is.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    @usableFromInline var cursor: Int

    /// Read position; moves only through `seek(to:)`, `skip(_:)` and the `read…` methods.
    @inlinable public var position: Int { cursor }

    @inlinable @inline(__always)
    public init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.cursor = max(0, min(position, bytes.count))
    }

    /// Bytes left from `position` to the end.
    @inlinable @inline(__always)
    public var remaining: Int { bytes.count - position }

    @inlinable @inline(__always)
    public var isAtEnd: Bool { position >= bytes.count }

    @inlinable @inline(__always)
    func check(_ count: Int) throws(ByteReaderError) {
        guard count >= 0, count <= bytes.count - position else {
            throw ByteReaderError(offset: position, needed: count, available: bytes.count - position)
        }
    }

    @inlinable @inline(__always)
    public func peekUInt8(at offset: Int = 0) throws(ByteReaderError) -> UInt8 {
        let index = position &+ offset
        guard offset >= 0, index < bytes.count else {
            throw ByteReaderError(offset: position, needed: offset + 1, available: bytes.count - position)
        }
        return bytes.load(fromByteOffset: index, as: UInt8.self)
    }

    @inlinable @inline(__always)
    public func peekUInt16(at offset: Int = 0) throws(ByteReaderError) -> UInt16 {
        guard offset >= 0, offset <= bytes.count - position - 2 else {
            throw ByteReaderError(offset: position, needed: offset + 2, available: bytes.count - position)
        }
        return UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: position + offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func peekUInt32(at offset: Int = 0) throws(ByteReaderError) -> UInt32 {
        guard offset >= 0, offset <= bytes.count - position - 4 else {
            throw ByteReaderError(offset: position, needed: offset + 4, available: bytes.count - position)
        }
        return UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: position + offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    public mutating func readUInt8() throws(ByteReaderError) -> UInt8 {
        let value = try peekUInt8()
        cursor += 1
        return value
    }

    @inlinable @inline(__always)
    public mutating func readUInt16() throws(ByteReaderError) -> UInt16 {
        let value = try peekUInt16()
        cursor += 2
        return value
    }

    @inlinable @inline(__always)
    public mutating func readUInt32() throws(ByteReaderError) -> UInt32 {
        let value = try peekUInt32()
        cursor += 4
        return value
    }

    /// Little-endian 16-bit read (link headers such as BSD NULL are host-ordered).
    @inlinable @inline(__always)
    public mutating func readUInt16LittleEndian() throws(ByteReaderError) -> UInt16 {
        try check(2)
        let value = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
        cursor += 2
        return value
    }

    /// Little-endian 32-bit read.
    @inlinable @inline(__always)
    public mutating func readUInt32LittleEndian() throws(ByteReaderError) -> UInt32 {
        try check(4)
        let value = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        cursor += 4
        return value
    }

    @inlinable @inline(__always)
    public mutating func skip(_ count: Int) throws(ByteReaderError) {
        try check(count)
        cursor += count
    }

    /// Moves to an absolute offset within `bytes`.
    @inlinable @inline(__always)
    public mutating func seek(to offset: Int) throws(ByteReaderError) {
        guard offset >= 0, offset <= bytes.count else {
            throw ByteReaderError(offset: position, needed: offset - position, available: bytes.count - position)
        }
        cursor = offset
    }

    /// Consumes `count` bytes and returns them as a view (no copy).
    @inlinable @inline(__always)
    public mutating func readBytes(_ count: Int) throws(ByteReaderError) -> UnsafeRawBufferPointer {
        try check(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        cursor += count
        return slice
    }

    /// Consumes `count` bytes and returns a reader clamped to them: the layer that owns a
    /// length field uses this so that it cannot read into the next layer's bytes.
    @inlinable @inline(__always)
    public mutating func readSlice(count: Int) throws(ByteReaderError) -> ByteReader {
        ByteReader(try readBytes(count))
    }

    /// Everything from `position` to the end, without consuming it.
    @inlinable @inline(__always)
    public var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[position...])
    }
}

/// A read past the end of the bytes: where it started, what it needed, what was there.
public struct ByteReaderError: Error, Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var needed: Int
    public var available: Int

    @inlinable
    public init(offset: Int, needed: Int, available: Int) {
        self.offset = offset
        self.needed = needed
        self.available = available
    }

    public var description: String {
        "truncated at offset \(offset): needed \(needed) bytes, \(available) available"
    }
}
