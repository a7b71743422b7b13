// Open code types of the DNS message format. Each is a `RawRepresentable` struct rather
// than a closed enum, so a value no table knows stays representable and prints as a
// number in the generic form of RFC 3597 §5 (`TYPE65280`, `CLASS42`).

/// A resource record TYPE or question QTYPE (RFC 1035 §3.2.2–3, IANA "RR TYPEs").
public struct DNSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(1)
    public static let ns = DNSType(2)
    public static let cname = DNSType(5)
    public static let soa = DNSType(6)
    public static let null = DNSType(10)
    public static let ptr = DNSType(12)
    public static let hinfo = DNSType(13)
    public static let mx = DNSType(15)
    public static let txt = DNSType(16)
    public static let aaaa = DNSType(28)
    public static let srv = DNSType(33)
    public static let naptr = DNSType(35)
    public static let dname = DNSType(39)
    public static let opt = DNSType(41)
    public static let ds = DNSType(43)
    public static let sshfp = DNSType(44)
    public static let rrsig = DNSType(46)
    public static let nsec = DNSType(47)
    public static let dnskey = DNSType(48)
    public static let nsec3 = DNSType(50)
    public static let nsec3param = DNSType(51)
    public static let tlsa = DNSType(52)
    public static let svcb = DNSType(64)
    public static let https = DNSType(65)
    public static let tkey = DNSType(249)
    public static let tsig = DNSType(250)
    public static let ixfr = DNSType(251)
    public static let axfr = DNSType(252)
    public static let any = DNSType(255)
    public static let caa = DNSType(257)

    /// The IANA mnemonic, or `TYPE` and the decimal value for a type without one (RFC 3597 §5).
    public var description: String {
        switch rawValue {
        case 1: "A"
        case 2: "NS"
        case 3: "MD"
        case 4: "MF"
        case 5: "CNAME"
        case 6: "SOA"
        case 7: "MB"
        case 8: "MG"
        case 9: "MR"
        case 10: "NULL"
        case 11: "WKS"
        case 12: "PTR"
        case 13: "HINFO"
        case 14: "MINFO"
        case 15: "MX"
        case 16: "TXT"
        case 17: "RP"
        case 18: "AFSDB"
        case 24: "SIG"
        case 25: "KEY"
        case 28: "AAAA"
        case 29: "LOC"
        case 33: "SRV"
        case 35: "NAPTR"
        case 36: "KX"
        case 37: "CERT"
        case 39: "DNAME"
        case 41: "OPT"
        case 42: "APL"
        case 43: "DS"
        case 44: "SSHFP"
        case 45: "IPSECKEY"
        case 46: "RRSIG"
        case 47: "NSEC"
        case 48: "DNSKEY"
        case 49: "DHCID"
        case 50: "NSEC3"
        case 51: "NSEC3PARAM"
        case 52: "TLSA"
        case 53: "SMIMEA"
        case 55: "HIP"
        case 59: "CDS"
        case 60: "CDNSKEY"
        case 61: "OPENPGPKEY"
        case 62: "CSYNC"
        case 63: "ZONEMD"
        case 64: "SVCB"
        case 65: "HTTPS"
        case 99: "SPF"
        case 108: "EUI48"
        case 109: "EUI64"
        case 249: "TKEY"
        case 250: "TSIG"
        case 251: "IXFR"
        case 252: "AXFR"
        case 253: "MAILB"
        case 254: "MAILA"
        case 255: "ANY"
        case 256: "URI"
        case 257: "CAA"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A resource record CLASS or question QCLASS (RFC 1035 §3.2.4–5, RFC 2136 §1.3 for NONE).
public struct DNSClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let `in` = DNSClass(1)
    public static let ch = DNSClass(3)
    public static let hs = DNSClass(4)
    /// RFC 2136 §1.3: used in UPDATE prerequisites. Spell it `DNSClass.none` where an
    /// optional is expected, or Swift reads `.none` as `nil`.
    public static let none = DNSClass(254)
    public static let any = DNSClass(255)

    /// The mnemonic, or `CLASS` and the decimal value (RFC 3597 §5).
    public var description: String {
        switch rawValue {
        case 1: "IN"
        case 3: "CH"
        case 4: "HS"
        case 254: "NONE"
        case 255: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}

/// The 4-bit header OPCODE (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE, RFC 8490 DSO).
public struct DNSOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let query = DNSOpcode(0)
    public static let iquery = DNSOpcode(1)
    public static let status = DNSOpcode(2)
    public static let notify = DNSOpcode(4)
    public static let update = DNSOpcode(5)
    public static let dso = DNSOpcode(6)

    public var description: String {
        switch rawValue {
        case 0: "QUERY"
        case 1: "IQUERY"
        case 2: "STATUS"
        case 4: "NOTIFY"
        case 5: "UPDATE"
        case 6: "DSO"
        default: "OPCODE\(rawValue)"
        }
    }
}

/// A response code: the 4-bit header RCODE, or the 12-bit extended RCODE once the EDNS
/// high bits are added (RFC 6891 §6.1.3), hence 16 bits wide. Values from IANA "DNS RCODEs".
public struct DNSRCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSRCode(0)
    public static let formErr = DNSRCode(1)
    public static let servFail = DNSRCode(2)
    public static let nxDomain = DNSRCode(3)
    public static let notImp = DNSRCode(4)
    public static let refused = DNSRCode(5)
    public static let yxDomain = DNSRCode(6)
    public static let yxRRSet = DNSRCode(7)
    public static let nxRRSet = DNSRCode(8)
    public static let notAuth = DNSRCode(9)
    public static let notZone = DNSRCode(10)
    public static let dsoTypeNI = DNSRCode(11)
    /// 16 is BADVERS in a message's extended RCODE and BADSIG in a TSIG record (RFC 8945).
    public static let badVers = DNSRCode(16)
    public static let badKey = DNSRCode(17)
    public static let badTime = DNSRCode(18)
    public static let badMode = DNSRCode(19)
    public static let badName = DNSRCode(20)
    public static let badAlg = DNSRCode(21)
    public static let badTrunc = DNSRCode(22)
    public static let badCookie = DNSRCode(23)

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        case 11: "DSOTYPENI"
        case 16: "BADVERS"
        case 17: "BADKEY"
        case 18: "BADTIME"
        case 19: "BADMODE"
        case 20: "BADNAME"
        case 21: "BADALG"
        case 22: "BADTRUNC"
        case 23: "BADCOOKIE"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The part of a message that a question, a record or an error belongs to (RFC 1035 §4.1).
public enum DNSSection: Hashable, Sendable, CustomStringConvertible {
    case header
    case question
    case answer
    case authority
    case additional

    public var description: String {
        switch self {
        case .header: "header"
        case .question: "question"
        case .answer: "answer"
        case .authority: "authority"
        case .additional: "additional"
        }
    }
}
