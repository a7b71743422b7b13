/// Hand-built frames for filter tests. Checksums are zero: BPF never looks at them.
enum Packets {
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }

    /// Ethernet II: destination, source, EtherType (optionally preceded by VLAN tags,
    /// each a TPID and a TCI).
    static func ethernet(type: UInt16, vlanTags: [(tpid: UInt16, vlan: UInt16)] = [], _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]
        for tag in vlanTags { frame += be16(tag.tpid) + be16(tag.vlan) }
        return frame + be16(type) + payload
    }

    /// Linux cooked v2 (SLL2, 20 bytes): protocol, reserved, ifindex, hatype, packet type,
    /// address length, 8 address bytes.
    static func sll2(protocolType: UInt16, _ payload: [UInt8]) -> [UInt8] {
        be16(protocolType) + [0, 0] + [0, 0, 0, 2] + be16(1) + [0, 6]
            + [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0] + payload
    }

    /// IPv4 with a 20-byte header; `flagsAndOffset` is the 16-bit field (DF 0x4000,
    /// MF 0x2000, offset in 8-byte units in the low 13 bits).
    static func ipv4(protocolNumber: UInt8, flagsAndOffset: UInt16 = 0, _ payload: [UInt8]) -> [UInt8] {
        be16(0x4500) + be16(UInt16(20 + payload.count)) + be16(0x1234) + be16(flagsAndOffset)
            + [64, protocolNumber] + be16(0) + [192, 0, 2, 1] + [192, 0, 2, 53] + payload
    }

    static func ipv6(nextHeader: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(UInt16(payload.count)) + [nextHeader, 64]
            + [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
            + [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x35]
            + payload
    }

    /// IPv6 Fragment extension header (RFC 8200 §4.5) followed by the fragment's bytes.
    static func ipv6Fragment(nextHeader: UInt8, offsetAndFlags: UInt16, _ payload: [UInt8]) -> [UInt8] {
        [nextHeader, 0] + be16(offsetAndFlags) + [0, 0, 0x12, 0x34] + payload
    }

    static func udp(source: UInt16, destination: UInt16, _ payload: [UInt8] = dnsQuery) -> [UInt8] {
        be16(source) + be16(destination) + be16(UInt16(8 + payload.count)) + be16(0) + payload
    }

    static func tcp(source: UInt16, destination: UInt16) -> [UInt8] {
        be16(source) + be16(destination) + [0, 0, 0, 1] + [0, 0, 0, 0] + [0x50, 0x02] + be16(65_535) + [0, 0, 0, 0]
    }

    /// A DNS query for "a." type A (RFC 1035 §4.1).
    static let dnsQuery: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1]

    static let ipv4Type: UInt16 = 0x0800
    static let ipv6Type: UInt16 = 0x86dd
    static let udpProtocol: UInt8 = 17
    static let tcpProtocol: UInt8 = 6
}
