/// A libpcap link-layer header type (LINKTYPE_* / DLT_*), open so unknown values stay
/// representable and can be counted by number.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    @inlinable public init(rawValue: Int32) { self.rawValue = rawValue }

    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    public static let null = LinkType(rawValue: 0)
    public static let ethernet = LinkType(rawValue: 1)
    /// FDDI: frame control, destination, source (13 bytes), then 802.2 LLC/SNAP.
    public static let fddi = LinkType(rawValue: 10)
    /// Raw IP as DLT_RAW on most platforms (12 on some BSDs, 14 on OpenBSD).
    public static let raw = LinkType(rawValue: 101)
    public static let rawAlternate12 = LinkType(rawValue: 12)
    public static let rawAlternate14 = LinkType(rawValue: 14)
    /// OpenBSD loopback: like NULL but the family is big-endian.
    public static let loop = LinkType(rawValue: 108)
    public static let linuxSLL = LinkType(rawValue: 113)
    public static let ipv4 = LinkType(rawValue: 228)
    public static let ipv6 = LinkType(rawValue: 229)
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .fddi: "FDDI"
        case .raw, .rawAlternate12, .rawAlternate14: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .linuxSLL2: "LINUX_SLL2"
        default: "LINKTYPE_\(rawValue)"
        }
    }
}
