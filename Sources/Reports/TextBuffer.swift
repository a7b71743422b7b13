/// A growable run of UTF-8 bytes for building one line of output at a time, reused from
/// line to line: an append is a capacity check and a store (or one `memcpy`), without an
/// `Array`'s uniqueness check and growth path per call, and without a `String` in between.
///
/// The only type in Reports that touches raw memory. `bytes` is valid until the next
/// change to the buffer.
final class TextBuffer {
    private var storage: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = max(capacity, 64)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 1)
    }

    deinit { storage.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    func removeAll() { count = 0 }

    func removeLast() {
        if count > 0 { count -= 1 }
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    func reserve(_ extra: Int) {
        if extra > capacity - count { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let new = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 1)
        new.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = new
        capacity = newCapacity
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        storage.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage + count).copyMemory(from: base, byteCount: bytes.count)
        count += bytes.count
    }

    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(UnsafeRawBufferPointer(bytes))
    }

    /// Text that needs no escaping (keys, punctuation).
    @inline(__always)
    func append(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    /// A string's UTF-8, as it is.
    func append(string text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { append($0) }
        if copied == nil { Array(text.utf8).withUnsafeBytes { append($0) } }
    }

    /// Lets `write` fill up to `maximum` bytes at the end, and keeps as many as it says it
    /// wrote.
    func appendWriting(upTo maximum: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int) {
        reserve(maximum)
        let written = write(UnsafeMutableRawBufferPointer(start: storage + count, count: maximum))
        count += min(max(written, 0), maximum)
    }

    /// Decimal digits, as `String(value)` spells them.
    func appendDecimal(_ value: UInt64) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        reserve(digits)
        rest = value
        var index = count + digits
        repeat {
            index -= 1
            storage.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10), toByteOffset: index, as: UInt8.self)
            rest /= 10
        } while rest > 0
        count += digits
    }

    func appendDecimal(_ value: some BinaryInteger) {
        if value < 0 { append(UInt8(ascii: "-")) }
        appendDecimal(UInt64(value.magnitude))
    }

    /// Exactly `count` decimal digits of `value` (below `10^count`), zero-padded.
    func appendDigits(_ value: UInt64, count digits: Int) {
        reserve(digits)
        var rest = value
        var index = count + digits
        while index > count {
            index -= 1
            storage.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10), toByteOffset: index, as: UInt8.self)
            rest /= 10
        }
        count += digits
    }
}
