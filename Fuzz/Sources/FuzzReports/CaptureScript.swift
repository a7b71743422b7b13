import FuzzSupport

/// Turns fuzzer bytes into one or two capture files of DNS traffic: queries and answers
/// over UDP and TCP from many sources to many servers, ICMP errors, retries, multicast,
/// bursts of up to 4,096 distinct servers or sources, raw frames, and a capture clock that
/// steps forward or back and jumps (27 days, years, 2^31 or 2^32 seconds, to the ends of
/// the 64-bit range).
///
/// Input layout (all optional: missing bytes read as zeros):
///
///     options  1 byte   bits 0-2 format (pcap µs/ns, pcapng µs/ns/s/2^-30), bit 3 raw IP link
///                       type (else Ethernet), bit 4 two files (a rotated set), bit 5 small
///                       pending table, bit 6 small snaplen, bit 7 short timeout
///     param    1 byte   the pending cap, snaplen and timeout those bits ask for
///     event*   kind     1 byte   bits 0-3 what (below), bit 7 the step goes back in time
///              step     1 byte   0-127: that many ms; 128-255: (step - 127) s
///              then what the event reads:
///       0-3  UDP query      client 1, server 2, id 2, name (count byte, a byte per label), qtype 1, flags 1
///       4-6  response       which outstanding query 1, rcode/TC/answers/other-source 1
///       7    ICMP error     which outstanding query 1, code 1
///       8    TCP exchange   client 1, server 2, id 2, name, qtype 1, outcome 1
///       9    clock jump     which jump 1
///       10   burst          size 1 ((low 4 bits + 1) << high 4 bits, at most 4,096), mode 1, base index 2
///       11   next file      (nothing)
///       12   raw frame      length 1, bytes
///       13   mDNS query     client 1, id 2, name
///       14   retry          which outstanding query 1
///       15   duplicate      (the last frame again, as a copy)
struct CaptureScript {
    struct Query {
        var client: Host
        var server: Host
        var clientPort: UInt16
        var id: UInt16
        var name: [[UInt8]]
        var qtype: UInt16
        /// The IP packet of the query, for ICMP errors to quote and retries to resend.
        var packet: [UInt8]
    }

    /// At most this many frames per input, so a unit stays well under a second.
    static let maximumFrames = 20_000
    /// Distinct servers or sources in one burst: past what a 188 KB histogram per server
    /// (issue 14) fits in the 1 GB ceiling, under what one unit can do in a few seconds.
    static let maximumBurst = 4096
    static let maximumOutstanding = 64
    static let labels: [[UInt8]] = [
        "www", "example", "com", "svc", "cluster", "local", "default", "kube-dns", "api",
        "<script>fz", "\"><svg onload=fz>", "\u{1B}[31mfz", "line\nbreak", "&amp;<!--", "xn--fz", "_tcp", "*",
        String(repeating: "a", count: 63), "MiXeD", "\u{7F}\u{0}",
    ].map { Array($0.utf8) }
    /// Clock jumps, in nanoseconds, added with wrap-around; `nil` entries set absolute times.
    static let jumps: [(add: Int64?, set: Int64?)] = [
        (27 * 86_400 * 1_000_000_000, nil), (-27 * 86_400 * 1_000_000_000, nil),
        (20 * 86_400 * 1_000_000_000, nil), (-20 * 86_400 * 1_000_000_000, nil),
        (365 * 86_400 * 1_000_000_000, nil), (-365 * 86_400 * 1_000_000_000, nil),
        (Int64(1) << 31 * 1_000_000_000, nil), (-(Int64(1) << 31) * 1_000_000_000, nil),
        (Int64(1) << 32 * 1_000_000_000, nil), (-(Int64(1) << 32) * 1_000_000_000, nil),
        (1, nil), (-1, nil), (Int64.max / 2, nil), (Int64.min / 2, nil),
        (nil, 0), (nil, -1), (nil, Int64.max), (nil, Int64.min), (nil, Int64(1) << 62),
        (nil, Int64.max - 1_000_000_000), (nil, Int64(UInt32.max) * 1_000_000_000),
        (nil, 1_700_000_000_000_000_000),
    ]

    var input: FuzzInput
    let linkType: UInt16
    let snapshot: Int
    var files: [CaptureFile]
    var current = 0
    var time: Int64 = 1_700_000_000_000_000_000
    var outstanding: [Query] = []
    var lastFrame: [UInt8]?
    var frames = 0

    init(input: FuzzInput, format: CaptureFile.Format, linkType: UInt16, snapshot: Int, fileCount: Int) {
        self.input = input
        self.linkType = linkType
        self.snapshot = snapshot
        files = (0..<fileCount).map { _ in CaptureFile(format: format, linkType: linkType, snapshotLength: UInt32(snapshot)) }
    }

    mutating func run() {
        while !input.isAtEnd && frames < CaptureScript.maximumFrames {
            let kind = input.byte()
            let step = input.byte()
            let delta = step < 128 ? Int64(step) * 1_000_000 : Int64(step - 127) * 1_000_000_000
            time = kind & 0x80 != 0 ? time &- delta : time &+ delta
            switch kind & 0x0F {
            case 0...3: udpQuery()
            case 4...6: response()
            case 7: icmpError()
            case 8: tcpExchange()
            case 9: jump()
            case 10: burst()
            case 11: current = (current + 1) % files.count
            case 12:
                let length = Int(input.byte())
                emit(Array(input.take(length)), wrapped: false)
            case 13: multicastQuery()
            case 14: retry()
            default: if let lastFrame { emit(lastFrame, wrapped: false) }
            }
        }
    }

    // MARK: - Choices

    mutating func chooseClient() -> Host {
        let index = input.byte()
        return index & 0x80 != 0 ? .v6(prefix: 2, 0, index) : .v4(10, 0, 0, index)
    }

    mutating func chooseServer() -> Host {
        let index = input.uint16()
        return CaptureScript.server(index)
    }

    static func server(_ index: UInt16) -> Host {
        index & 0x8000 != 0 ? .v6(prefix: 1, UInt8(index >> 8 & 0x7F), UInt8(index & 0xFF))
            : .v4(172, 16, UInt8(index >> 8), UInt8(index & 0xFF))
    }

    mutating func chooseName() -> [[UInt8]] {
        let count = Int(input.byte() & 0x07)
        return (0..<count).map { _ in
            let choice = Int(input.byte())
            if choice < CaptureScript.labels.count { return CaptureScript.labels[choice] }
            return Array(input.take(choice & 0x0F))
        }
    }

    mutating func chooseQType() -> UInt16 {
        let choice = input.byte()
        return [1, 28, 33, 12, 5, 16, 255, 65][Int(choice & 0x07)] | (choice & 0x08 != 0 ? UInt16(choice) << 4 : 0)
    }

    // MARK: - Events

    mutating func emit(_ frame: [UInt8], wrapped: Bool = true) {
        let bytes = wrapped ? Packets.frame(frame, linkType: linkType) : frame
        files[current].add(nanoseconds: time, frame: bytes, snapshot: snapshot)
        lastFrame = bytes
        frames += 1
    }

    mutating func udpQuery() {
        let client = chooseClient(), server = chooseServer(), id = input.uint16(), name = chooseName(), qtype = chooseQType()
        let flags = input.byte()
        let clientPort = UInt16(0x8000 | (id & 0x7FFF))
        let message = Packets.dns(id: id, response: false, flags: flags, rcode: 0, name: name, qtype: qtype, answers: 0)
        let packet = Packets.ip(source: client, destination: server, protocol: .udp,
                                payload: Packets.udp(sourcePort: clientPort, destinationPort: 53, payload: message))
        emit(packet)
        remember(Query(client: client, server: server, clientPort: clientPort, id: id, name: name, qtype: qtype, packet: packet))
    }

    mutating func remember(_ query: Query) {
        if outstanding.count >= CaptureScript.maximumOutstanding { outstanding.removeFirst() }
        outstanding.append(query)
    }

    mutating func pick() -> Int? {
        let choice = Int(input.byte())
        return outstanding.isEmpty ? nil : choice % outstanding.count
    }

    mutating func response() {
        guard let index = pick() else { _ = input.byte(); return }
        let query = outstanding[index]
        let choice = input.byte()
        var source = query.server
        if choice & 0x80 != 0 { source.bytes[source.bytes.count - 1] &+= 1 }  // answered from another address
        let message = Packets.dns(id: query.id, response: true, flags: choice >> 4 & 0x01, rcode: choice & 0x0F,
                                  name: query.name, qtype: query.qtype, answers: Int(choice >> 5 & 0x03))
        emit(Packets.ip(source: source, destination: query.client, protocol: .udp,
                        payload: Packets.udp(sourcePort: 53, destinationPort: query.clientPort, payload: message)))
        if choice & 0x40 == 0 { outstanding.remove(at: index) }
    }

    mutating func icmpError() {
        guard let index = pick() else { _ = input.byte(); return }
        let query = outstanding[index]
        let code = input.byte()
        let sender = code & 0x80 != 0 ? (query.server.isIPv6 ? Host.v6(prefix: 3, 0, 1) : .v4(192, 168, 0, 1)) : query.server
        let quoted = code & 0x40 != 0 ? Array(query.packet.prefix(query.server.isIPv6 ? 48 : 28)) : query.packet
        emit(Packets.ip(source: sender, destination: query.client, protocol: .icmp,
                        payload: Packets.icmpUnreachable(quoted: quoted, ipv6: query.server.isIPv6 || query.client.isIPv6,
                                                         code: code & 0x0F)))
    }

    mutating func retry() {
        guard let index = pick() else { return }
        emit(outstanding[index].packet)
    }

    mutating func tcpExchange() {
        let client = chooseClient(), server = chooseServer(), id = input.uint16(), name = chooseName(), qtype = chooseQType()
        let outcome = input.byte()
        let clientPort = UInt16(0x8000 | (id & 0x7FFF))
        let gap = Int64(outcome >> 3) * 1_000_000
        let clientSequence = UInt32(id) << 16, serverSequence: UInt32 = 0x5000_0000
        func segment(_ fromClient: Bool, _ flags: UInt8, _ sequence: UInt32, _ acknowledgement: UInt32,
                     _ payload: [UInt8] = []) -> [UInt8] {
            let tcp = Packets.tcp(sourcePort: fromClient ? clientPort : 53, destinationPort: fromClient ? 53 : clientPort,
                                  sequence: sequence, acknowledgement: acknowledgement, flags: flags, payload: payload)
            return Packets.ip(source: fromClient ? client : server, destination: fromClient ? server : client,
                              protocol: .tcp, payload: tcp)
        }
        emit(segment(true, Packets.syn, clientSequence, 0))
        time &+= gap
        switch outcome & 0x07 {
        case 1: return  // no SYN-ACK: the handshake fails
        case 2:
            emit(segment(false, Packets.rst | Packets.ack, 0, clientSequence &+ 1))
            return
        default: break
        }
        emit(segment(false, Packets.syn | Packets.ack, serverSequence, clientSequence &+ 1))
        time &+= gap
        let query = Packets.dns(id: id, response: false, flags: 0, rcode: 0, name: name, qtype: qtype, answers: 0)
        let framedQuery = Packets.be16(query.count) + query
        emit(segment(true, Packets.psh | Packets.ack, clientSequence &+ 1, serverSequence &+ 1, framedQuery))
        time &+= gap
        switch outcome & 0x07 {
        case 3: return  // asked, never answered
        case 4:
            emit(segment(false, Packets.rst | Packets.ack, serverSequence &+ 1, clientSequence &+ 1 &+ UInt32(framedQuery.count)))
            return
        default: break
        }
        let answer = Packets.dns(id: id, response: true, flags: 0, rcode: outcome & 0x03, name: name, qtype: qtype,
                                 answers: Int(outcome >> 6))
        emit(segment(false, Packets.psh | Packets.ack, serverSequence &+ 1, clientSequence &+ 1 &+ UInt32(framedQuery.count),
                     Packets.be16(answer.count) + answer))
        time &+= gap
        if outcome & 0x07 != 5 {
            emit(segment(true, Packets.fin | Packets.ack, clientSequence &+ 1 &+ UInt32(framedQuery.count),
                         serverSequence &+ 1 &+ UInt32(answer.count + 2)))
        }
    }

    mutating func jump() {
        let choice = CaptureScript.jumps[Int(input.byte()) % CaptureScript.jumps.count]
        if let add = choice.add { time = time &+ add }
        if let set = choice.set { time = set }
    }

    /// Many queries at once, each from its own source or to its own server: what a
    /// recursive resolver or a scan looks like, and what makes per-server tables grow.
    mutating func burst() {
        let size = input.byte(), mode = input.byte(), base = input.uint16()
        let count = min(CaptureScript.maximumBurst, (Int(size & 0x0F) + 1) << Int(size >> 4 & 0x0F))
        let latency = Int64(mode >> 3) * 1_000_000
        for offset in 0..<count where frames < CaptureScript.maximumFrames {
            let index = base &+ UInt16(truncatingIfNeeded: offset)
            let server = mode & 0x01 != 0 ? CaptureScript.server(index) : CaptureScript.server(base)
            let client = mode & 0x01 != 0 ? Host.v4(10, 0, 0, 1)
                : mode & 0x04 != 0 ? Host.v6(prefix: 2, UInt8(index >> 8), UInt8(index & 0xFF))
                : Host.v4(10, 1, UInt8(index >> 8), UInt8(index & 0xFF))
            let id = UInt16(truncatingIfNeeded: offset)
            let clientPort = UInt16(0x8000 | (id & 0x7FFF))
            let name: [[UInt8]] = [Array("q\(offset)".utf8), CaptureScript.labels[1], CaptureScript.labels[2]]
            let query = Packets.dns(id: id, response: false, flags: 0, rcode: 0, name: name, qtype: 1, answers: 0)
            emit(Packets.ip(source: client, destination: server, protocol: .udp,
                            payload: Packets.udp(sourcePort: clientPort, destinationPort: 53, payload: query)))
            guard mode & 0x02 != 0 else { time &+= 1000; continue }
            time &+= latency
            let answer = Packets.dns(id: id, response: true, flags: 0, rcode: 0, name: name, qtype: 1, answers: 1)
            emit(Packets.ip(source: server, destination: client, protocol: .udp,
                            payload: Packets.udp(sourcePort: 53, destinationPort: clientPort, payload: answer)))
            time &+= 1000 &- latency
        }
    }

    mutating func multicastQuery() {
        let client = chooseClient(), id = input.uint16(), name = chooseName()
        let message = Packets.dns(id: id, response: false, flags: 0, rcode: 0, name: name, qtype: 1, answers: 0)
        let group: Host = client.isIPv6 ? Host(bytes: [0xFF, 0x02] + [UInt8](repeating: 0, count: 13) + [0xFB])
            : .v4(224, 0, 0, 251)
        emit(Packets.ip(source: client, destination: group, protocol: .udp,
                        payload: Packets.udp(sourcePort: 5353, destinationPort: 5353, payload: message)))
    }
}
