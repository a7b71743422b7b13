import WireCore

/// A domain name, kept as its uncompressed wire-format labels.
///
/// Invariant: `storage` is a sequence of length-prefixed labels, each 1…63 bytes, without
/// the terminal zero (the root name is empty), and `wireLength` (storage plus the root
/// byte) is at most 255 (RFC 1035 §2.3.4). Every initializer checks this, so walking the
/// labels never fails. Equality and hashing ignore ASCII case (RFC 4343 §3); any other byte
/// compares exactly.
public struct DNSName: Sendable, CustomStringConvertible {
    /// RFC 1035 §2.3.4: "labels 63 octets or less".
    public static let maximumLabelLength = 63
    /// RFC 1035 §2.3.4: "names 255 octets or less", length bytes and root included.
    public static let maximumWireLength = 255
    /// A second guard beside "pointers point strictly backwards", which alone already rules
    /// out loops. A 255-octet name has at most 127 labels, so a name that reaches each of its
    /// labels by a separate pointer needs at most 127; more is a pointer-to-pointer chain
    /// whose only use is to burn the parser's time.
    public static let maximumCompressionPointers = 127

    /// Length-prefixed labels as on the wire, without the terminal zero; empty for the root.
    public private(set) var storage: [UInt8]

    /// The root name `.`.
    public static let root = DNSName(validatedStorage: [])

    init(validatedStorage: [UInt8]) {
        self.storage = validatedStorage
    }

    /// A name from its labels, most specific first (`["www", "example", "com"]` as bytes);
    /// `nil` if a label is empty or over 63 bytes, or the name over 255 octets.
    public init?(labels: [[UInt8]]) {
        var storage: [UInt8] = []
        for label in labels {
            guard !label.isEmpty, label.count <= Self.maximumLabelLength else { return nil }
            storage.append(UInt8(label.count))
            storage.append(contentsOf: label)
            guard storage.count < Self.maximumWireLength else { return nil }
        }
        self.storage = storage
    }

    /// A name from presentation format (`www.example.com.`, `.` for the root), with the
    /// escapes `\X` and `\DDD` of RFC 1035 §5.1. A missing trailing dot is accepted: the name
    /// is taken as absolute. `nil` for an empty label, a bad escape, or a limit exceeded.
    public init?(_ text: String) {
        if text.utf8.count == 1 && text == "." {
            self.storage = []
            return
        }
        var storage: [UInt8] = []
        var label: [UInt8] = []
        var characters = text.utf8.makeIterator()
        var sawAnything = false
        while let character = characters.next() {
            sawAnything = true
            switch character {
            case UInt8(ascii: "."):
                guard !label.isEmpty else { return nil }
                storage.append(UInt8(label.count))
                storage.append(contentsOf: label)
                label.removeAll(keepingCapacity: true)
            case UInt8(ascii: "\\"):
                guard let first = characters.next() else { return nil }
                if let hundreds = Self.decimalDigit(first) {
                    guard let tens = characters.next().flatMap(Self.decimalDigit),
                          let units = characters.next().flatMap(Self.decimalDigit)
                    else { return nil }
                    let value = hundreds * 100 + tens * 10 + units
                    guard value <= 255 else { return nil }
                    label.append(UInt8(value))
                } else {
                    label.append(first)
                }
            default:
                label.append(character)
            }
            // The name so far, root byte included; a label not yet started (just after a
            // dot) has no length byte yet. (FuzzDNSParser: counting one rejected every
            // 255-octet name written with its trailing dot, as `description` writes it.)
            guard label.count <= Self.maximumLabelLength,
                  storage.count + (label.isEmpty ? 0 : 1 + label.count) + 1 <= Self.maximumWireLength
            else { return nil }
        }
        guard sawAnything else { return nil }
        if !label.isEmpty {
            storage.append(UInt8(label.count))
            storage.append(contentsOf: label)
        }
        self.storage = storage
    }

    /// Calls `body` with the `hashKey` of every name made of the first labels of the name
    /// written `text` (presentation format, as `description` writes it): for
    /// `api.github.com.svc.` those of `api.`, `api.github.`, `api.github.com.` and the whole
    /// name, `isWhole` set for the last (the root: its own, once). One pass, nothing
    /// allocated: a search-path rule learns an NXDOMAIN name's prefixes without a `DNSName`
    /// for each, and the real name, answered later, is found by its question's `nameHash`.
    /// Stops quietly where `init?(_:)` would fail (an empty label, a bad escape, a limit
    /// exceeded).
    public static func forEachLeadingNameHash(of text: String, _ body: (_ hash: UInt64, _ isWhole: Bool) -> Void) {
        if text.utf8.count == 1 && text == "." {
            body(NameHash.finish(NameHash.basis, length: 0), true)
            return
        }
        var text = text
        text.withUTF8 { characters in
            // The labels so far as on the wire, and 8 spare bytes for `NameHash.add`'s word reads.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumWireLength + 8) { wire in
                let bytes = UnsafeRawBufferPointer(wire)
                var prefixes = NameHash.Prefixes()
                // Most names: no escapes, well within 255 octets. Copied after a first length
                // byte, each dot is where the next label's length byte goes: one pass finds the
                // dots, fills in the lengths and hashes each prefix as it ends, every whole word
                // once (a few instructions a byte; the byte-by-byte loop below costs several
                // times that).
                // Dots and backslashes are found eight bytes at a time (`NameHash.bytes(_:equalTo:)`).
                if characters.count <= maximumWireLength - 2, let base = characters.baseAddress,
                   let target = wire.baseAddress {
                    (target + 1).update(from: base, count: characters.count)
                    let end = characters.count + 1
                    // Zeros after the name: the last word read holds no dot nor backslash there.
                    (target + end).initialize(repeating: 0, count: 8)
                    func word(at offset: Int) -> UInt64 {
                        UInt64(littleEndian: UnsafeRawPointer(target + offset).loadUnaligned(as: UInt64.self))
                    }
                    var escaped = false
                    for offset in stride(from: 1, to: end, by: 8)
                    where NameHash.bytes(word(at: offset), equalTo: UInt8(ascii: "\\")) != 0 {
                        escaped = true
                        break
                    }
                    if !escaped {
                        var labelStart = 0
                        for offset in stride(from: 1, to: end, by: 8) {
                            // Read before any length byte is written into it (those go to dots
                            // already found, at or before `offset + 7`).
                            var dots = NameHash.bytes(word(at: offset), equalTo: UInt8(ascii: "."))
                            while dots != 0 {
                                let index = offset + dots.trailingZeroBitCount >> 3
                                dots &= dots &- 1
                                let length = index - labelStart - 1
                                guard length > 0, length <= maximumLabelLength else { return }
                                target[labelStart] = UInt8(length)
                                body(NameHash.prefix(ofFirst: index, in: bytes, folding: &prefixes), index + 1 == end)
                                labelStart = index
                            }
                        }
                        let length = end - labelStart - 1
                        guard length > 0, length <= maximumLabelLength else { return }
                        target[labelStart] = UInt8(length)
                        body(NameHash.prefix(ofFirst: end, in: bytes, folding: &prefixes), true)
                        return
                    }
                }
                var labelStart = 0
                var written = 1
                var index = 0
                let count = characters.count
                while index < count {
                    var character = characters[index]
                    index += 1
                    if character == UInt8(ascii: ".") {
                        let length = written - labelStart - 1
                        guard length > 0 else { return }
                        wire[labelStart] = UInt8(length)
                        body(NameHash.prefix(ofFirst: written, in: bytes, folding: &prefixes), index == count)
                        labelStart = written
                        written += 1
                        continue
                    }
                    if character == UInt8(ascii: "\\") {
                        guard index < count else { return }
                        character = characters[index]
                        index += 1
                        if let hundreds = decimalDigit(character) {
                            guard index + 1 < count, let tens = decimalDigit(characters[index]),
                                  let units = decimalDigit(characters[index + 1]) else { return }
                            index += 2
                            let value = hundreds * 100 + tens * 10 + units
                            guard value <= 255 else { return }
                            character = UInt8(value)
                        }
                    }
                    // The label within 63 bytes, the name with its root byte within 255.
                    guard written - labelStart <= maximumLabelLength, written + 1 < maximumWireLength else { return }
                    wire[written] = character
                    written += 1
                }
                // A last label without its trailing dot (the name is taken as absolute).
                let length = written - labelStart - 1
                guard length > 0 else { return }
                wire[labelStart] = UInt8(length)
                body(NameHash.prefix(ofFirst: written, in: bytes, folding: &prefixes), true)
            }
        }
    }

    private static func decimalDigit(_ character: UInt8) -> Int? {
        character >= UInt8(ascii: "0") && character <= UInt8(ascii: "9")
            ? Int(character - UInt8(ascii: "0")) : nil
    }

    /// Decodes the name at `offset` in a whole message, following compression pointers.
    public init(parsing message: UnsafeRawBufferPointer, at offset: Int) throws(DNSParseError) {
        var reader = ByteReader(message)
        try reader.dnsSeek(to: offset)
        var storage: [UInt8] = []
        storage.reserveCapacity(64)  // most names; a longer one grows once or twice (≤ 255)
        _ = try Self.scan(&reader, collectingInto: &storage, collect: true)
        self.storage = storage
    }

    public var isRoot: Bool { storage.isEmpty }

    /// Octets of the uncompressed wire form: length bytes, labels and the root byte.
    public var wireLength: Int { storage.count + 1 }

    /// Number of labels, the root not counted (`www.example.com.` has 3, `.` has 0).
    public var labelCount: Int {
        var count = 0
        forEachLabel { _ in count += 1 }
        return count
    }

    /// The labels, most specific first, without length bytes.
    public var labels: [[UInt8]] {
        var labels: [[UInt8]] = []
        forEachLabel { labels.append(Array($0)) }
        return labels
    }

    /// The uncompressed wire form, terminal zero included.
    public var wireBytes: [UInt8] { storage + [0] }

    /// `NameHash` over the uncompressed wire form with ASCII letters lowercased: equal names
    /// give equal keys whatever their case or compression. The same function as
    /// `DNSQuestionSummary.nameHash`, so a summary can be matched to a name.
    public var hashKey: UInt64 {
        storage.withUnsafeBytes { NameHash.of($0, at: 0, count: $0.count) }
    }

    /// True if `self` is `other` or below it (`www.example.com.` is in `example.com.`),
    /// comparing labels as `==` does.
    public func isSubdomain(of other: DNSName) -> Bool {
        let suffixStart = storage.count - other.storage.count
        guard suffixStart >= 0 else { return false }
        guard !other.storage.isEmpty else { return true }
        var isLabelBoundary = false
        forEachLabelStart { labelStart in
            if labelStart == suffixStart { isLabelBoundary = true }
        }
        guard isLabelBoundary else { return false }
        return zip(storage.dropFirst(suffixStart), other.storage).allSatisfy { pair in
            NameHash.asciiLowercase(pair.0) == NameHash.asciiLowercase(pair.1)
        }
    }

    /// Presentation format with a trailing dot (RFC 1035 §5.1, RFC 4343 §2.1): `.` and `\`
    /// inside a label as `\.` and `\\`, bytes outside 0x21…0x7E as `\DDD` in decimal.
    public var description: String {
        if storage.isEmpty { return "." }
        // Written straight into the string's storage, at most 4 bytes per name byte (`\DDD`;
        // a length byte becomes the dot): appending to an array byte by byte cost ~100
        // instructions a character, and every name seen is rendered once (QuestionNames).
        return storage.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 4 * bytes.count) { text in
                var written = 0
                var position = 0
                // As `forEachLabel`: a label running past the end (never, by the invariant)
                // ends the name quietly.
                while position < bytes.count, position + 1 + Int(bytes[position]) <= bytes.count {
                    let end = position + 1 + Int(bytes[position])
                    position += 1
                    while position < end {
                        let byte = bytes[position]
                        switch byte {
                        case UInt8(ascii: "."), UInt8(ascii: "\\"):
                            text[written] = UInt8(ascii: "\\")
                            text[written + 1] = byte
                            written += 2
                        case 0x21...0x7E:
                            text[written] = byte
                            written += 1
                        default:
                            let escape = decimalEscape(byte)
                            text[written] = escape.0
                            text[written + 1] = escape.1
                            text[written + 2] = escape.2
                            text[written + 3] = escape.3
                            written += 4
                        }
                        position += 1
                    }
                    text[written] = UInt8(ascii: ".")
                    written += 1
                }
                return written
            }
        }
    }

    /// Calls `body` with each label's bytes, most specific first. Relies on the invariant;
    /// stops quietly at anything malformed rather than trapping.
    func forEachLabel(_ body: (UnsafeRawBufferPointer) -> Void) {
        storage.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            while let length = try? reader.readUInt8(), let label = try? reader.readBytes(Int(length)) {
                body(label)
            }
        }
    }

    /// Calls `body` with the storage offset of each label's length byte.
    private func forEachLabelStart(_ body: (Int) -> Void) {
        storage.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            while !reader.isAtEnd {
                body(reader.position)
                guard let length = try? reader.readUInt8(), (try? reader.skip(Int(length))) != nil else { return }
            }
        }
    }
}

extension DNSName: Hashable {
    /// RFC 4343 §3: ASCII letters compare without regard to case; all other bytes exactly.
    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.storage.count == rhs.storage.count else { return false }
        // Length bytes are at most 63, below "A", so lowercasing every byte is safe.
        return zip(lhs.storage, rhs.storage).allSatisfy { pair in
            NameHash.asciiLowercase(pair.0) == NameHash.asciiLowercase(pair.1)
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hashKey)
    }
}

/// The name hash shared by `DNSName.hashKey`, the allocation-free name scan and
/// `DNSName.forEachLeadingNameHash`: the uncompressed wire form without its root byte (each
/// label's length byte and bytes) with ASCII letters lowercased, read as little-endian 8-byte
/// words, the last one zero-padded, each folded in with a 64 x 64 -> 128-bit multiply (high
/// and low halves xored, as wyhash does), then the length. Over the whole form, not label by
/// label: a question's name (never compressed) is hashed in one run of words after its labels
/// are checked (a run per label cost the name scan a third more); a compressed name is put
/// together first, so compression cannot change the hash. Byte by byte (FNV-1a) it was a
/// third of the cost of parsing a query.
enum NameHash {
    static let basis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    static func asciiLowercase(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    /// Eight bytes with every ASCII capital letter lowercased (bytes 0x41-0x5A get 0x20).
    @inline(__always)
    static func asciiLowercase(word: UInt64) -> UInt64 {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let atLeastA = low &+ 0x3F3F_3F3F_3F3F_3F3F     // top bit set where low >= 0x41
        let pastZ = low &+ 0x2525_2525_2525_2525        // top bit set where low >= 0x5B
        let capital = atLeastA & ~pastZ & ~word & 0x8080_8080_8080_8080
        return word | capital >> 2
    }

    /// 0x80 in each byte of `word` equal to `byte`, 0 in the others; exact (no carry crosses
    /// a byte, unlike the shorter `(x - 0x01..) & ~x & 0x80..`).
    @inline(__always)
    static func bytes(_ word: UInt64, equalTo byte: UInt8) -> UInt64 {
        let difference = word ^ UInt64(byte) &* 0x0101_0101_0101_0101
        let low = 0x7F7F_7F7F_7F7F_7F7F as UInt64
        return ~(((difference & low) &+ low) | difference | low)
    }

    @inline(__always)
    private static func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let product = (hash ^ word).multipliedFullWidth(by: multiplier)
        return product.high ^ product.low
    }

    /// Adds the `count` bytes at `start` of `bytes` as words, the last zero-padded. Reads up
    /// to 7 bytes past them when `bytes` has them (masked off), byte by byte otherwise.
    @inline(__always)
    static func add(_ bytes: UnsafeRawBufferPointer, at start: Int, count: Int, to hash: UInt64) -> UInt64 {
        guard let base = bytes.baseAddress else { return hash }
        var hash = hash
        var offset = start
        let end = start + count
        while offset + 8 <= end {
            hash = mix(hash, asciiLowercase(word: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
            offset += 8
        }
        let rest = end - offset
        guard rest > 0 else { return hash }
        var word: UInt64
        if offset + 8 <= bytes.count {
            word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                & (UInt64.max >> UInt64(64 - 8 * rest))
        } else {
            word = 0
            for index in 0..<rest { word |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
        }
        return mix(hash, asciiLowercase(word: word))
    }

    /// The hash of a name whose `length` bytes (all but the root byte) were added.
    @inline(__always)
    static func finish(_ hash: UInt64, length: Int) -> UInt64 { mix(hash, UInt64(truncatingIfNeeded: length) << 8 | 0xFF) }

    /// The hash of the name whose wire form without its root byte is the `count` bytes at
    /// `start` of `bytes`.
    @inline(__always)
    static func of(_ bytes: UnsafeRawBufferPointer, at start: Int, count: Int) -> UInt64 {
        finish(add(bytes, at: start, count: count, to: basis), length: count)
    }

    /// The hashes of the leading parts of a wire form written from the start of a buffer, as
    /// they end: each whole word is folded in once (`prefix(ofFirst:in:folding:)`).
    struct Prefixes {
        fileprivate var hash = NameHash.basis
        fileprivate var folded = 0
    }

    /// The hash of the name made of the first `length` bytes of `bytes` (whole labels), which
    /// must not change afterwards; each call of one `Prefixes` asks for a longer one.
    @inline(__always)
    static func prefix(ofFirst length: Int, in bytes: UnsafeRawBufferPointer, folding state: inout Prefixes) -> UInt64 {
        let whole = length & ~7
        if whole > state.folded {
            state.hash = add(bytes, at: state.folded, count: whole - state.folded, to: state.hash)
            state.folded = whole
        }
        return finish(add(bytes, at: state.folded, count: length - state.folded, to: state.hash), length: length)
    }
}

/// What one pass over a name learns without allocating: where it starts, how long it is
/// uncompressed, and its `NameHash` (0 when scanned without hashing).
struct ScannedName: Hashable, Sendable {
    var offset: Int
    var wireLength: Int
    var hashKey: UInt64
}

/// A name already scanned in the same message, stored uncompressed at `offset`: a pointer
/// to it ends a later name without walking it again (its labels are known to be valid).
struct KnownName {
    var offset: Int
    var wireLength: Int
}

extension DNSName {
    /// Decodes the name at `reader.position` and leaves `reader` just after the name's bytes
    /// in place (after its terminal zero or its first pointer). Labels are appended to
    /// `storage` only if `collect` is set; the length is always computed, the hash unless
    /// `hashing` is off, and nothing is allocated otherwise.
    ///
    /// A loop, never recursion. RFC 1035 §4.1.4 lets a pointer replace the end of a name;
    /// here it must also point strictly before the start of the segment it ends (the name's
    /// start, or the previous pointer's target), so every jump goes backwards and no byte
    /// is read twice: loops are impossible. `maximumCompressionPointers` bounds the work.
    /// Reads stop at the end of `reader.bytes`, which the caller clamps (to RDLENGTH's end
    /// for a name inside RDATA).
    ///
    /// Without `hashing` the hash is not computed (0). With `known`, a pointer to that name
    /// ends the scan at once when the whole name stays within 255 octets; walking it would
    /// have found exactly that, so results and errors are the same either way.
    static func scan(
        _ reader: inout ByteReader,
        collectingInto storage: inout [UInt8],
        collect: Bool,
        hashing: Bool = true,
        known: KnownName? = nil
    ) throws(DNSParseError) -> ScannedName {
        guard collect else { return try scan(&reader, into: nil, hashing: hashing, known: known) }
        return try withUnsafeMutablePointer(to: &storage) { labels throws(DNSParseError) in
            try scan(&reader, into: labels, hashing: hashing, known: known)
        }
    }

    /// As `scan(_:collectingInto:collect:hashing:known:)` without collecting: no array to make
    /// and release per name (the message walker's questions and records).
    ///
    /// The common names are read here with only the checks they need: labels in place to
    /// the root (every question name), or to a pointer into `known` (a record's owner, `c0 0c`).
    /// Any other byte (another pointer, a bad or cut label, a name too long) sends the name
    /// to the full loop, from its start: the same result and the same error either way.
    @inline(__always)
    static func scan(_ reader: inout ByteReader, hashing: Bool = true, known: KnownName? = nil) throws(DNSParseError) -> ScannedName {
        let bytes = reader.bytes
        let end = bytes.count
        let start = reader.position
        var position = start
        var wireLength = 0  // of the labels read, without the root
        while position < end {
            let byte = bytes[position]
            if byte &- 1 < 63 {  // a label of 1 to 63 octets
                let length = Int(byte)
                let labelEnd = position &+ 1 &+ length
                guard labelEnd <= end, wireLength &+ 1 &+ length <= maximumWireLength else { break }
                wireLength &+= 1 &+ length
                position = labelEnd
            } else if byte == 0 {
                guard wireLength < maximumWireLength else { break }
                try reader.dnsSeek(to: position + 1)
                return ScannedName(offset: start, wireLength: wireLength + 1,
                                   hashKey: hashing ? NameHash.of(bytes, at: start, count: wireLength) : 0)
            } else {
                // The name's first pointer, so its target must lie before `start`. Into the
                // known name (whole, in place, before `start`) at one of its labels, it ends
                // the name as the rest of the known name would (SOA names, CNAME targets).
                guard !hashing, let known, byte >> 6 == 0b11, position + 1 < end else { break }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                let knownEnd = known.offset + known.wireLength
                guard target >= known.offset, target < knownEnd, knownEnd <= start else { break }
                var label = known.offset
                while label < target { label += 1 + Int(bytes[label]) }
                guard label == target, wireLength + knownEnd - target <= maximumWireLength else { break }
                try reader.dnsSeek(to: position + 2)
                return ScannedName(offset: start, wireLength: wireLength + knownEnd - target, hashKey: 0)
            }
        }
        return try scan(&reader, into: nil, hashing: hashing, known: known)
    }

    private static func scan(
        _ reader: inout ByteReader, into storage: UnsafeMutablePointer<[UInt8]>?, hashing: Bool, known: KnownName?
    ) throws(DNSParseError) -> ScannedName {
        // Indexed loads on the raw bytes with explicit bounds checks (the same errors, at the
        // same offsets, as `ByteReader`'s reads): this loop runs for every byte of every
        // question name, and the reader's per-read calls cost several times the work.
        let bytes = reader.bytes
        let end = bytes.count
        let start = reader.position
        var position = start
        var segmentStart = start
        var endInPlace: Int? = nil
        var wireLength = 0
        var pointers = 0
        while true {
            let lengthOffset = position
            guard position < end else { throw DNSParseError(.truncated(needed: 1), offset: position) }
            let length = bytes[position]
            position += 1
            switch length >> 6 {
            case 0b00:
                wireLength += 1 + Int(length)
                guard wireLength <= maximumWireLength else {
                    throw DNSParseError(.nameTooLong(length: wireLength), offset: lengthOffset)
                }
                if length == 0 {
                    try reader.dnsSeek(to: endInPlace ?? position)
                    var hashKey: UInt64 = 0
                    if hashing {
                        // Uncompressed (every question name): its labels lie in one run.
                        hashKey = endInPlace == nil ? NameHash.of(bytes, at: start, count: wireLength - 1)
                            : hashOfCompressed(in: bytes, at: start, length: wireLength - 1)
                    }
                    return ScannedName(offset: start, wireLength: wireLength, hashKey: hashKey)
                }
                let labelEnd = position + Int(length)
                guard labelEnd <= end else { throw DNSParseError(.truncated(needed: Int(length)), offset: position) }
                if let storage {
                    // Contiguous append (the generic Sequence path goes byte by byte).
                    storage.pointee.append(length)
                    storage.pointee.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<labelEnd]))
                }
                position = labelEnd
            case 0b11:
                guard position < end else { throw DNSParseError(.truncated(needed: 1), offset: position) }
                let low = bytes[position]
                position += 1
                let target = Int(length & 0x3F) << 8 | Int(low)
                guard target < segmentStart else {
                    throw DNSParseError(.pointerNotBackward(pointer: lengthOffset, target: target), offset: lengthOffset)
                }
                pointers += 1
                guard pointers <= maximumCompressionPointers else {
                    throw DNSParseError(.tooManyPointers, offset: lengthOffset)
                }
                if endInPlace == nil { endInPlace = position }
                if storage == nil && !hashing, let known, known.offset == target,
                   wireLength + known.wireLength <= maximumWireLength {
                    try reader.dnsSeek(to: endInPlace ?? position)
                    return ScannedName(offset: start, wireLength: wireLength + known.wireLength, hashKey: 0)
                }
                // Backwards, so inside the bytes.
                position = target
                segmentStart = target
            default:
                // 0b01 (extended label type, RFC 6891 §5) and 0b10 (reserved).
                throw DNSParseError(.labelTooLong(length: Int(length)), offset: lengthOffset)
            }
        }
    }
}

extension DNSName {
    /// `NameHash` of the compressed name at `start` of `bytes`, which `scan` has just walked
    /// (`length` octets without the root byte): its labels put together, then hashed.
    static func hashOfCompressed(in bytes: UnsafeRawBufferPointer, at start: Int, length: Int) -> UInt64 {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumWireLength + 8) { buffer in
            var written = 0
            var position = start
            // Bounded as the scan was (at most `length` octets, 127 pointers), also if the
            // bytes changed in between.
            var jumps = 0
            while written < length, position < bytes.count, jumps <= maximumCompressionPointers {
                let byte = bytes[position]
                if byte >> 6 == 0b11 {
                    guard position + 1 < bytes.count else { break }
                    position = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                    jumps += 1
                    continue
                }
                let run = min(1 + Int(byte), length - written, bytes.count - position)
                for offset in 0..<run { buffer[written + offset] = bytes[position + offset] }
                written += run
                position += run
            }
            return NameHash.of(UnsafeRawBufferPointer(buffer), at: 0, count: written)
        }
    }
}

/// `\DDD`: a byte as a backslash and three decimal digits (RFC 1035 §5.1), for bytes that
/// have no printable form in presentation format.
func appendDecimalEscape(_ byte: UInt8, to text: inout [UInt8]) {
    let escape = decimalEscape(byte)
    text.append(escape.0)
    text.append(escape.1)
    text.append(escape.2)
    text.append(escape.3)
}

/// The four bytes of `\DDD` for `byte`.
@inline(__always)
func decimalEscape(_ byte: UInt8) -> (UInt8, UInt8, UInt8, UInt8) {
    (UInt8(ascii: "\\"), UInt8(ascii: "0") + byte / 100, UInt8(ascii: "0") + byte / 10 % 10, UInt8(ascii: "0") + byte % 10)
}
