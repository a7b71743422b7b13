import Testing
@testable import PacketDecoding

/// `IPAddress.appendText(to:)` writes bytes by hand; it must spell every address exactly as
/// the `String`-building implementation it replaced (RFC 5952 for IPv6).
struct AddressTextTests {
    /// RFC 5952 §4.2.2 (one zero group is not compressed), §4.2.3 (the longest run, the
    /// first on a tie), §5 (IPv4-mapped addresses keep a dotted tail).
    @Test(arguments: [
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
        ("0:1:2:3:4:5:6:0", "0:1:2:3:4:5:6:0"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("0:0:1:0:0:0:2:0", "0:0:1::2:0"),
        ("0:0:1:2:3:4:0:0", "::1:2:3:4:0:0"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("abcd:0ef0:0a00:000b:0:0:0:10", "abcd:ef0:a00:b::10"),
        ("::ffff:10.96.0.10", "::ffff:10.96.0.10"),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
        ("::1.2.3.4", "::102:304"),
        ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ])
    func rfc5952(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        var bytes: [UInt8] = []
        address.appendText(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        #expect(address.description == expected)
        #expect(legacyDescription(address) == expected)
    }

    @Test func ipv4Octets() {
        for (value, expected): (UInt32, String) in [(0, "0.0.0.0"), (0xffff_ffff, "255.255.255.255"),
                                                     (0x0a60_000a, "10.96.0.10"), (0x6409_6301, "100.9.99.1")] {
            #expect(IPAddress(ipv4: value).description == expected)
        }
    }

    /// Random addresses, with zero groups made common so that every run shape occurs.
    @Test func matchesTheStringImplementationOnManyAddresses() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        var bytes: [UInt8] = []
        for round in 0..<20_000 {
            let address: IPAddress
            if round % 5 == 0 {
                address = IPAddress(ipv4: UInt32(truncatingIfNeeded: next()))
            } else {
                let zeros = next()
                let values = next(), more = next()
                var groups: [UInt64] = []
                for index in 0..<8 {
                    let word = index < 4 ? values : more
                    var group = (word >> (16 * UInt64(index % 4))) & 0xffff
                    if (zeros >> UInt64(index)) & 1 == 1 { group = 0 }
                    if (zeros >> UInt64(8 + index)) & 1 == 1 { group &= 0xf }
                    groups.append(group)
                }
                if round % 7 == 0 { groups[0...4] = [0, 0, 0, 0, 0]; groups[5] = round % 14 == 0 ? 0xffff : groups[5] }
                let high = groups[0..<4].reduce(0) { $0 << 16 | $1 }
                let low = groups[4..<8].reduce(0) { $0 << 16 | $1 }
                address = IPAddress(ipv6High: high, low: low)
            }
            bytes.removeAll(keepingCapacity: true)
            address.appendText(to: &bytes)
            let expected = legacyDescription(address)
            #expect(String(decoding: bytes, as: UTF8.self) == expected)
            #expect(address.description == expected)
            #expect(IPAddress(expected) == address)
        }
    }
}

/// The implementation `appendText` replaced, kept as the reference.
private func legacyDescription(_ address: IPAddress) -> String {
    func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }
    if !address.isIPv6 { return dotted(UInt32(truncatingIfNeeded: address.low)) }
    let groups: [UInt16] = (0..<4).map { UInt16(truncatingIfNeeded: address.high >> (48 - 16 * $0)) }
        + (0..<4).map { UInt16(truncatingIfNeeded: address.low >> (48 - 16 * $0)) }
    if address.high == 0 && address.low >> 32 == 0xffff {
        return "::ffff:" + dotted(UInt32(truncatingIfNeeded: address.low))
    }
    var bestStart = -1, bestLength = 0, runStart = -1
    for index in 0...8 {
        if index < 8 && groups[index] == 0 {
            if runStart < 0 { runStart = index }
        } else if runStart >= 0 {
            if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
            runStart = -1
        }
    }
    if bestLength < 2 { bestStart = -1 }
    var text = ""
    var index = 0
    while index < 8 {
        if index == bestStart {
            text += "::"
            index += bestLength
            continue
        }
        if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
        text += String(groups[index], radix: 16)
        index += 1
    }
    return text
}
