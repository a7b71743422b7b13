import WireCore

/// The EDNS(0) pseudo-record, decoded from an OPT record (RFC 6891 §6.1.2–3):
///
///     CLASS = requestor's UDP payload size
///     TTL   = | EXTENDED-RCODE (8) | VERSION (8) | DO (1) | Z (15) |
///     RDATA = { OPTION-CODE (16), OPTION-LENGTH (16), OPTION-DATA }*
public struct EDNS: Hashable, Sendable, CustomStringConvertible {
    public var udpPayloadSize: UInt16
    /// The upper 8 bits of the 12-bit extended RCODE (RFC 6891 §6.1.3).
    public var extendedRCodeHigh: UInt8
    public var version: UInt8
    /// The 16 flag bits: DO and the Z bits, as sent.
    public var flags: UInt16
    public var options: [EDNSOption]

    public init(
        udpPayloadSize: UInt16, extendedRCodeHigh: UInt8 = 0, version: UInt8 = 0,
        dnssecOK: Bool = false, options: [EDNSOption] = []
    ) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRCodeHigh = extendedRCodeHigh
        self.version = version
        self.flags = dnssecOK ? 0x8000 : 0
        self.options = options
    }

    /// From the CLASS and TTL fields of an OPT record.
    init(rawClass: UInt16, ttl: UInt32, options: [EDNSOption]) {
        udpPayloadSize = rawClass
        extendedRCodeHigh = UInt8(truncatingIfNeeded: ttl >> 24)
        version = UInt8(truncatingIfNeeded: ttl >> 16)
        flags = UInt16(truncatingIfNeeded: ttl)
        self.options = options
    }

    /// DO: the sender can accept DNSSEC records (RFC 3225).
    public var dnssecOK: Bool {
        get { flags & 0x8000 != 0 }
        set { flags = newValue ? flags | 0x8000 : flags & 0x7FFF }
    }

    /// `version 0, flags do, udp 1232, COOKIE …, CLIENT-SUBNET 192.0.2.0/24/0`, after dig's
    /// OPT pseudo-section.
    public var description: String {
        var parts = ["version \(version)"]
        var flagNames: [String] = []
        if dnssecOK { flagNames.append("do") }
        if flags & 0x7FFF != 0 { flagNames.append("z 0x\(String(flags & 0x7FFF, radix: 16))") }
        parts.append(flagNames.isEmpty ? "flags none" : "flags " + flagNames.joined(separator: " "))
        parts.append("udp \(udpPayloadSize)")
        if extendedRCodeHigh != 0 { parts.append("extended rcode high \(extendedRCodeHigh)") }
        parts += options.map(\.description)
        return parts.joined(separator: ", ")
    }
}

/// One option of an OPT record: its code and body as sent, with decoded views for the
/// options this tracer reads. The message parser has already validated the bodies of
/// client subnet and cookie options, so their views are non-nil for any parsed message.
public struct EDNSOption: Hashable, Sendable, CustomStringConvertible {
    /// RFC 7871 EDNS Client Subnet.
    public static let clientSubnetCode: UInt16 = 8
    /// RFC 7873 DNS Cookies.
    public static let cookieCode: UInt16 = 10

    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    /// The client subnet, if this is a well-formed option 8.
    public var clientSubnet: EDNSClientSubnet? {
        code == Self.clientSubnetCode ? try? EDNSClientSubnet(optionData: data) : nil
    }

    /// The cookies, if this is a well-formed option 10.
    public var cookie: EDNSCookie? {
        code == Self.cookieCode ? try? EDNSCookie(optionData: data) : nil
    }

    /// Checks the body of an option this module knows (client subnet, cookie) against its
    /// RFC, without allocating. Other options are not looked at.
    static func validate(code: UInt16, body: UnsafeRawBufferPointer) throws(EDNSOptionError) {
        switch code {
        case clientSubnetCode: _ = try EDNSClientSubnet.validate(body)
        case cookieCode: try EDNSCookie.validate(body)
        default: break
        }
    }

    /// `CLIENT-SUBNET 192.0.2.0/24/0`, `COOKIE <client> <server>`, or `OPTION<code> <hex>`.
    public var description: String {
        if let clientSubnet { return "CLIENT-SUBNET \(clientSubnet)" }
        if let cookie { return "COOKIE \(cookie)" }
        let name = switch code {
        case 3: "NSID"
        case 9: "EXPIRE"
        case 11: "TCP-KEEPALIVE"
        case 12: "PADDING"
        case 15: "EDE"
        default: "OPTION\(code)"
        }
        return data.isEmpty ? name : "\(name) \(hexadecimal(data))"
    }
}

/// Why a known EDNS option's body is malformed.
public enum EDNSOptionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A client subnet body shorter than FAMILY, SOURCE and SCOPE PREFIX-LENGTH (4 bytes).
    case clientSubnetTooShort(length: Int)
    /// SOURCE PREFIX-LENGTH over the family's address width (RFC 7871 §6).
    case clientSubnetSourcePrefixTooLong(prefix: Int, maximum: Int)
    /// SCOPE PREFIX-LENGTH over the family's address width.
    case clientSubnetScopePrefixTooLong(prefix: Int, maximum: Int)
    /// ADDRESS not exactly ceil(SOURCE PREFIX-LENGTH / 8) bytes (RFC 7871 §6: FORMERR).
    case clientSubnetAddressLength(expected: Int, actual: Int)
    /// ADDRESS bits set beyond SOURCE PREFIX-LENGTH (RFC 7871 §6: FORMERR).
    case clientSubnetBitsBeyondPrefix
    /// A cookie option neither 8 bytes (client only) nor 16…40 (client and server
    /// cookie, RFC 7873 §4: FORMERR).
    case cookieLength(Int)

    public var description: String {
        switch self {
        case .clientSubnetTooShort(let length):
            "client subnet body is \(length) bytes, under 4"
        case .clientSubnetSourcePrefixTooLong(let prefix, let maximum):
            "client subnet source prefix \(prefix) over \(maximum)"
        case .clientSubnetScopePrefixTooLong(let prefix, let maximum):
            "client subnet scope prefix \(prefix) over \(maximum)"
        case .clientSubnetAddressLength(let expected, let actual):
            "client subnet address is \(actual) bytes, its source prefix needs \(expected)"
        case .clientSubnetBitsBeyondPrefix:
            "client subnet address has bits set beyond its source prefix"
        case .cookieLength(let length):
            "cookie option is \(length) bytes, not 8 or 16…40"
        }
    }
}

/// The EDNS Client Subnet option (RFC 7871 §6): the client network a resolver asks about.
public struct EDNSClientSubnet: Hashable, Sendable, CustomStringConvertible {
    public static let ipv4Family: UInt16 = 1
    public static let ipv6Family: UInt16 = 2

    /// Address family (IANA Address Family Numbers: 1 IPv4, 2 IPv6).
    public var family: UInt16
    public var sourcePrefixLength: UInt8
    public var scopePrefixLength: UInt8
    /// The address as sent: only the ceil(source prefix / 8) leading bytes.
    public var address: [UInt8]

    public init(family: UInt16, sourcePrefixLength: UInt8, scopePrefixLength: UInt8, address: [UInt8]) {
        self.family = family
        self.sourcePrefixLength = sourcePrefixLength
        self.scopePrefixLength = scopePrefixLength
        self.address = address
    }

    /// Decodes and checks an option body (RFC 7871 §6).
    public init(optionData: [UInt8]) throws(EDNSOptionError) {
        let fields = try withBorrowedBytes(optionData) { bytes throws(EDNSOptionError) in try Self.validate(bytes) }
        self.init(
            family: fields.family, sourcePrefixLength: fields.source, scopePrefixLength: fields.scope,
            address: Array(optionData.dropFirst(4)))
    }

    /// The address width of `family` in bits; `nil` for a family this module cannot check.
    static func addressBits(family: UInt16) -> Int? {
        switch family {
        case ipv4Family: 32
        case ipv6Family: 128
        default: nil
        }
    }

    /// Checks a body without allocating: RFC 7871 §6 wants ADDRESS "truncated to the number of
    /// bits indicated by the SOURCE PREFIX-LENGTH field, padding with 0 bits", and a server
    /// seeing too many or too few octets, or non-zero bits beyond the prefix, to FORMERR.
    /// Prefix widths are checked only for IPv4 and IPv6.
    static func validate(_ body: UnsafeRawBufferPointer) throws(EDNSOptionError)
        -> (family: UInt16, source: UInt8, scope: UInt8)
    {
        var reader = ByteReader(body)
        guard let family = try? reader.readUInt16(),
              let source = try? reader.readUInt8(),
              let scope = try? reader.readUInt8()
        else { throw .clientSubnetTooShort(length: body.count) }
        if let maximum = addressBits(family: family) {
            guard Int(source) <= maximum else {
                throw .clientSubnetSourcePrefixTooLong(prefix: Int(source), maximum: maximum)
            }
            guard Int(scope) <= maximum else {
                throw .clientSubnetScopePrefixTooLong(prefix: Int(scope), maximum: maximum)
            }
        }
        let expected = (Int(source) + 7) / 8
        guard reader.remaining == expected else {
            throw .clientSubnetAddressLength(expected: expected, actual: reader.remaining)
        }
        let spareBits = expected * 8 - Int(source)
        if spareBits > 0 {
            let lastByte = (try? reader.skip(expected - 1)).flatMap { try? reader.readUInt8() } ?? 0
            guard lastByte & UInt8(truncatingIfNeeded: (1 << spareBits) - 1) == 0 else {
                throw .clientSubnetBitsBeyondPrefix
            }
        }
        return (family, source, scope)
    }

    /// `192.0.2.0/24/0` (address/source/scope, as dig prints it); an unknown family as
    /// `family 3 <hex>/source/scope`.
    public var description: String {
        let prefixes = "\(sourcePrefixLength)/\(scopePrefixLength)"
        switch family {
        case Self.ipv4Family:
            let padded = Array((address + [0, 0, 0, 0]).prefix(4))
            return "\(padded.map(String.init).joined(separator: "."))/\(prefixes)"
        case Self.ipv6Family:
            let padded = Array((address + [UInt8](repeating: 0, count: 16)).prefix(16))
            let text = DNSRecordData.IPv6Address(bytes: padded)?.description ?? hexadecimal(address)
            return "\(text)/\(prefixes)"
        default:
            return "family \(family) \(hexadecimal(address))/\(prefixes)"
        }
    }
}

/// The DNS Cookie option (RFC 7873 §4): an 8-byte client cookie, then in responses (and
/// later queries) an 8…32-byte server cookie.
public struct EDNSCookie: Hashable, Sendable, CustomStringConvertible {
    public static let clientCookieLength = 8
    public static let serverCookieLengths = 8...32

    public var client: [UInt8]
    /// Empty when the option holds only a client cookie.
    public var server: [UInt8]

    public init(client: [UInt8], server: [UInt8] = []) {
        self.client = client
        self.server = server
    }

    /// Decodes and checks an option body (RFC 7873 §5.2.2: other lengths are FORMERR).
    public init(optionData: [UInt8]) throws(EDNSOptionError) {
        try withBorrowedBytes(optionData) { bytes throws(EDNSOptionError) in try Self.validate(bytes) }
        self.init(
            client: Array(optionData.prefix(Self.clientCookieLength)),
            server: Array(optionData.dropFirst(Self.clientCookieLength)))
    }

    static func validate(_ body: UnsafeRawBufferPointer) throws(EDNSOptionError) {
        let serverLength = body.count - clientCookieLength
        guard serverLength == 0 || serverCookieLengths.contains(serverLength) else {
            throw .cookieLength(body.count)
        }
    }

    /// Client cookie in hex, then the server cookie if any, as dig prints them.
    public var description: String {
        server.isEmpty ? hexadecimal(client) : "\(hexadecimal(client)) \(hexadecimal(server))"
    }
}
