/// One entry of the question section (RFC 1035 §4.1.2).
///
/// The top bit of QCLASS is the mDNS "unicast response requested" bit (RFC 6762 §5.4); it
/// is split off into `unicastResponse` so that `class` stays a real class.
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSType
    /// QCLASS without its top bit.
    public var `class`: DNSClass
    /// The top bit of QCLASS: in mDNS, "unicast response requested".
    public var unicastResponse: Bool

    public init(name: DNSName, type: DNSType, class: DNSClass = .in, unicastResponse: Bool = false) {
        self.name = name
        self.type = type
        self.class = `class`
        self.unicastResponse = unicastResponse
    }

    /// QCLASS as sent, top bit included.
    public var rawClass: UInt16 { `class`.rawValue & 0x7FFF | (unicastResponse ? 0x8000 : 0) }

    /// `www.example.com. IN A`, as in dig's question section.
    public var description: String { "\(name) \(`class`) \(type)" }
}

/// One resource record of the answer, authority or additional section (RFC 1035 §4.1.3).
///
/// `rawClass` is CLASS as sent: OPT uses it as the UDP payload size (RFC 6891 §6.1.2), and
/// mDNS uses its top bit as the cache-flush bit (RFC 6762 §10.2), hence `class` without it.
public struct DNSRecord: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSType
    public var rawClass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, type: DNSType, rawClass: UInt16 = DNSClass.in.rawValue, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.rawClass = rawClass
        self.ttl = ttl
        self.data = data
    }

    /// CLASS without its top bit (meaningless for OPT: see `EDNS.udpPayloadSize`).
    public var `class`: DNSClass { DNSClass(rawClass & 0x7FFF) }
    /// The top bit of CLASS: in mDNS, "cache flush".
    public var cacheFlush: Bool { rawClass & 0x8000 != 0 }

    /// `www.example.com. 300 IN A 192.0.2.1`, as in dig's sections; OPT as `. OPT <EDNS>`.
    public var description: String {
        if case .opt(let edns) = data { return "\(name) OPT \(edns)" }
        return "\(name) \(ttl) \(`class`) \(type) \(data)"
    }
}

/// The decoded RDATA of a record. Types without a case here stay raw in `.unknown`.
///
/// Names inside CNAME, NS, PTR, MX, SOA and SRV are decompressed, as RFC 3597 §4 asks of
/// receivers; any other type's RDATA is kept byte for byte, so compressed names in it (which
/// RFC 3597 forbids senders to use) stay compressed.
public enum DNSRecordData: Hashable, Sendable, CustomStringConvertible {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    /// The character-strings, each without its length byte (RFC 1035 §3.3.14).
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case soa(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    case opt(EDNS)
    /// Every other type, and the empty RDATA that UPDATE uses with class ANY or NONE
    /// (RFC 2136 §2.4, §2.5) whatever the type.
    case unknown(type: DNSType, bytes: [UInt8])

    /// The RDATA in presentation format as dig prints it; RFC 3597 §5 `\# 4 c0000201`
    /// for `.unknown`.
    public var description: String {
        switch self {
        case .a(let address): address.description
        case .aaaa(let address): address.description
        case .cname(let name), .ns(let name), .ptr(let name): name.description
        case .mx(let preference, let exchange): "\(preference) \(exchange)"
        case .txt(let strings): strings.map(Self.quoted).joined(separator: " ")
        case .srv(let priority, let weight, let port, let target): "\(priority) \(weight) \(port) \(target)"
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            "\(mname) \(rname) \(serial) \(refresh) \(retry) \(expire) \(minimum)"
        case .opt(let edns): edns.description
        case .unknown(_, let bytes):
            bytes.isEmpty ? "\\# 0" : "\\# \(bytes.count) \(hexadecimal(bytes))"
        }
    }

    /// A character-string in double quotes: `"` and `\` escaped, bytes outside
    /// 0x20…0x7E as `\DDD` (RFC 1035 §5.1).
    static func quoted(_ string: [UInt8]) -> String {
        var text: [UInt8] = [UInt8(ascii: "\"")]
        for byte in string {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                text.append(UInt8(ascii: "\\"))
                text.append(byte)
            case 0x20...0x7E:
                text.append(byte)
            default:
                appendDecimalEscape(byte, to: &text)
            }
        }
        text.append(UInt8(ascii: "\""))
        return String(decoding: text, as: UTF8.self)
    }
}

/// Lowercase hexadecimal, two digits a byte, no separators.
func hexadecimal(_ bytes: some Sequence<UInt8>) -> String {
    func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digit(byte >> 4))
        text.append(digit(byte & 0x0F))
    }
    return String(decoding: text, as: UTF8.self)
}

extension DNSRecordData {
    /// An IPv4 address from an A record. Nested here so that it cannot clash with the
    /// packet layer's address types in modules that import both.
    public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
        /// The address as a big-endian number: 192.0.2.1 is 0xC000_0201.
        public var rawValue: UInt32

        @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

        @inlinable
        public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
            rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
        }

        /// The four bytes in network order.
        public var bytes: [UInt8] {
            [UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
             UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
        }

        /// Dotted decimal: `192.0.2.1`.
        public var description: String { bytes.map(String.init).joined(separator: ".") }
    }

    /// An IPv6 address from an AAAA record, as two big-endian 64-bit halves.
    public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
        public var high: UInt64
        public var low: UInt64

        @inlinable public init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        /// From eight 16-bit groups, most significant first; `nil` unless exactly eight.
        public init?(groups: [UInt16]) {
            guard groups.count == 8 else { return nil }
            var high: UInt64 = 0
            var low: UInt64 = 0
            for group in groups.prefix(4) { high = high << 16 | UInt64(group) }
            for group in groups.dropFirst(4) { low = low << 16 | UInt64(group) }
            self.init(high: high, low: low)
        }

        /// From 16 bytes in network order; `nil` unless exactly 16.
        public init?(bytes: [UInt8]) {
            guard bytes.count == 16 else { return nil }
            var high: UInt64 = 0
            var low: UInt64 = 0
            for byte in bytes.prefix(8) { high = high << 8 | UInt64(byte) }
            for byte in bytes.dropFirst(8) { low = low << 8 | UInt64(byte) }
            self.init(high: high, low: low)
        }

        /// The eight 16-bit groups, most significant first.
        public var groups: [UInt16] {
            (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
                + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
        }

        /// RFC 5952 §4 canonical text: lowercase, no leading zeros, the longest run of two or
        /// more zero groups (the first if tied) as `::`; IPv4-mapped addresses as
        /// `::ffff:192.0.2.1` (§5).
        public var description: String {
            let groups = self.groups
            if high == 0, low >> 32 == 0xFFFF {
                let ipv4 = IPv4Address(rawValue: UInt32(truncatingIfNeeded: low))
                return "::ffff:\(ipv4)"
            }
            var bestStart = -1
            var bestLength = 0
            var runStart = -1
            for (index, group) in groups.enumerated() {
                if group == 0 {
                    if runStart < 0 { runStart = index }
                    let runLength = index - runStart + 1
                    if runLength > bestLength {
                        bestStart = runStart
                        bestLength = runLength
                    }
                } else {
                    runStart = -1
                }
            }
            let hex = groups.map { String($0, radix: 16) }
            guard bestLength >= 2 else { return hex.joined(separator: ":") }
            let head = hex.prefix(bestStart).joined(separator: ":")
            let tail = hex.suffix(from: bestStart + bestLength).joined(separator: ":")
            return "\(head)::\(tail)"
        }
    }
}
