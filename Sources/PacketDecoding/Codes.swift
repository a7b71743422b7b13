/// An EtherType (IEEE 802), open so unknown values can be counted by number.
public struct EtherType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let vlan = EtherType(rawValue: 0x8100)
    public static let ipv6 = EtherType(rawValue: 0x86dd)
    /// 802.1ad service tag (QinQ outer tag), and the pre-standard 0x9100 used by some switches.
    public static let qinq = EtherType(rawValue: 0x88a8)
    public static let qinqLegacy = EtherType(rawValue: 0x9100)
    /// PPPoE session stage (RFC 2516 §4), as on DSL uplinks.
    public static let pppoeSession = EtherType(rawValue: 0x8864)
    /// MPLS unicast (RFC 3032).
    public static let mpls = EtherType(rawValue: 0x8847)

    @inlinable var isVLANTag: Bool { self == .vlan || self == .qinq || self == .qinqLegacy }
}

/// An IP protocol number (IPv4 protocol / IPv6 next header), open for unknown values.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let hopByHop = IPProtocol(rawValue: 0)
    public static let icmp = IPProtocol(rawValue: 1)
    public static let ipInIP = IPProtocol(rawValue: 4)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let ipv6InIP = IPProtocol(rawValue: 41)
    public static let ipv6Routing = IPProtocol(rawValue: 43)
    public static let ipv6Fragment = IPProtocol(rawValue: 44)
    public static let gre = IPProtocol(rawValue: 47)
    public static let esp = IPProtocol(rawValue: 50)
    public static let authenticationHeader = IPProtocol(rawValue: 51)
    public static let icmpv6 = IPProtocol(rawValue: 58)
    public static let ipv6NoNext = IPProtocol(rawValue: 59)
    public static let ipv6DestinationOptions = IPProtocol(rawValue: 60)

    public var description: String {
        switch self {
        case .icmp: "icmp"
        case .tcp: "tcp"
        case .udp: "udp"
        case .icmpv6: "icmpv6"
        case .ipInIP: "ipip"
        case .ipv6InIP: "ipv6-in-ipv4"
        case .gre: "gre"
        case .esp: "esp"
        default: "ip-proto-\(rawValue)"
        }
    }
}

/// The transport a DNS message travelled over.
public enum Transport: UInt8, Hashable, Sendable, CustomStringConvertible {
    case udp
    case tcp

    public var description: String { self == .udp ? "udp" : "tcp" }
}
