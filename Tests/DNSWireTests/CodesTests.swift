import Testing
@testable import DNSWire

@Suite struct CodesTests {
    @Test func knownCodesPrintTheirMnemonic() {
        #expect([DNSType.a, .ns, .cname, .soa, .ptr, .hinfo, .mx, .txt, .aaaa, .srv, .naptr, .opt, .ds, .rrsig,
                  .nsec, .dnskey, .nsec3, .svcb, .https, .tkey, .tsig, .ixfr, .axfr, .any, .caa].map(\.description)
            == ["A", "NS", "CNAME", "SOA", "PTR", "HINFO", "MX", "TXT", "AAAA", "SRV", "NAPTR", "OPT", "DS", "RRSIG",
                "NSEC", "DNSKEY", "NSEC3", "SVCB", "HTTPS", "TKEY", "TSIG", "IXFR", "AXFR", "ANY", "CAA"])
        #expect([DNSClass.in, .ch, .hs, DNSClass.none, .any].map(\.description) == ["IN", "CH", "HS", "NONE", "ANY"])
        #expect([DNSOpcode.query, .iquery, .status, .notify, .update, .dso].map(\.description)
            == ["QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE", "DSO"])
        #expect([DNSRCode.noError, .formErr, .servFail, .nxDomain, .notImp, .refused, .yxDomain, .yxRRSet, .nxRRSet,
                  .notAuth, .notZone, .dsoTypeNI, .badVers, .badKey, .badTime, .badMode, .badName, .badAlg,
                  .badTrunc, .badCookie].map(\.description)
            == ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
                "NOTAUTH", "NOTZONE", "DSOTYPENI", "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG",
                "BADTRUNC", "BADCOOKIE"])
        #expect(DNSRCode.badCookie.rawValue == 23 && DNSRCode.badVers.rawValue == 16 && DNSRCode.dsoTypeNI.rawValue == 11)
    }

    /// RFC 3597 §5 generic forms for values without a mnemonic.
    @Test func unknownCodesPrintAsNumbers() {
        #expect(DNSType(65280).description == "TYPE65280")
        #expect(DNSClass(42).description == "CLASS42")
        #expect(DNSOpcode(9).description == "OPCODE9")
        #expect(DNSRCode(42).description == "RCODE42")
        #expect(DNSType(rawValue: 1) == .a)
    }

    @Test func headerFlagsDecodeBitByBit() {
        let all = DNSHeader(id: 1, flags: 0xFFFF)
        #expect(all.isResponse && all.isAuthoritative && all.isTruncated && all.recursionDesired)
        #expect(all.recursionAvailable && all.authenticData && all.checkingDisabled)
        #expect(all.opcode == DNSOpcode(15) && all.rcode == DNSRCode(15))
        let none = DNSHeader(id: 1, flags: 0)
        #expect(!none.isResponse && !none.isAuthoritative && !none.isTruncated && !none.recursionDesired)
        #expect(!none.recursionAvailable && !none.authenticData && !none.checkingDisabled)
        #expect(none.opcode == .query && none.rcode == .noError)
        // NOTIFY (4), TC, SERVFAIL (2): 0 0100 0 1 0 0 0 0 0 0 0010
        let notify = DNSHeader(id: 1, flags: 0x2202)
        #expect(notify.opcode == .notify && notify.isTruncated && notify.rcode == .servFail && !notify.isResponse)
        // CD alone, then AD alone.
        #expect(DNSHeader(id: 1, flags: 0x0010).checkingDisabled && !DNSHeader(id: 1, flags: 0x0010).authenticData)
        #expect(DNSHeader(id: 1, flags: 0x0020).authenticData && !DNSHeader(id: 1, flags: 0x0020).checkingDisabled)
    }

    @Test func headerParsedFromBytes() throws {
        let header = try hex("abcd 8183 0001 0002 0003 0004").withUnsafeBytes { try DNSHeader(parsing: $0) }
        #expect(header == DNSHeader(id: 0xabcd, flags: 0x8183, questionCount: 1, answerCount: 2,
                                    authorityCount: 3, additionalCount: 4))
        #expect(header.rcode == .nxDomain && header.recursionAvailable && header.recursionDesired)
    }

    /// RFC 5952 §4: lowercase, no leading zeros, longest run of 2+ zero groups (first on a
    /// tie) as `::`, a single zero group written out; §5: IPv4-mapped in mixed notation.
    @Test(arguments: [
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
        ([0, 0, 0, 0, 0, 0, 0, 0], "::"),
        ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], "fe80::"),
        ([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], "2001:db8:0:1:1:1:1:1"),
        ([0x2001, 0, 0, 1, 0, 0, 0, 1], "2001:0:0:1::1"),
        ([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
        ([0x2001, 0xDB8, 0xABCD, 0x12, 0, 0, 0xFFFF, 0x0A], "2001:db8:abcd:12::ffff:a"),
        ([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], "::ffff:192.0.2.1"),
    ] as [([UInt16], String)])
    func ipv6CanonicalText(groups: [UInt16], text: String) throws {
        let address = try #require(DNSRecordData.IPv6Address(groups: groups))
        #expect(address.description == text)
        #expect(address.groups == groups)
    }

    @Test func ipv4Text() {
        #expect(DNSRecordData.IPv4Address(192, 0, 2, 1).description == "192.0.2.1")
        #expect(DNSRecordData.IPv4Address(rawValue: 0xFFFF_FFFF).description == "255.255.255.255")
        #expect(DNSRecordData.IPv4Address(10, 0, 0, 255).bytes == [10, 0, 0, 255])
    }

    @Test func errorDescriptionsAreOneLine() {
        let errors = [
            DNSParseError(.tooManyPointers, offset: 300, section: .additional, recordNumber: 3),
            DNSParseError(.nameTooLong(length: 256), offset: 204, section: .question, recordNumber: 1),
            DNSParseError(.optNotInAdditional, offset: 29, section: .authority, recordNumber: 1),
            DNSParseError(.invalidEDNSOption(code: 10, reason: .cookieLength(7)), offset: 40, section: .additional, recordNumber: 1),
        ]
        #expect(errors.map(\.description) == [
            "additional record 3 at offset 300: more than 127 compression pointers in one name",
            "question 1 at offset 204: name reaches 256 octets, over 255",
            "authority record 1 at offset 29: OPT record outside the additional section",
            "additional record 1 at offset 40: EDNS option 10: cookie option is 7 bytes, not 8 or 16…40",
        ])
    }
}
