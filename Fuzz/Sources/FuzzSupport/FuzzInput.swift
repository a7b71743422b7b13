#if canImport(Glibc)
import Glibc
#endif

/// Turns fuzzer bytes into structured choices. Never fails: once the bytes run out every
/// read returns zeros (or an empty buffer), so any input, however short, is a valid one.
///
/// Reads are in a fixed order from the front, so that libFuzzer's mutations of one byte
/// change one decision, and a minimized reproducer can be read by hand.
public struct FuzzInput {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Big-endian, as on the wire, so a hex dump of a reproducer reads naturally.
    public mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    public mutating func uint32() -> UInt32 {
        UInt32(uint16()) << 16 | UInt32(uint16())
    }

    public mutating func bool() -> Bool { byte() & 1 != 0 }

    /// The next `count` bytes, or as many as are left.
    public mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let length = max(0, min(count, remaining))
        defer { position += length }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
    }

    /// Everything that is left.
    public mutating func rest() -> UnsafeRawBufferPointer { take(remaining) }
}

/// Reports a broken invariant as a crash that libFuzzer records with its input. Uses
/// `abort()` after writing the message to stderr, so it is there whatever the backtracer does.
public func fuzzExpect(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    let text = "fuzz invariant broken at \(file):\(line): \(message())\n"
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
    abort()
}

/// `true` when `inner` lies within `outer` (an empty `inner` anywhere is fine): every view
/// a decoder hands out must borrow the bytes it was given, nothing else.
public func isWithin(_ inner: UnsafeRawBufferPointer, _ outer: UnsafeRawBufferPointer) -> Bool {
    guard inner.count > 0 else { return true }
    guard let innerStart = inner.baseAddress, let outerStart = outer.baseAddress else { return false }
    return innerStart >= outerStart && innerStart + inner.count <= outerStart + outer.count
}

/// Set `FUZZ_VERBOSE=1` to have targets print what each input did (to check that a
/// target's oracles are not vacuous, or to read a reproducer).
public let fuzzVerbose = getenv("FUZZ_VERBOSE") != nil

/// Writes one line to stderr when `fuzzVerbose` is set.
public func fuzzLog(_ message: @autoclosure () -> String) {
    guard fuzzVerbose else { return }
    var bytes = Array((message() + "\n").utf8)
    bytes.withUnsafeMutableBytes { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}
