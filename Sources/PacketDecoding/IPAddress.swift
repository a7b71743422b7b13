import WireCore

/// An IPv4 or IPv6 address held in two machine words, so it hashes and compares without
/// allocating. IPv4 addresses live in the low 32 bits of `low` with `isIPv6 == false`.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    @inlinable
    public init(ipv4 value: UInt32) {
        high = 0
        low = UInt64(value)
        isIPv6 = false
    }

    @inlinable
    public init(ipv6High high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        isIPv6 = true
    }

    /// The address as 4 or 16 network-order bytes.
    public var bytes: [UInt8] {
        if !isIPv6 {
            let value = UInt32(truncatingIfNeeded: low)
            return [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
        }
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// Parses dotted IPv4 or RFC 4291 IPv6 text (`::` compression, embedded IPv4 tail).
    public init?(_ text: some StringProtocol) {
        if let v4 = IPAddress.parseIPv4(Substring(text)) {
            self.init(ipv4: v4)
            return
        }
        guard let (high, low) = IPAddress.parseIPv6(Substring(text)) else { return nil }
        self.init(ipv6High: high, low: low)
    }

    /// The address folded into one word for hashing (dictionaries keyed by addresses are
    /// on the per-packet path: one `combine` instead of three).
    @inlinable
    public var mixed: UInt64 {
        (high &* 0x9e37_79b9_7f4a_7c15) ^ low ^ (isIPv6 ? 0x6a09_e667_f3bc_c909 : 0)
    }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(mixed) }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.isIPv6 != rhs.isIPv6 { return !lhs.isIPv6 }
        return (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6: lowercase hex, no leading
    /// zeros, the longest run (two or more) of zero groups as `::` (the first on a tie),
    /// and IPv4-mapped addresses with a dotted tail (§5).
    public var description: String {
        String(unsafeUninitializedCapacity: IPAddress.maximumTextLength) { buffer in
            writeText(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Longest `description`: eight groups of four hex digits and seven colons.
    public static let maximumTextLength = 39

    /// Appends `description` as UTF-8, without building a `String`.
    public func appendText(to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: IPAddress.maximumTextLength, alignment: 1) { buffer in
            let count = writeText(into: buffer)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Writes `description` as UTF-8 at the start of `buffer` and returns its length (NDJSON
    /// lines write straight into their own buffer); writes nothing and returns 0 when
    /// `buffer` is shorter than `maximumTextLength`.
    public func writeText(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= IPAddress.maximumTextLength else { return 0 }
        var count = 0
        func put(_ byte: UInt8) {
            buffer[count] = byte
            count += 1
        }
        func putOctet(_ octet: UInt8) {
            let zero = UInt8(ascii: "0")
            if octet >= 100 { put(zero &+ octet / 100) }
            if octet >= 10 { put(zero &+ octet / 10 % 10) }
            put(zero &+ octet % 10)
        }
        func putDotted(_ value: UInt32) {
            putOctet(UInt8(truncatingIfNeeded: value >> 24))
            put(UInt8(ascii: "."))
            putOctet(UInt8(truncatingIfNeeded: value >> 16))
            put(UInt8(ascii: "."))
            putOctet(UInt8(truncatingIfNeeded: value >> 8))
            put(UInt8(ascii: "."))
            putOctet(UInt8(truncatingIfNeeded: value))
        }
        /// Lowercase hex without leading zeros (RFC 5952 §4.1, §4.3).
        func putHex(_ value: UInt16) {
            var shift = 12
            while shift > 0 && value >> shift == 0 { shift -= 4 }
            while shift >= 0 {
                let nibble = UInt8(truncatingIfNeeded: value >> shift) & 0xf
                put(nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10))
                shift -= 4
            }
        }

        if !isIPv6 {
            putDotted(UInt32(truncatingIfNeeded: low))
            return count
        }
        if high == 0 && low >> 32 == 0xffff {
            for byte in "::ffff:".utf8 { put(byte) }
            putDotted(UInt32(truncatingIfNeeded: low))
            return count
        }
        // RFC 5952 §4.2: the longest run of two or more zero groups, the first on a tie.
        var bestStart = -1, bestLength = 1, runStart = -1
        for index in 0...8 {
            if index < 8 && group(index) == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        var index = 0
        // A colon separates two groups; `::` stands in for the run, with no colon of its own.
        var needsColon = false
        while index < 8 {
            if index == bestStart {
                put(UInt8(ascii: ":"))
                put(UInt8(ascii: ":"))
                index += bestLength
                needsColon = false
                continue
            }
            if needsColon { put(UInt8(ascii: ":")) }
            putHex(group(index))
            needsColon = true
            index += 1
        }
        return count
    }

    /// The 16-bit group at `index` (0...7) of an IPv6 address, first group first.
    private func group(_ index: Int) -> UInt16 {
        index < 4 ? UInt16(truncatingIfNeeded: high >> (48 - 16 * index))
            : UInt16(truncatingIfNeeded: low >> (48 - 16 * (index - 4)))
    }

    static func parseIPv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    static func parseIPv6(_ text: Substring) -> (UInt64, UInt64)? {
        guard text.contains(":") else { return nil }
        var halves: [String] = []
        var current = ""
        var previous: Character? = nil
        for character in text {
            if character == ":" && previous == ":" {
                current.removeLast()
                halves.append(current)
                current = ""
                previous = nil
                continue
            }
            current.append(character)
            previous = character
        }
        halves.append(current)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (position, piece) in pieces.enumerated() {
                if position == pieces.count - 1, piece.contains("."), let v4 = parseIPv4(piece) {
                    result += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                } else {
                    guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                    result.append(group)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        let high = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (high, low)
    }
}

extension IPAddress: QuickHashable {
    @inlinable
    public var quickHash: UInt64 { mixed }
}
