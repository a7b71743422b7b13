import Testing
@testable import DNSWire

// Real messages: dig 9.18 against dnsmasq 2.90 on loopback (local records, and an
// auth-zone for the NXDOMAIN with SOA), captured with tcpdump. The comment above each is
// `tcpdump -nn -vv -T domain` for that packet; every field is checked against it and
// against dig's own output. The last two are hand-made from the first response and
// checked the same way with tcpdump on a pcap written around them.

/// The real and hand-made vectors, shared with the other suites.
enum Real {
    /// `37694 > 53530: 22970+ [1au] A? www.example.test. ar: . OPT UDPsize=1232 DO [ECS 192.0.2.0/24/0,COOKIE 599dc34312e7228c] (68)`
    /// (`dig www.example.test A +dnssec +subnet=192.0.2.0/24 +cookie`)
    static let queryWithECSAndCookie = hex("""
        59ba 0120 0001 0000 0000 0001        ; id 22970, RD AD, QD 1, AR 1
        03 777777 07 6578616d706c65 04 74657374 00 0001 0001   ; 12: www.example.test. A IN
        00 0029 04d0 00 00 8000 0017         ; 34: OPT udp 1232, ext 0, version 0, DO, RDLENGTH 23
        0008 0007 0001 18 00 c00002          ; 45: ECS family 1, source 24, scope 0, 192.0.2
        000a 0008 599dc34312e7228c           ; 56: COOKIE client only
        """)

    /// `53530 > 37694: 22970* q: A? www.example.test. 3/0/1 www.example.test. CNAME web.example.test.,
    /// web.example.test. CNAME host.example.test., host.example.test. A 192.0.2.10 ar: . OPT UDPsize=1232 DO (122)`
    static let responseWithCNAMEChain = hex("""
        59ba 8580 0001 0003 0000 0001        ; id 22970, QR AA RD RA NOERROR, QD 1, AN 3, AR 1
        03 777777 07 6578616d706c65 04 74657374 00 0001 0001   ; 12: www.example.test. A IN
        c00c 0005 0001 0000012c 0012         ; 34: ->12, CNAME IN 300, RDLENGTH 18
        03 776562 07 6578616d706c65 04 74657374 00             ; 46: web.example.test.
        c02e 0005 0001 0000012c 0013         ; 64: ->46, CNAME IN 300, RDLENGTH 19
        04 686f7374 07 6578616d706c65 04 74657374 00           ; 76: host.example.test.
        c04c 0001 0001 0000012c 0004 c000020a                  ; 95: ->76, A IN 300 192.0.2.10
        00 0029 04d0 00 00 8000 0000         ; 111: OPT udp 1232, DO, no options
        """)

    /// `53530 > 36841: 13134* q: AAAA? host.example.test. 1/0/1 host.example.test. AAAA 2001:db8::10 ar: . OPT UDPsize=1232 (74)`
    static let responseAAAA = hex("""
        334e 8580 0001 0001 0000 0001
        04 686f7374 07 6578616d706c65 04 74657374 00 001c 0001 ; 12: host.example.test. AAAA IN
        c00c 001c 0001 0000012c 0010 20010db8000000000000000000000010   ; 35
        00 0029 04d0 00000000 0000           ; 63: OPT udp 1232
        """)

    /// `55344 > 53530: 15536+ MX? example.test. (30)` (`dig example.test MX +noedns`)
    static let queryMX = hex("""
        3cb0 0120 0001 0000 0000 0000
        07 6578616d706c65 04 74657374 00 000f 0001
        """)

    /// `53530 > 55344: 15536* q: MX? example.test. 1/0/0 example.test. MX mail.example.test. 10 (63)`
    static let responseMX = hex("""
        3cb0 8580 0001 0001 0000 0000
        07 6578616d706c65 04 74657374 00 000f 0001             ; 12: example.test. MX IN
        c00c 000f 0001 0000012c 0015 000a                      ; 30: MX 300, preference 10
        04 6d61696c 07 6578616d706c65 04 74657374 00           ; 44: mail.example.test.
        """)

    /// `53530 > 43316: 13177* q: TXT? example.test. 1/0/1 example.test. TXT "v=spf1 -all" "hello world" ar: . OPT UDPsize=1232 (77)`
    static let responseTXT = hex("""
        3379 8580 0001 0001 0000 0001
        07 6578616d706c65 04 74657374 00 0010 0001             ; 12: example.test. TXT IN
        c00c 0010 0001 0000012c 0018                           ; 30: TXT 300, RDLENGTH 24
        0b 763d73706631202d616c6c 0b 68656c6c6f20776f726c64    ; 42: "v=spf1 -all" "hello world"
        00 0029 04d0 00000000 0000           ; 66: OPT
        """)

    /// `53530 > 48962: 55344* q: SRV? _sip._udp.example.test. 1/0/1 _sip._udp.example.test. SRV sip.example.test.:5060 0 5 ar: . OPT UDPsize=1232 (87)`
    static let responseSRV = hex("""
        d830 8580 0001 0001 0000 0001
        04 5f736970 04 5f756470 07 6578616d706c65 04 74657374 00 0021 0001   ; 12
        c00c 0021 0001 0000012c 0018 0000 0005 13c4            ; 40: SRV 300, priority 0, weight 5, port 5060
        03 736970 07 6578616d706c65 04 74657374 00             ; 58: sip.example.test.
        00 0029 04d0 00000000 0000           ; 76: OPT
        """)

    /// `53531 > 50530: 38146 NXDomain*- q: A? nope.example.test. 0/1/1 ns: example.test. SOA ns1.example.test.
    /// hostmaster.example.test. 2024010101 1200 180 1209600 300 ar: . OPT UDPsize=1232 (133)` (`dig nope.example.test +norec`)
    static let responseNXDomainWithSOA = hex("""
        9502 8403 0001 0000 0001 0001        ; QR AA, NXDOMAIN, NS 1, AR 1
        04 6e6f7065 07 6578616d706c65 04 74657374 00 0001 0001 ; 12: nope.example.test. A IN
        07 6578616d706c65 04 74657374 00 0006 0001 0000012c 003f   ; 35: example.test. SOA 300, RDLENGTH 63
        03 6e7331 07 6578616d706c65 04 74657374 00             ; 59: ns1.example.test.
        0a 686f73746d6173746572 07 6578616d706c65 04 74657374 00   ; 77: hostmaster.example.test.
        78a3f175 000004b0 000000b4 00127500 0000012c           ; serial, refresh, retry, expire, minimum
        00 0029 04d0 00000000 0000           ; 122: OPT
        """)

    /// Hand-made: `responseWithCNAMEChain` with the OPT of a resolver that echoes the client
    /// subnet with a scope and adds a server cookie. tcpdump: `22970* q: A? www.example.test. 3/0/1 …
    /// ar: . OPT UDPsize=1232 DO [ECS 192.0.2.0/24/24,COOKIE 599dc34312e7228c 0100000065a1b2c31122334455667788] (161)`
    static let responseWithECSAndServerCookie = Array(Real.responseWithCNAMEChain.prefix(111)) + hex("""
        00 0029 04d0 00 00 8000 0027         ; 111: OPT udp 1232, DO, RDLENGTH 39
        0008 0007 0001 18 18 c00002          ; 122: ECS 192.0.2.0/24/24
        000a 0018 599dc34312e7228c 01000000 65a1b2c3 1122334455667788   ; 133: COOKIE client + 16-byte server
        """)

    /// Hand-made: `4660 BadCookie q: A? example.com. 0/0/1 ar: . OPT UDPsize=4096 (40)`: header
    /// RCODE 7, OPT extended RCODE 1, so RCODE 1 << 4 | 7 = 23 (RFC 6891 §6.1.3).
    static let responseBadCookie = hex("""
        1234 8187 0001 0000 0000 0001
        07 6578616d706c65 03 636f6d 00 0001 0001
        00 0029 1000 01 00 0000 0000         ; OPT udp 4096, extended RCODE 1
        """)
}

@Suite struct RealTrafficTests {
    @Test func queryWithEDNSClientSubnetAndCookie() throws {
        let message = try DNSMessage(parsing: Real.queryWithECSAndCookie)
        #expect(message.header == DNSHeader(id: 22970, flags: 0x0120, questionCount: 1, additionalCount: 1))
        #expect(!message.header.isResponse)
        #expect(message.header.opcode == .query)
        #expect(message.header.recursionDesired)
        #expect(message.header.authenticData)
        #expect(!message.header.checkingDisabled && !message.header.isTruncated && !message.header.isAuthoritative)
        #expect(message.questions == [DNSQuestion(name: name("www.example.test."), type: .a)])
        #expect(message.answers.isEmpty && message.authorities.isEmpty)
        let edns = EDNS(
            udpPayloadSize: 1232, dnssecOK: true,
            options: [
                EDNSOption(code: 8, data: [0x00, 0x01, 24, 0, 192, 0, 2]),
                EDNSOption(code: 10, data: [0x59, 0x9d, 0xc3, 0x43, 0x12, 0xe7, 0x22, 0x8c]),
            ])
        #expect(message.additionals == [DNSRecord(name: .root, type: .opt, rawClass: 1232, ttl: 0x8000, data: .opt(edns))])
        #expect(message.edns == edns)
        #expect(message.edns?.version == 0 && message.edns?.extendedRCodeHigh == 0)
        #expect(message.rcode == .noError)
        #expect(message.trailingByteCount == 0)

        let subnet = try #require(message.edns?.options.first?.clientSubnet)
        #expect(subnet == EDNSClientSubnet(family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: [192, 0, 2]))
        #expect(subnet.description == "192.0.2.0/24/0")
        let cookie = try #require(message.edns?.options.last?.cookie)
        #expect(cookie.client == [0x59, 0x9d, 0xc3, 0x43, 0x12, 0xe7, 0x22, 0x8c])
        #expect(cookie.server.isEmpty)
        #expect(message.edns?.options.first?.cookie == nil)
        #expect(message.edns?.description == "version 0, flags do, udp 1232, CLIENT-SUBNET 192.0.2.0/24/0, COOKIE 599dc34312e7228c")
    }

    @Test func responseWithCNAMEChainUsesEveryPointer() throws {
        let message = try DNSMessage(parsing: Real.responseWithCNAMEChain)
        #expect(message.header == DNSHeader(id: 22970, flags: 0x8580, questionCount: 1, answerCount: 3, additionalCount: 1))
        #expect(message.header.isResponse && message.header.isAuthoritative)
        #expect(message.header.recursionDesired && message.header.recursionAvailable)
        #expect(!message.header.authenticData)
        #expect(message.questions == [DNSQuestion(name: name("www.example.test."), type: .a, class: .in)])
        #expect(message.answers == [
            DNSRecord(name: name("www.example.test."), type: .cname, ttl: 300, data: .cname(name("web.example.test."))),
            DNSRecord(name: name("web.example.test."), type: .cname, ttl: 300, data: .cname(name("host.example.test."))),
            DNSRecord(name: name("host.example.test."), type: .a, ttl: 300, data: .a(.init(192, 0, 2, 10))),
        ])
        #expect(message.edns == EDNS(udpPayloadSize: 1232, dnssecOK: true))
        #expect(message.answers.map(\.description) == [
            "www.example.test. 300 IN CNAME web.example.test.",
            "web.example.test. 300 IN CNAME host.example.test.",
            "host.example.test. 300 IN A 192.0.2.10",
        ])
        #expect(message.additionals.first?.description == ". OPT version 0, flags do, udp 1232")
    }

    @Test func responseAAAADecodesToCanonicalText() throws {
        let message = try DNSMessage(parsing: Real.responseAAAA)
        #expect(message.header == DNSHeader(id: 13134, flags: 0x8580, questionCount: 1, answerCount: 1, additionalCount: 1))
        #expect(message.questions == [DNSQuestion(name: name("host.example.test."), type: .aaaa)])
        let address = try #require(DNSRecordData.IPv6Address(groups: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10]))
        #expect(message.answers == [DNSRecord(name: name("host.example.test."), type: .aaaa, ttl: 300, data: .aaaa(address))])
        #expect(message.answers.first?.data.description == "2001:db8::10")
        #expect(message.edns == EDNS(udpPayloadSize: 1232))
        #expect(message.edns?.dnssecOK == false)
    }

    @Test func queryAndResponseMXWithoutEDNS() throws {
        let query = try DNSMessage(parsing: Real.queryMX)
        #expect(query.header == DNSHeader(id: 15536, flags: 0x0120, questionCount: 1))
        #expect(query.questions == [DNSQuestion(name: name("example.test."), type: .mx)])
        #expect(query.edns == nil && query.additionals.isEmpty)

        let response = try DNSMessage(parsing: Real.responseMX)
        #expect(response.header == DNSHeader(id: 15536, flags: 0x8580, questionCount: 1, answerCount: 1))
        #expect(response.answers == [
            DNSRecord(name: name("example.test."), type: .mx, ttl: 300,
                      data: .mx(preference: 10, exchange: name("mail.example.test."))),
        ])
        #expect(response.answers.first?.description == "example.test. 300 IN MX 10 mail.example.test.")
        #expect(response.edns == nil)
        #expect(response.rcode == .noError)
    }

    @Test func responseTXTKeepsEachCharacterString() throws {
        let message = try DNSMessage(parsing: Real.responseTXT)
        #expect(message.header.id == 13177)
        #expect(message.questions == [DNSQuestion(name: name("example.test."), type: .txt)])
        #expect(message.answers == [
            DNSRecord(name: name("example.test."), type: .txt, ttl: 300,
                      data: .txt([Array("v=spf1 -all".utf8), Array("hello world".utf8)])),
        ])
        #expect(message.answers.first?.data.description == #""v=spf1 -all" "hello world""#)
    }

    @Test func responseSRVDecompressesTarget() throws {
        let message = try DNSMessage(parsing: Real.responseSRV)
        #expect(message.header.id == 55344)
        #expect(message.questions == [DNSQuestion(name: name("_sip._udp.example.test."), type: .srv)])
        #expect(message.answers == [
            DNSRecord(name: name("_sip._udp.example.test."), type: .srv, ttl: 300,
                      data: .srv(priority: 0, weight: 5, port: 5060, target: name("sip.example.test."))),
        ])
        #expect(message.answers.first?.data.description == "0 5 5060 sip.example.test.")
    }

    @Test func nxDomainWithSOAInAuthority() throws {
        let message = try DNSMessage(parsing: Real.responseNXDomainWithSOA)
        #expect(message.header == DNSHeader(id: 38146, flags: 0x8403, questionCount: 1, authorityCount: 1, additionalCount: 1))
        #expect(message.header.isAuthoritative && !message.header.recursionDesired && !message.header.recursionAvailable)
        #expect(message.header.rcode == .nxDomain)
        #expect(message.rcode == .nxDomain)
        #expect(message.answers.isEmpty)
        #expect(message.authorities == [
            DNSRecord(
                name: name("example.test."), type: .soa, ttl: 300,
                data: .soa(
                    mname: name("ns1.example.test."), rname: name("hostmaster.example.test."),
                    serial: 2_024_010_101, refresh: 1200, retry: 180, expire: 1_209_600, minimum: 300)),
        ])
        #expect(message.authorities.first?.description
            == "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 1200 180 1209600 300")
    }

    @Test func responseWithClientSubnetScopeAndServerCookie() throws {
        let message = try DNSMessage(parsing: Real.responseWithECSAndServerCookie)
        #expect(message.answers.count == 3)
        let edns = try #require(message.edns)
        #expect(edns.udpPayloadSize == 1232 && edns.dnssecOK && edns.version == 0)
        #expect(edns.options.count == 2)
        #expect(edns.options[0].clientSubnet
            == EDNSClientSubnet(family: 1, sourcePrefixLength: 24, scopePrefixLength: 24, address: [192, 0, 2]))
        #expect(edns.options[1].cookie == EDNSCookie(
            client: [0x59, 0x9d, 0xc3, 0x43, 0x12, 0xe7, 0x22, 0x8c],
            server: [0x01, 0, 0, 0, 0x65, 0xa1, 0xb2, 0xc3, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]))
        #expect(edns.options[1].description == "COOKIE 599dc34312e7228c 0100000065a1b2c31122334455667788")
    }

    @Test func extendedRCodeCombinesHeaderAndOPT() throws {
        let message = try DNSMessage(parsing: Real.responseBadCookie)
        #expect(message.header.rcode == .yxRRSet)
        #expect(message.edns?.extendedRCodeHigh == 1)
        #expect(message.edns?.udpPayloadSize == 4096)
        #expect(message.rcode == .badCookie)
        #expect(message.rcode.rawValue == 23)
        let summary = try DNSMessageSummary(parsing: Real.responseBadCookie)
        #expect(summary.rcode == .badCookie)
        #expect(summary.edns == EDNSSummary(udpPayloadSize: 4096, extendedRCodeHigh: 1, version: 0, dnssecOK: false))
    }

    /// Every real vector, as both summary and message: the summary's view of the first
    /// question must match the decoded one, and no body error.
    @Test(arguments: [
        Real.queryWithECSAndCookie, Real.responseWithCNAMEChain, Real.responseAAAA, Real.queryMX, Real.responseMX,
        Real.responseTXT, Real.responseSRV, Real.responseNXDomainWithSOA, Real.responseWithECSAndServerCookie, Real.responseBadCookie,
    ])
    func summaryAgreesWithMessage(bytes: [UInt8]) throws {
        let message = try DNSMessage(parsing: bytes)
        let summary = try DNSMessageSummary(parsing: bytes)
        #expect(summary.header == message.header)
        #expect(summary.bodyError == nil)
        #expect(summary.rcode == message.rcode)
        #expect(summary.edns?.udpPayloadSize == message.edns?.udpPayloadSize)
        let question = try #require(summary.question)
        let first = try #require(message.questions.first)
        #expect(question.nameOffset == DNSHeader.length)
        #expect(question.type == first.type && question.class == first.class)
        #expect(question.nameHash == first.name.hashKey)
        #expect(question.nameWireLength == first.name.wireLength)
        let decoded = try bytes.withUnsafeBytes { buffer in try question.name(in: buffer) }
        #expect(decoded == first.name)
    }
}
