import Capture
import Foundation
import Glibc
import Testing
import WireCore

private let isRoot = geteuid() == 0

/// Live captures on this machine's loopback and "any" interfaces (root only), with the
/// test sending its own datagrams to 127.0.0.1:53 (no server needed: the frame is on the
/// wire whether or not anyone answers). Serialized so the counters are not shared.
@Suite("Live capture", .serialized)
struct LiveCaptureTests {
    /// Sends one UDP datagram from an ephemeral port to 127.0.0.1:`port`.
    static func sendUDP(_ payload: [UInt8], port: UInt16 = 53) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let sent = payload.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == payload.count else { throw SocketFailure(call: "sendto", code: errno) }
    }

    struct SocketFailure: Error {
        var call: String
        var code: Int32
    }

    /// A DNS query whose trailing bytes are unique to this call, so a test recognises its
    /// own datagram among whatever else crosses the interface.
    static func taggedQuery() -> [UInt8] {
        Packets.dnsQuery + Array(UUID().uuidString.utf8)
    }

    /// Reads until a frame contains `payload`, re-sending it now and then; nil after 5 s.
    static func captureOwnDatagram(_ capture: LiveCapture, payload: [UInt8]) throws -> FrameCopy? {
        let start = Date()
        var lastSend = Date.distantPast
        while Date().timeIntervalSince(start) < 5 {
            if Date().timeIntervalSince(lastSend) > 1 {
                try sendUDP(payload)
                lastSend = Date()
            }
            switch capture.next() {
            case .frame(let frame):
                let copy = FrameCopy(frame)
                if copy.bytes.count >= payload.count, Array(copy.bytes.suffix(payload.count)) == payload {
                    return copy
                }
            case .timeout:
                continue
            case .end, .damaged:
                return nil
            }
        }
        return nil
    }

    @Test(.enabled(if: isRoot, "live capture needs root"))
    func loopbackSeesADatagramToPort53() throws {
        let capture = try LiveCapture(interface: "lo", filter: "udp port 53", timeoutMilliseconds: 50, firstFrameNumber: 7)
        #expect(capture.interface == "lo")
        #expect(capture.filter == "udp port 53")
        #expect(capture.linkType == .ethernet)  // Linux loopback is DLT_EN10MB
        let payload = Self.taggedQuery()
        let before = Date().timeIntervalSince1970
        let frame = try #require(try Self.captureOwnDatagram(capture, payload: payload))
        #expect(frame.number >= 7)
        #expect(frame.capturedLength == 14 + 20 + 8 + payload.count)
        #expect(frame.originalLength == frame.capturedLength)
        #expect(frame.bytes[12...13] == [0x08, 0x00])
        #expect(frame.bytes[36...37] == [0x00, 0x35])  // UDP destination port 53
        // The capture clock and the wall clock agree to within a few seconds here.
        #expect(abs(Double(frame.timestamp) / 1e9 - before) < 10)
        let statistics = try #require(capture.statistics())
        #expect(statistics.received >= 1)
        #expect(statistics.dropped == 0)
    }

    @Test(.enabled(if: isRoot, "live capture needs root"))
    func anyInterfaceUsesLinuxCookedV2AndTheDefaultFilter() throws {
        let capture = try LiveCapture(interface: "any", dnsPorts: [53, 5353, 5355], timeoutMilliseconds: 50)
        #expect(capture.linkType == .linuxSLL2)
        #expect(capture.filter == defaultCaptureFilter(ports: [53, 5353, 5355], linkType: .linuxSLL2))
        let payload = Self.taggedQuery()
        let frame = try #require(try Self.captureOwnDatagram(capture, payload: payload))
        #expect(frame.linkType == LinkType.linuxSLL2.rawValue)
        #expect(frame.bytes[0...1] == [0x08, 0x00])  // SLL2 protocol type: IPv4
        #expect(frame.capturedLength == 20 + 20 + 8 + payload.count)
        #expect(capture.statistics() != nil)
    }

    /// Issue 15.2: the kernel runs the default filter (overlay and VLAN clauses included)
    /// on an Ethernet interface and on "any", also with a long port list, where a smaller
    /// variant is chosen. (libpcap 1.10.3's optimiser once produced a program reading
    /// scratch memory it never wrote, which the kernel refused: filtering then fell back to
    /// user space.)
    @Test(.enabled(if: isRoot, "live capture needs root"), arguments: [
        ("lo", [UInt16(53), 5353, 5355]), ("any", [53, 5353, 5355]), ("lo", Array(UInt16(53)...64)),
    ])
    func defaultFilterRunsInTheKernel(interface: String, ports: [UInt16]) throws {
        let capture = try LiveCapture(interface: interface, dnsPorts: ports, timeoutMilliseconds: 20)
        #expect(capture.filterInKernel, "\(interface), \(ports.count) ports: \(capture.filter.prefix(200))")
        #expect(defaultCaptureFilters(ports: ports, linkType: capture.linkType).contains(capture.filter))
        if interface == "lo" && ports.count == 3 {
            #expect(capture.filter == defaultCaptureFilter(ports: ports), "the most selective variant fits")
        }
    }

    @Test(.enabled(if: isRoot, "live capture needs root"))
    func silenceGivesTimeout() throws {
        // A port nothing on this machine uses, and a payload nobody sends.
        let capture = try LiveCapture(interface: "lo", filter: "udp port 9 and udp[8:4] == 0x646e7374",
                                      timeoutMilliseconds: 20)
        let start = Date()
        var sawTimeout = false
        var frames = 0
        while !sawTimeout, Date().timeIntervalSince(start) < 5 {
            switch capture.next() {
            case .timeout: sawTimeout = true
            case .frame: frames += 1
            default: break
            }
        }
        #expect(sawTimeout)
        #expect(frames == 0)
        // Not `received == 0`: the kernel counts what reached the socket before the filter was
        // attached (other tests use loopback in parallel), though libpcap never returns it.
        #expect(capture.statistics()?.dropped == 0)
    }

    @Test(.enabled(if: isRoot, "without root, libpcap reports missing permission first"))
    func unknownInterfaceIsNoSuchInterface() {
        do {
            _ = try LiveCapture(interface: "nonexistent0", filter: "udp port 53")
            Issue.record("opened nonexistent0")
        } catch {
            guard case .noSuchInterface(let interface, let detail) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(interface == "nonexistent0")
            #expect(detail.contains("lo"), "\(detail)")  // lists the interfaces that exist
            #expect(error.description.hasPrefix("no such network interface 'nonexistent0'"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test(.enabled(if: isRoot, "live capture needs root"))
    func badExpressionIsInvalidFilter() {
        do {
            _ = try LiveCapture(interface: "lo", filter: "port port")
            Issue.record("'port port' was accepted")
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

    /// Runs only without root, e.g. the test binary started under
    /// `setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all`
    /// (the root-only test below does exactly that).
    @Test(.enabled(if: !isRoot, "needs a process without root and capabilities"))
    func withoutPrivilegesLiveCaptureIsPermissionDenied() {
        do {
            _ = try LiveCapture(interface: "lo", filter: "udp port 53")
            Issue.record("live capture opened without privileges")
        } catch {
            guard case .permissionDenied(let interface, let detail) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(interface == "lo")
            // libpcap 1.10 on Linux: socket(AF_PACKET) fails with EPERM.
            #expect(detail == "socket: Operation not permitted")
            #expect(error.description == "live capture on 'lo' needs CAP_NET_RAW, which this process lacks: run it"
                + " as root or grant it with `setcap cap_net_raw=ep` (socket: Operation not permitted)")
        }
    }

    /// CAP_NET_RAW (bit 13) in this process's effective set, from /proc/self/status.
    static let hasOnlyCapNetRaw: Bool = {
        guard !isRoot, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask == 1 << 13
    }()

    /// Issue 15.8, measured: with CAP_NET_RAW alone (no root, no CAP_NET_ADMIN) libpcap
    /// opens one interface, "any", and one interface in promiscuous mode. Runs only in the
    /// process the root-only test below starts.
    @Test(.enabled(if: hasOnlyCapNetRaw, "needs a process whose only capability is CAP_NET_RAW"))
    func capNetRawAloneCapturesOnAnInterfaceOnAnyAndPromiscuously() throws {
        _ = try LiveCapture(interface: "lo", filter: "udp port 53")
        _ = try LiveCapture(interface: "any", dnsPorts: [53])
        _ = try LiveCapture(interface: "lo", filter: "udp port 53", promiscuous: true)
    }

    static let setpriv = "/usr/bin/setpriv"
    static let canDropPrivileges = isRoot && FileManager.default.isExecutableFile(atPath: setpriv)
        && getpwnam("nobody") != nil

    /// Runs the test above in a copy of this test process without root and without any
    /// capability (user nobody), so the permission path is exercised on every root run.
    @Test(.enabled(if: canDropPrivileges, "needs root, setpriv(1) and the user nobody"))
    func permissionDeniedWhenRunAsNobody() throws {
        try Self.runAsNobody(["--inh-caps=-all", "--bounding-set=-all"],
                             test: "withoutPrivilegesLiveCaptureIsPermissionDenied")
    }

    /// Runs the CAP_NET_RAW-only test above as user nobody with CAP_NET_RAW as its one
    /// (ambient) capability.
    @Test(.enabled(if: canDropPrivileges, "needs root, setpriv(1) and the user nobody"))
    func capNetRawAloneIsEnoughWhenRunAsNobody() throws {
        try Self.runAsNobody(["--inh-caps=-all,+net_raw", "--ambient-caps=-all,+net_raw", "--bounding-set=-all,+net_raw"],
                             test: "capNetRawAloneCapturesOnAnInterfaceOnAnyAndPromiscuously")
    }

    /// Runs one test of this process's executable as user nobody with `capabilities`
    /// (setpriv options), and expects it to pass.
    static func runAsNobody(_ capabilities: [String], test: String) throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: setpriv)
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups"] + capabilities
            + [executable, "--testing-library", "swift-testing", "--filter", test]
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("\(test)() passed"), "\(output)")
    }
}
