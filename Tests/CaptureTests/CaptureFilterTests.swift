import Capture
import Testing
import WireCore

/// `defaultCaptureFilter` compiled by the real libpcap and run on hand-built frames
/// with `pcap_offline_filter` (through `PacketFilter`).
@Suite("Default capture filter")
struct CaptureFilterTests {
    static let dnsPorts: [UInt16] = [53, 5353, 5355]

    @Test func expressionForTheDNSPorts() {
        let dns = "((udp or tcp) and (port 53 or port 5353 or port 5355)) or (ip[6:2] & 0x3fff != 0) or (ip6[6] == 44)"
        #expect(defaultCaptureFilter(ports: Self.dnsPorts) == "\(dns) or (vlan and (\(dns) or (vlan and (\(dns)))))")
        #expect(defaultCaptureFilter(ports: Self.dnsPorts, linkType: .linuxSLL2) == dns)
        #expect(defaultCaptureFilter(ports: [53, 53]) == defaultCaptureFilter(ports: [53]))
    }

    @Test func compilesOnEthernetWithItsVLANClause() throws {
        let expression = defaultCaptureFilter(ports: Self.dnsPorts)
        let filter = try PacketFilter(expression: expression, linkType: .ethernet)
        #expect(filter.instructionCount > 0)
        #expect(defaultCaptureFilter(ports: Self.dnsPorts, linkType: .ethernet) == expression)
    }

    /// libpcap has no `vlan` for cooked captures, so the Ethernet expression is refused
    /// on SLL2; the link-type-aware variant drops that clause and compiles.
    @Test func compilesOnLinuxCookedV2WithoutTheVLANClause() throws {
        do {
            _ = try PacketFilter(expression: defaultCaptureFilter(ports: Self.dnsPorts), linkType: .linuxSLL2)
            Issue.record("libpcap now accepts vlan on SLL2: defaultCaptureFilter(ports:linkType:) could keep it")
        } catch {
            guard case .invalidFilter(_, let detail) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(detail.contains("no VLAN support"), "\(detail)")
        }
        let expression = defaultCaptureFilter(ports: Self.dnsPorts, linkType: .linuxSLL2)
        #expect(!expression.contains("vlan"))
        _ = try PacketFilter(expression: expression, linkType: .linuxSLL2)
    }

    @Test(arguments: [LinkType.null, .ethernet, .raw, .rawAlternate12, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2])
    func linkAwareExpressionCompiles(linkType: LinkType) throws {
        _ = try PacketFilter(expression: defaultCaptureFilter(ports: Self.dnsPorts, linkType: linkType), linkType: linkType)
    }

    /// libpcap 1.10: "NFLOG link-layer type filtering not implemented".
    @Test func linkTypesWithoutIPFilteringGetNoFilter() throws {
        let nflog = LinkType(rawValue: 239)
        #expect(defaultCaptureFilter(ports: Self.dnsPorts, linkType: nflog) == "")
        _ = try PacketFilter(expression: "", linkType: nflog)
    }

    @Test func emptyPortListKeepsAllTCPAndUDP() throws {
        let filter = try PacketFilter(expression: defaultCaptureFilter(ports: []), linkType: .ethernet)
        let http = Packets.ethernet(type: Packets.ipv4Type, Packets.ipv4(protocolNumber: Packets.tcpProtocol,
            Packets.tcp(source: 40_000, destination: 80)))
        #expect(http.withUnsafeBytes { filter.matches($0) })
    }

    /// A frame, and whether the default filter must keep it.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var frame: [UInt8]
        var kept: Bool
        var testDescription: String { name }
    }

    static let udp = Packets.udpProtocol
    static let tcp = Packets.tcpProtocol
    static func ipv4UDP(_ source: UInt16, _ destination: UInt16, flags: UInt16 = 0) -> [UInt8] {
        Packets.ipv4(protocolNumber: udp, flagsAndOffset: flags, Packets.udp(source: source, destination: destination))
    }

    static let ethernetCases: [Case] = [
        Case(name: "IPv4 UDP query to 53", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(40_000, 53)), kept: true),
        Case(name: "IPv4 UDP response from 53", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(53, 40_000)), kept: true),
        Case(name: "IPv4 UDP mDNS 5353", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(5353, 5353)), kept: true),
        Case(name: "IPv4 UDP LLMNR 5355", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(40_000, 5355)), kept: true),
        Case(name: "IPv4 TCP to 53", frame: Packets.ethernet(type: Packets.ipv4Type, Packets.ipv4(protocolNumber: tcp,
            Packets.tcp(source: 40_000, destination: 53))), kept: true),
        Case(name: "IPv4 TCP from 53", frame: Packets.ethernet(type: Packets.ipv4Type, Packets.ipv4(protocolNumber: tcp,
            Packets.tcp(source: 53, destination: 40_000))), kept: true),
        Case(name: "IPv4 UDP 123 (NTP)", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(123, 123)), kept: false),
        Case(name: "IPv4 TCP 443", frame: Packets.ethernet(type: Packets.ipv4Type, Packets.ipv4(protocolNumber: tcp,
            Packets.tcp(source: 40_000, destination: 443))), kept: false),
        Case(name: "IPv4 UDP 80 with DF", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(40_000, 80, flags: 0x4000)), kept: false),
        Case(name: "IPv4 ICMP", frame: Packets.ethernet(type: Packets.ipv4Type, Packets.ipv4(protocolNumber: 1, [8, 0, 0, 0, 0, 1, 0, 1])),
             kept: false),
        // Non-first fragment: offset 185 (1480 bytes), no UDP header, so no port to match.
        Case(name: "IPv4 non-first fragment", frame: Packets.ethernet(type: Packets.ipv4Type,
            Packets.ipv4(protocolNumber: udp, flagsAndOffset: 185, [UInt8](repeating: 0x41, count: 40))), kept: true),
        Case(name: "IPv4 last fragment with DF bits clear", frame: Packets.ethernet(type: Packets.ipv4Type,
            Packets.ipv4(protocolNumber: udp, flagsAndOffset: 0x0001, [UInt8](repeating: 0x41, count: 8))), kept: true),
        Case(name: "IPv4 first fragment MF, other port", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(40_000, 9_999, flags: 0x2000)),
             kept: true),
        Case(name: "IPv4 first fragment MF, port 53", frame: Packets.ethernet(type: Packets.ipv4Type, ipv4UDP(53, 40_000, flags: 0x2000)),
             kept: true),
        Case(name: "IPv6 UDP to 53", frame: Packets.ethernet(type: Packets.ipv6Type, Packets.ipv6(nextHeader: udp,
            Packets.udp(source: 40_000, destination: 53))), kept: true),
        Case(name: "IPv6 TCP from 53", frame: Packets.ethernet(type: Packets.ipv6Type, Packets.ipv6(nextHeader: tcp,
            Packets.tcp(source: 53, destination: 40_000))), kept: true),
        Case(name: "IPv6 UDP 123", frame: Packets.ethernet(type: Packets.ipv6Type, Packets.ipv6(nextHeader: udp,
            Packets.udp(source: 123, destination: 123))), kept: false),
        Case(name: "IPv6 Fragment header, non-first", frame: Packets.ethernet(type: Packets.ipv6Type, Packets.ipv6(nextHeader: 44,
            Packets.ipv6Fragment(nextHeader: udp, offsetAndFlags: 1448, [UInt8](repeating: 0x41, count: 24)))), kept: true),
        Case(name: "IPv6 Fragment header, first with M", frame: Packets.ethernet(type: Packets.ipv6Type, Packets.ipv6(nextHeader: 44,
            Packets.ipv6Fragment(nextHeader: udp, offsetAndFlags: 1, Packets.udp(source: 40_000, destination: 9_999)))),
             kept: true),
        Case(name: "ARP", frame: Packets.ethernet(type: 0x0806, [UInt8](repeating: 0, count: 28)), kept: false),
        Case(name: "802.1Q, IPv4 UDP to 53", frame: Packets.ethernet(type: Packets.ipv4Type, vlanTags: [(0x8100, 11)],
            ipv4UDP(40_000, 53)), kept: true),
        Case(name: "802.1Q, IPv4 UDP 123", frame: Packets.ethernet(type: Packets.ipv4Type, vlanTags: [(0x8100, 11)],
            ipv4UDP(123, 123)), kept: false),
        Case(name: "802.1Q, IPv6 TCP to 53", frame: Packets.ethernet(type: Packets.ipv6Type, vlanTags: [(0x8100, 11)],
            Packets.ipv6(nextHeader: tcp, Packets.tcp(source: 40_000, destination: 53))), kept: true),
        Case(name: "802.1Q, IPv4 non-first fragment", frame: Packets.ethernet(type: Packets.ipv4Type, vlanTags: [(0x8100, 11)],
            Packets.ipv4(protocolNumber: udp, flagsAndOffset: 185, [UInt8](repeating: 0x41, count: 40))), kept: true),
        Case(name: "802.1ad, IPv4 UDP to 5353", frame: Packets.ethernet(type: Packets.ipv4Type, vlanTags: [(0x88a8, 100)],
            ipv4UDP(40_000, 5353)), kept: true),
        Case(name: "QinQ 802.1ad + 802.1Q, IPv4 UDP to 53", frame: Packets.ethernet(type: Packets.ipv4Type,
            vlanTags: [(0x88a8, 100), (0x8100, 11)], ipv4UDP(40_000, 53)), kept: true),
        Case(name: "QinQ 802.1ad + 802.1Q, IPv4 UDP 123", frame: Packets.ethernet(type: Packets.ipv4Type,
            vlanTags: [(0x88a8, 100), (0x8100, 11)], ipv4UDP(123, 123)), kept: false),
        Case(name: "802.1Q, ARP", frame: Packets.ethernet(type: 0x0806, vlanTags: [(0x8100, 11)], [UInt8](repeating: 0, count: 28)),
             kept: false),
    ]

    @Test(arguments: ethernetCases)
    func ethernetFrame(_ example: Case) throws {
        let filter = try PacketFilter(expression: defaultCaptureFilter(ports: Self.dnsPorts), linkType: .ethernet)
        #expect(example.frame.withUnsafeBytes { filter.matches($0) } == example.kept)
    }

    static let cookedCases: [Case] = [
        Case(name: "SLL2 IPv4 UDP to 53", frame: Packets.sll2(protocolType: Packets.ipv4Type, ipv4UDP(40_000, 53)), kept: true),
        Case(name: "SLL2 IPv4 UDP 123", frame: Packets.sll2(protocolType: Packets.ipv4Type, ipv4UDP(123, 123)), kept: false),
        Case(name: "SLL2 IPv4 non-first fragment", frame: Packets.sll2(protocolType: Packets.ipv4Type,
            Packets.ipv4(protocolNumber: udp, flagsAndOffset: 185, [UInt8](repeating: 0x41, count: 40))), kept: true),
        Case(name: "SLL2 IPv6 Fragment header", frame: Packets.sll2(protocolType: Packets.ipv6Type, Packets.ipv6(nextHeader: 44,
            Packets.ipv6Fragment(nextHeader: udp, offsetAndFlags: 1448, [UInt8](repeating: 0x41, count: 24)))), kept: true),
        Case(name: "SLL2 IPv6 TCP from 5355", frame: Packets.sll2(protocolType: Packets.ipv6Type, Packets.ipv6(nextHeader: tcp,
            Packets.tcp(source: 5355, destination: 40_000))), kept: true),
    ]

    @Test(arguments: cookedCases)
    func linuxCookedV2Frame(_ example: Case) throws {
        let filter = try PacketFilter(expression: defaultCaptureFilter(ports: Self.dnsPorts, linkType: .linuxSLL2),
                                      linkType: .linuxSLL2)
        #expect(example.frame.withUnsafeBytes { filter.matches($0) } == example.kept)
    }

    /// The public VLAN capture (dnscap_vlan11.pcap: everything in VLAN 11, DNS plus ICMP
    /// and others): the DNS frames are kept, and only through the VLAN clause.
    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
    func keepsEveryFrameOfThePublicVLANCapture() throws {
        let capture = try OfflineCapture(path: PublicCaptureTests.directory + "/dnscap_vlan11.pcap")
        let filter = try PacketFilter(expression: defaultCaptureFilter(ports: Self.dnsPorts), linkType: capture.linkType)
        let plainDNS = try PacketFilter(expression: "udp port 53 or tcp port 53", linkType: capture.linkType)
        var kept = 0
        var keptWithoutVLAN = 0
        while case .frame(let frame) = capture.next() {
            if filter.matches(frame.bytes, originalLength: frame.originalLength) { kept += 1 }
            if plainDNS.matches(frame.bytes, originalLength: frame.originalLength) { keptWithoutVLAN += 1 }
        }
        // tshark -r dnscap_vlan11.pcap -Y 'vlan && (udp.port==53 || tcp.port==53)' | wc -l → 82
        // (tcpdump -r … 'vlan and (udp port 53 or tcp port 53)' agrees); none are fragments.
        #expect(kept == 82)
        #expect(keptWithoutVLAN == 0)
    }

    @Test func invalidExpressionIsReported() {
        do {
            _ = try PacketFilter(expression: "port port", linkType: .ethernet)
            Issue.record("'port port' compiled")
        } catch {
            guard case .invalidFilter(let expression, let detail) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(expression == "port port")
            #expect(!detail.isEmpty)
            #expect(error.description.hasPrefix("invalid BPF filter 'port port': "))
        }
    }
}
