import Capture
import Foundation
import Testing

/// `--interface-names FILE`: `ip -o link`, `ip link` and `ip -j link` output, and one-line
/// errors for files that are none of them.
@Suite("Interface name files")
struct InterfaceNameMapTests {
    /// `ip -o link` of the node namespace, as captures/record-captures.log recorded it for any-dnat.
    static let ipOneLine = """
        1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\ link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
        2: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\ link/ether 02:42:0a:f4:01:01 brd ff:ff:ff:ff:ff:ff
        3: veth-pod-a@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP mode DEFAULT group default qlen 1000\\ link/ether 96:b1:a9:cf:83:10 brd ff:ff:ff:ff:ff:ff link-netns dt5380-any-dnat-pod-a

        """

    @Test func ipOneLineOutputNamesEachIndexWithoutThePeerSuffix() throws {
        let names = try InterfaceNameMap.parse(Self.ipOneLine, path: "links.txt")
        #expect(names == [1: "lo", 2: "br0", 3: "veth-pod-a"])
    }

    @Test func ipLinkOutputWithContinuationLines() throws {
        let text = """
            1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
                link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
            12: eth0@if13: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default
                link/ether 7e:4c:5f:0a:11:22 brd ff:ff:ff:ff:ff:ff link-netnsid 0
            """
        #expect(try InterfaceNameMap.parse(text, path: "links.txt") == [1: "lo", 12: "eth0"])
    }

    @Test func ipJSONOutputReadsOnlyTheTopLevelObjects() throws {
        let text = """
            [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"link_type":"loopback"},\
            {"ifindex":5,"link_index":2,"ifname":"veth-coredns","flags":["UP"],"linkinfo":{"info_kind":"veth","ifname":"nested"},\
            "address":"02:42:0a:f4:00:01","link_netnsid":1}]
            """
        #expect(try InterfaceNameMap.parse(text, path: "links.json") == [1: "lo", 5: "veth-coredns"])
    }

    @Test(arguments: [
        ("hello world\n", "cannot use interface names 'f': line 1 is not `ip -o link` output"),
        ("", "cannot use interface names 'f': no interfaces in it (expected the output of `ip -o link` or `ip -j link`)"),
        ("2: has space: <UP>\n", "cannot use interface names 'f': line 1: not a valid interface name"),
        ("2: much-too-long-name0: <UP>\n", "cannot use interface names 'f': line 1: not a valid interface name"),
        ("[{\"ifindex\":2,\"ifname\":\"a\\nb\"}]", "cannot use interface names 'f': interface 2: not a valid interface name"),
        ("[{\"ifindex\":2,\"ifname\":\"eth0", "cannot use interface names 'f': not JSON (a string is not closed)"),
        ("[]", "cannot use interface names 'f': no interfaces in it (expected the output of `ip -o link` or `ip -j link`)"),
    ])
    func unusableTextFailsWithOneLine(text: String, message: String) {
        #expect(throws: InterfaceNameMapError.self) { try InterfaceNameMap.parse(text, path: "f") }
        do {
            _ = try InterfaceNameMap.parse(text, path: "f")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func unboundedOrMissingFilesFailWithOneLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(loadingError("/dev/zero") == "cannot use interface names '/dev/zero': larger than 4 MiB, not `ip link` output")
        #expect(loadingError(directory.path + "/missing")
            == "cannot use interface names '\(directory.path)/missing': No such file or directory")
        #expect(loadingError(directory.path) == "cannot use interface names '\(directory.path)': Is a directory")
        let binary = try directory.write([0x31, 0x3a, 0x20, 0xff, 0x3a, 0x0a], to: "binary")
        #expect(loadingError(binary) == "cannot use interface names '\(binary)': not text (invalid UTF-8)")
        let good = try directory.write(Array(Self.ipOneLine.utf8), to: "links.txt")
        #expect(try InterfaceNameMap.load(path: good) == [1: "lo", 2: "br0", 3: "veth-pod-a"])
    }

    private func loadingError(_ path: String) -> String? {
        do {
            _ = try InterfaceNameMap.load(path: path)
            return nil
        } catch {
            return error.description
        }
    }
}

/// File names that are not valid UTF-8 (Linux allows any bytes): opened by their bytes,
/// shown escaped.
@Suite("Capture paths")
struct CapturePathTests {
    @Test func invalidBytesAndControlCharactersAreEscapedOrdinaryNamesUnchanged() {
        #expect(CapturePath("captures/egress-deny.pcap").display == "captures/egress-deny.pcap")
        #expect(CapturePath("dump-é-日本.pcap").display == "dump-é-日本.pcap")
        #expect(CapturePath(bytes: Array("a-".utf8) + [0xff] + Array(".pcap".utf8)).display == "a-\\xFF.pcap")
        #expect(CapturePath(bytes: [0x61, 0xc3]).display == "a\\xC3")  // Cut multi-byte sequence.
        #expect(CapturePath(bytes: [0xed, 0xa0, 0x80]).display == "\\xED\\xA0\\x80")  // A surrogate.
        #expect(CapturePath(bytes: [0xc0, 0xaf]).display == "\\xC0\\xAF")  // Overlong '/'.
        #expect(CapturePath("a\nb\u{1B}[31m").display == "a\\x0Ab\\x1B[31m")
        #expect(CapturePath("a\\xFF").display == "a\\\\xFF")  // Never the same as a real 0xFF.
        #expect(CapturePath("-").isStandardInput)
    }

    @Test func argumentsRepairedByTheParserAreMatchedToTheirRawBytes() {
        let raw: [[UInt8]] = [Array("analyze".utf8), [0x61, 0xff], Array("--format".utf8), Array("json".utf8), [0x62, 0xfe]]
        let parsed = raw.map { String(decoding: $0, as: UTF8.self) }
        let paths = CapturePath.matching([parsed[1], parsed[4], "plain.pcap"], raw: raw)
        #expect(paths.map(\.bytes) == [[0x61, 0xff], [0x62, 0xfe], Array("plain.pcap".utf8)])
    }

    @Test func fileWithAnInvalidUTF8NameOpensByItsBytes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let name = CapturePath(bytes: Array((directory.path + "/capture-").utf8) + [0xff] + Array(".pcap".utf8))
        let bytes = OfflineCaptureTests.threeFrames().bytes
        let descriptor = (name.bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress.unsafelyUnwrapped, O_WRONLY | O_CREAT | O_EXCL, 0o600) }
        }
        try #require(descriptor >= 0)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        let capture = try OfflineCapture(input: name)
        #expect(capture.path == directory.path + "/capture-\\xFF.pcap")
        #expect(readAll(capture).frames.count == 3)
        // The repaired name (U+FFFD) is another file, which does not exist.
        let repaired = String(decoding: name.bytes, as: UTF8.self)
        #expect(openingError(repaired) == .cannotOpen(path: repaired, reason: "No such file or directory"))
        let missing = CapturePath(bytes: Array((directory.path + "/gone-").utf8) + [0xfe])
        do {
            _ = try OfflineCapture(input: missing)
            Issue.record("a missing file opened")
        } catch {
            #expect(error.description == "cannot read capture '\(directory.path)/gone-\\xFE': No such file or directory")
        }
    }
}
