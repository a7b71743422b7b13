/// Why a frame did not yield a DNS payload: either it is simply not DNS (ignored) or it
/// could not be decoded (malformed). Every frame of a capture lands in exactly one
/// counter, so the report accounts for all of them.
public enum SkipReason: Int, CaseIterable, Sendable, CustomStringConvertible {
    // Not DNS: normal traffic the filter let through or a file that holds more than DNS.
    case notIP
    case otherIPProtocol
    case otherPort
    case dnsOverTCP
    case ipFragment
    case tunnel
    case icmp
    // Could not be decoded.
    case unsupportedLinkType
    case truncatedLinkHeader
    case tooManyVLANTags
    case truncatedIPv4Header
    case badIPv4Header
    case truncatedIPv6Header
    case badIPv6ExtensionHeaders
    case ipVersionMismatch
    case truncatedUDPHeader
    case badUDPLength
    case truncatedTCPHeader
    case badTCPHeader
    case snaplenCut

    /// True for the reasons that mean the frame was damaged or undecodable.
    public var isMalformed: Bool { rawValue >= SkipReason.unsupportedLinkType.rawValue }

    /// True for frames that may carry DNS the tool does not analyse yet (TCP, fragments,
    /// tunnels, ICMP errors): counted apart so a reader knows what was left out.
    public var isNotAnalysed: Bool {
        switch self {
        case .dnsOverTCP, .ipFragment, .tunnel, .icmp: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .notIP: "not-ip"
        case .otherIPProtocol: "other-ip-protocol"
        case .otherPort: "not-a-dns-port"
        case .dnsOverTCP: "dns-over-tcp"
        case .ipFragment: "ip-fragment"
        case .tunnel: "tunnel"
        case .icmp: "icmp"
        case .unsupportedLinkType: "unsupported-link-type"
        case .truncatedLinkHeader: "truncated-link-header"
        case .tooManyVLANTags: "too-many-vlan-tags"
        case .truncatedIPv4Header: "truncated-ipv4-header"
        case .badIPv4Header: "bad-ipv4-header"
        case .truncatedIPv6Header: "truncated-ipv6-header"
        case .badIPv6ExtensionHeaders: "bad-ipv6-extension-headers"
        case .ipVersionMismatch: "ip-version-mismatch"
        case .truncatedUDPHeader: "truncated-udp-header"
        case .badUDPLength: "bad-udp-length"
        case .truncatedTCPHeader: "truncated-tcp-header"
        case .badTCPHeader: "bad-tcp-header"
        case .snaplenCut: "cut-by-snaplen"
        }
    }
}

/// Per-reason frame counters, a fixed array indexed by `SkipReason` (no hashing per frame).
public struct SkipCounters: Sendable, Equatable {
    public private(set) var counts: [Int] = Array(repeating: 0, count: SkipReason.allCases.count)

    public init() {}

    public mutating func count(_ reason: SkipReason) { counts[reason.rawValue] &+= 1 }

    public subscript(reason: SkipReason) -> Int { counts[reason.rawValue] }

    /// Non-zero counters as (reason, count), in declaration order.
    public var nonZero: [(reason: SkipReason, count: Int)] {
        SkipReason.allCases.compactMap { counts[$0.rawValue] > 0 ? ($0, counts[$0.rawValue]) : nil }
    }

    public static func += (lhs: inout SkipCounters, rhs: SkipCounters) {
        for index in lhs.counts.indices { lhs.counts[index] += rhs.counts[index] }
    }
}
