import DNSTrailTestSupport
import Capture
import Foundation
import Testing
import WireCore

/// A public capture with what tshark 4.0 reports for it.
struct PublicCapture: CustomTestStringConvertible, Sendable {
    var name: String
    var frames: Int
    var capturedBytes: Int
    var firstTimestamp: Int64
    var lastTimestamp: Int64
    var linkType: Int32

    init(_ name: String, frames: Int, capturedBytes: Int, firstTimestamp: Int64, lastTimestamp: Int64, linkType: Int32) {
        self.name = name
        self.frames = frames
        self.capturedBytes = capturedBytes
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.linkType = linkType
    }

    var testDescription: String { name }
    var path: String { PublicCaptureTests.directory + "/" + name }
}

/// Every file of ../shared/captures-public, read in place (never copied).
///
/// The expected values were measured once with tshark 4.0.17 and tcpdump 4.99 on Debian 12:
///   frames:        tshark -r F -T fields -e frame.number | wc -l   (equal to capinfos -c)
///   capturedBytes: tshark -r F -T fields -e frame.cap_len | awk '{s+=$1} END {print s}'
///   first/last:    tshark -r F -T fields -e frame.time_epoch   (first and last line, as ns)
///   linkType:      the DLT of `tcpdump -r F` ("link-type EN10MB" → 1; for .gz via zcat),
///                  i.e. pcap_datalink(): LINKTYPE_RAW (101) appears as DLT_RAW (12).
@Suite("Public captures read in place", .enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
struct PublicCaptureTests {
    static var directory: String { PublicCaptures.directory.path }

    static let table: [PublicCapture] = [
        PublicCapture("chrissanders_dns_axfr.pcapng", frames: 11, capturedBytes: 1819, firstTimestamp: 1_264_976_181_260_924_000, lastTimestamp: 1_264_976_181_502_373_000, linkType: 1),  // EN10MB
        PublicCapture("chrissanders_dns_tcp.pcapng", frames: 14, capturedBytes: 2815, firstTimestamp: 1_349_705_329_579_511_000, lastTimestamp: 1_349_705_329_659_132_000, linkType: 1),  // EN10MB
        PublicCapture("chrissanders_nowebaccess1.pcapng", frames: 9, capturedBytes: 620, firstTimestamp: 1_268_911_941_445_645_000, lastTimestamp: 1_268_911_949_445_293_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_dns.pcap", frames: 133, capturedBytes: 18076, firstTimestamp: 1_476_976_981_075_993_000, lastTimestamp: 1_476_977_066_574_755_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_dnso1tcp-bighole.pcap", frames: 200, capturedBytes: 17988, firstTimestamp: 1_515_583_361_543_825_000, lastTimestamp: 1_515_583_363_511_401_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_dnso1tcp.pcap", frames: 212, capturedBytes: 19096, firstTimestamp: 1_515_583_361_543_825_000, lastTimestamp: 1_515_583_363_511_401_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_dnsotcp-many1pkt.pcap", frames: 10, capturedBytes: 823, firstTimestamp: 1_513_000_744_949_707_000, lastTimestamp: 1_513_000_744_960_251_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_dnsotcp-manyopkts.pcap", frames: 7, capturedBytes: 568, firstTimestamp: 1_515_583_361_543_825_000, lastTimestamp: 1_515_583_361_555_581_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_do1t-nosyn-1nolen.pcap", frames: 9, capturedBytes: 860, firstTimestamp: 1_515_583_361_552_406_000, lastTimestamp: 1_515_583_361_616_460_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_frags.pcap", frames: 495, capturedBytes: 20750, firstTimestamp: 1_506_965_422_731_059_000, lastTimestamp: 1_506_965_422_884_033_000, linkType: 228),  // IPV4
        PublicCapture("dnscap_ipv6-with-ethernet-padding.pcap", frames: 1, capturedBytes: 80, firstTimestamp: 1_741_621_391_446_327_000, lastTimestamp: 1_741_621_391_446_327_000, linkType: 1),  // EN10MB
        PublicCapture("dnscap_sll2.pcap", frames: 2, capturedBytes: 871, firstTimestamp: 1_741_351_492_219_938_000, lastTimestamp: 1_741_351_492_234_317_000, linkType: 276),  // LINUX_SLL2
        PublicCapture("dnscap_vlan11.pcap", frames: 133, capturedBytes: 18608, firstTimestamp: 1_476_976_981_075_993_000, lastTimestamp: 1_476_977_066_574_755_000, linkType: 1),  // EN10MB
        PublicCapture("dnsjit_ip6-tcp-padd.pcap", frames: 6, capturedBytes: 1618, firstTimestamp: 1_741_622_871_088_084_000, lastTimestamp: 1_741_622_871_089_201_000, linkType: 12),  // RAW
        PublicCapture("dnsjit_pellets.pcap", frames: 91, capturedBytes: 7697, firstTimestamp: 1_570_796_890_554_358_000, lastTimestamp: 1_570_796_893_486_351_000, linkType: 12),  // RAW
        PublicCapture("dnsjit_tcp-response-with-trailing-junk.pcap", frames: 28, capturedBytes: 9169, firstTimestamp: 1_741_270_928_900_146_000, lastTimestamp: 1_741_270_928_903_756_000, linkType: 1),  // EN10MB
        PublicCapture("gopacket_test_dns.pcap", frames: 10, capturedBytes: 817, firstTimestamp: 1_413_306_485_708_342_000, lastTimestamp: 1_413_306_485_728_687_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_KakaoTalk_chat.pcap", frames: 347, capturedBytes: 71936, firstTimestamp: 1_430_069_021_959_113_000, lastTimestamp: 1_430_069_073_299_933_000, linkType: 113),  // LINUX_SLL
        PublicCapture("ndpi_bad-dns-traffic.pcap", frames: 382, capturedBytes: 99374, firstTimestamp: 1_486_012_623_234_684_000, lastTimestamp: 1_486_012_733_669_835_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_badpackets.pcap", frames: 93, capturedBytes: 49460, firstTimestamp: 1_495_451_029_466_717_000, lastTimestamp: 1_495_451_915_752_227_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_custom_risk_mask.pcapng", frames: 2, capturedBytes: 184, firstTimestamp: 1_470_104_378_045_695_000, lastTimestamp: 1_470_104_378_045_695_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_dns-tunnel-iodine.pcap", frames: 438, capturedBytes: 70492, firstTimestamp: 1_282_356_640_051_082_000, lastTimestamp: 1_282_356_664_538_369_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_dns.pcap", frames: 5, capturedBytes: 536, firstTimestamp: 1_112_172_654_366_527_000, lastTimestamp: 1_484_673_025_976_144_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_dns_fragmented.pcap", frames: 66, capturedBytes: 23170, firstTimestamp: 1_558_968_008_021_140_000, lastTimestamp: 1_560_869_916_477_286_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_fuzz-2006-06-26-2594.pcap", frames: 691, capturedBytes: 99997, firstTimestamp: 1_120_469_540_839_312_000, lastTimestamp: 1_120_471_107_427_770_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_malformed_dns.pcap", frames: 6, capturedBytes: 5860, firstTimestamp: 1_591_551_760_342_902_000, lastTimestamp: 1_591_551_765_368_813_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_ocs.pcap", frames: 946, capturedBytes: 67385, firstTimestamp: 1_449_652_784_341_686_000, lastTimestamp: 1_449_652_846_380_718_000, linkType: 12),  // RAW
        PublicCapture("ndpi_telegram.pcap", frames: 1566, capturedBytes: 336825, firstTimestamp: 1_588_779_596_451_825_000, lastTimestamp: 1_588_779_655_298_782_000, linkType: 1),  // EN10MB
        PublicCapture("ndpi_trojan-tcp-tls.pcapng", frames: 100, capturedBytes: 39774, firstTimestamp: 1_725_367_999_181_087_334, lastTimestamp: 1_725_367_999_398_999_597, linkType: 113),  // LINUX_SLL
        PublicCapture("ndpi_wechat.pcap", frames: 1672, capturedBytes: 667310, firstTimestamp: 1_492_167_337_792_745_000, lastTimestamp: 1_492_171_291_761_740_000, linkType: 1),  // EN10MB
        PublicCapture("packetq_sample-bigendian.pcap.gz", frames: 2, capturedBytes: 228, firstTimestamp: 1_382_970_487_688_018_000, lastTimestamp: 1_382_970_487_704_674_000, linkType: 1),  // EN10MB
        PublicCapture("packetq_sample-rfc1035escape.pcap.gz", frames: 9, capturedBytes: 889, firstTimestamp: 1_631_808_569_129_546_000, lastTimestamp: 1_632_139_430_918_058_000, linkType: 1),  // EN10MB
        PublicCapture("tcpdump_LINKTYPE_PKTAP.pcap", frames: 1, capturedBytes: 182, firstTimestamp: 1_392_802_874_221_562_000, lastTimestamp: 1_392_802_874_221_562_000, linkType: 258),  // PKTAP
        PublicCapture("tcpdump_arcnet-rfc1201-arp-icmp-http.pcap", frames: 26, capturedBytes: 2281, firstTimestamp: 1_746_883_223_012_325_000, lastTimestamp: 1_746_883_228_609_468_000, linkType: 129),  // ARCNET_LINUX
        PublicCapture("tcpdump_dns-badcookie.pcap", frames: 4, capturedBytes: 411, firstTimestamp: 1_550_020_603_306_396_000, lastTimestamp: 1_550_020_603_307_171_000, linkType: 0),  // NULL
        PublicCapture("tcpdump_dns_fwdptr.pcap", frames: 1, capturedBytes: 63207, firstTimestamp: 0, lastTimestamp: 0, linkType: 1),  // EN10MB
        PublicCapture("tcpdump_dns_tcp.pcap", frames: 11, capturedBytes: 922, firstTimestamp: 1_591_780_863_720_289_000, lastTimestamp: 1_591_780_864_101_256_000, linkType: 1),  // EN10MB
        PublicCapture("tcpdump_dns_udp_8053.pcap", frames: 2, capturedBytes: 348, firstTimestamp: 1_583_163_770_464_436_000, lastTimestamp: 1_583_163_770_613_154_000, linkType: 1),  // EN10MB
        PublicCapture("tcpdump_dnssec.pcap", frames: 6, capturedBytes: 3816, firstTimestamp: 1_224_750_959_376_658_000, lastTimestamp: 1_224_750_962_953_852_000, linkType: 1),  // EN10MB
        PublicCapture("tcpdump_edns-opts.pcap", frames: 42, capturedBytes: 5353, firstTimestamp: 1_571_864_320_639_715_000, lastTimestamp: 1_571_864_341_291_167_000, linkType: 1),  // EN10MB
        PublicCapture("tcpdump_nflog.pcap", frames: 4, capturedBytes: 752, firstTimestamp: 1_378_492_319_615_994_000, lastTimestamp: 1_378_492_319_616_001_000, linkType: 239),  // NFLOG
        PublicCapture("tcpdump_rtp-seg-fault-1.pcapng", frames: 1, capturedBytes: 2241, firstTimestamp: 581_000_000_000, lastTimestamp: 581_000_000_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_Teredo.pcap", frames: 78, capturedBytes: 25025, firstTimestamp: 1_210_953_046_591_933_000, lastTimestamp: 1_210_953_076_058_333_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_dns-edns-ecs-bad.pcap", frames: 4, capturedBytes: 1716, firstTimestamp: 1_607_454_771_646_333_000, lastTimestamp: 1_607_454_773_046_333_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_dns-edns-ecs.pcap", frames: 89, capturedBytes: 36843, firstTimestamp: 1_463_559_350_492_846_000, lastTimestamp: 1_560_869_916_475_993_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_dns-invalid-names.pcap", frames: 3, capturedBytes: 174, firstTimestamp: 1_000_000_000, lastTimestamp: 3_000_000_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_dns-inverse-query.pcap", frames: 11, capturedBytes: 752, firstTimestamp: 930_613_226_067_666_000, lastTimestamp: 930_613_227_014_618_000, linkType: 10),  // FDDI
        PublicCapture("zeek_dns-two-responses.pcap", frames: 3, capturedBytes: 934, firstTimestamp: 1_363_716_396_798_072_000, lastTimestamp: 1_363_716_396_798_374_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_dns_notify2.pcap", frames: 4, capturedBytes: 724, firstTimestamp: 1_774_311_700_120_433_000, lastTimestamp: 1_774_311_700_188_988_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_dynamic-update.pcap", frames: 4, capturedBytes: 824, firstTimestamp: 1_676_940_453_027_625_000, lastTimestamp: 1_676_968_917_289_732_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_ech.pcap", frames: 4, capturedBytes: 771, firstTimestamp: 1_756_480_677_537_968_000, lastTimestamp: 1_756_480_692_791_589_000, linkType: 12),  // RAW
        PublicCapture("zeek_erspan.pcap", frames: 287, capturedBytes: 113363, firstTimestamp: 1_442_309_933_472_798_000, lastTimestamp: 1_442_310_056_333_047_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_icmp-destunreach-udp.pcap", frames: 1, capturedBytes: 194, firstTimestamp: 1_258_568_548_135_731_000, lastTimestamp: 1_258_568_548_135_731_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_ipv6-fragmented-dns.pcap", frames: 8, capturedBytes: 4620, firstTimestamp: 1_331_084_278_438_444_000, lastTimestamp: 1_331_084_298_676_270_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_long-connection.pcap", frames: 22, capturedBytes: 2052, firstTimestamp: 1_112_172_470_501_268_000, lastTimestamp: 1_112_172_737_733_384_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_mdns-no-assoc.pcap", frames: 6, capturedBytes: 582, firstTimestamp: 1_782_244_119_877_633_000, lastTimestamp: 1_782_244_119_878_724_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_mdns.pcap", frames: 24, capturedBytes: 4854, firstTimestamp: 1_738_667_758_097_949_000, lastTimestamp: 1_738_667_763_287_062_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_pcapng-multi-interface.pcapng", frames: 6, capturedBytes: 798, firstTimestamp: 1_767_663_089_500_330_493, lastTimestamp: 1_767_663_437_140_942_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_radiotap.pcap", frames: 3, capturedBytes: 780, firstTimestamp: 1_439_902_891_705_224_000, lastTimestamp: 1_439_903_050_580_632_000, linkType: 127),  // IEEE802_11_RADIO
        PublicCapture("zeek_smb_v2_only_non_zero_reserved1.pcap", frames: 220, capturedBytes: 37390, firstTimestamp: 1_735_109_546_149_596_000, lastTimestamp: 1_735_109_730_150_691_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_svcb-port-malformed.pcap", frames: 2, capturedBytes: 175, firstTimestamp: 1_776_779_957_233_186_000, lastTimestamp: 1_776_779_957_234_360_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_ticks-dns.pcap", frames: 10, capturedBytes: 730, firstTimestamp: 629_503_200_000_000_000, lastTimestamp: 629_503_209_000_000_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_tkey.pcap", frames: 12, capturedBytes: 4402, firstTimestamp: 1_676_937_749_532_563_000, lastTimestamp: 1_676_937_749_538_202_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_var-services-std-ports.pcap", frames: 263, capturedBytes: 49573, firstTimestamp: 1_308_930_691_035_044_000, lastTimestamp: 1_308_930_728_226_254_000, linkType: 1),  // EN10MB
        PublicCapture("zeek_wikipedia.pcap", frames: 136, capturedBytes: 25260, firstTimestamp: 1_300_475_167_096_535_000, lastTimestamp: 1_300_475_173_475_401_000, linkType: 1),  // EN10MB
    ]

    @Test(arguments: table)
    func readsWhatTsharkReads(_ expected: PublicCapture) throws {
        let capture = try OfflineCapture(path: expected.path)
        #expect(capture.linkType.rawValue == expected.linkType)
        var frames = 0
        var bytes = 0
        var first: Int64?
        var last: Int64?
        reading: while true {
            switch capture.next() {
            case .frame(let frame):
                frames += 1
                #expect(frame.number == frames)
                #expect(frame.bytes.count == frame.capturedLength)
                #expect(frame.linkType == capture.linkType)
                bytes += frame.capturedLength
                if first == nil { first = frame.timestamp.nanoseconds }
                last = frame.timestamp.nanoseconds
            case .end:
                break reading
            case .damaged(let reason):
                Issue.record("damaged: \(reason)")
                break reading
            case .timeout:
                Issue.record("timeout from a file")
                break reading
            }
        }
        #expect(frames == expected.frames)
        #expect(capture.framesRead == expected.frames)
        #expect(bytes == expected.capturedBytes)
        #expect(first == expected.firstTimestamp)
        #expect(last == expected.lastTimestamp)
    }

    @Test func gzipBigEndianSample() throws {
        let capture = try OfflineCapture(path: Self.directory + "/packetq_sample-bigendian.pcap.gz")
        #expect(capture.isCompressed)
        #expect(capture.fileFormat == .pcap(nanosecond: false))
        #expect(capture.snapshotLength == 1500)  // capinfos: "Packet size limit: file hdr: 1500 bytes"
        guard case .frame(let frame) = capture.next() else {
            Issue.record("no first frame")
            return
        }
        #expect(frame.timestamp == Timestamp(nanoseconds: 1_382_970_487_688_018_000))
        #expect(frame.capturedLength == 74)
        #expect(frame.originalLength == 74)
    }

    /// Two interfaces, nanosecond (if_tsresol 9) then microsecond (6): libpcap scales
    /// both to nanoseconds. tshark: frame 1 1767663089.500330493, frame 3 1767663437.111897000.
    @Test func pcapngWithTwoInterfaceResolutions() throws {
        let capture = try OfflineCapture(path: Self.directory + "/zeek_pcapng-multi-interface.pcapng")
        #expect(capture.fileFormat == .pcapng)
        #expect(capture.isNanosecondFile == false)
        #expect(capture.snapshotLength == 262_144)
        let outcome = readAll(capture)
        #expect(outcome.damage == nil)
        #expect(outcome.frames.map(\.timestamp) == [
            1_767_663_089_500_330_493, 1_767_663_089_514_291_940, 1_767_663_437_111_897_000,
            1_767_663_437_126_460_000, 1_767_663_437_128_303_000, 1_767_663_437_140_942_000,
        ])
        #expect(outcome.frames.map(\.originalLength) == [96, 214, 70, 166, 70, 182])
    }

    @Test func linuxCookedV2File() throws {
        let capture = try OfflineCapture(path: Self.directory + "/dnscap_sll2.pcap")
        #expect(capture.linkType == .linuxSLL2)
        guard case .frame(let frame) = capture.next() else {
            Issue.record("no first frame")
            return
        }
        // tshark: frame 1 at 1741351492.219938000, 91 bytes, SLL2 protocol 0x0800.
        #expect(frame.timestamp.nanoseconds == 1_741_351_492_219_938_000)
        #expect(frame.capturedLength == 91)
        #expect(Array(frame.bytes.prefix(2)) == [0x08, 0x00])
    }

    /// The same frames through a pipe (read once, first record peeked) as from the file,
    /// and for pcapng the same interface blocks (read ahead, then replayed to libpcap).
    @Test(arguments: table)
    func readsTheSameThroughAPipe(_ expected: PublicCapture) throws {
        let file = try OfflineCapture(path: expected.path)
        let fileFrames = readAll(file)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: expected.path)))
        let pipe = try FilledPipe(bytes)
        defer { pipe.close() }
        let stream = try OfflineCapture(path: pipe.path)
        #expect(!stream.isReopenable)
        #expect(stream.peekFirstTimestamp()?.nanoseconds == expected.firstTimestamp)
        #expect(stream.pcapngHead == file.pcapngHead)
        let streamFrames = readAll(stream)
        #expect(streamFrames.frames == fileFrames.frames)
        #expect(streamFrames.damage == fileFrames.damage)
    }

    /// if_name of each Interface Description Block, as `capinfos` lists them.
    @Test func pcapngInterfaceNamesAsCapinfosShowsThem() throws {
        let multi = try OfflineCapture(path: Self.directory + "/zeek_pcapng-multi-interface.pcapng")
        #expect(multi.pcapngHead?.interfaces.map(\.name) == ["eth0", "\\Device\\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}"])
        #expect(multi.pcapngHead?.interfaces.map(\.linkType) == [.ethernet, .ethernet])
        let any = try OfflineCapture(path: Self.directory + "/ndpi_trojan-tcp-tls.pcapng")
        #expect(any.pcapngHead?.interfaces.map(\.name) == ["any"])
        #expect(any.interfaceNames.isEmpty)  // "any" names no cooked interface index.
        let unnamed = try OfflineCapture(path: Self.directory + "/chrissanders_dns_tcp.pcapng")
        #expect(unnamed.pcapngHead?.interfaces.map(\.name) == [nil])
        let classic = try OfflineCapture(path: Self.directory + "/dnscap_sll2.pcap")
        #expect(classic.pcapngHead == nil)
    }

    /// ndpi_dns.pcap is pcapng despite its name: detected by magic, not the name.
    @Test func misnamedPcapngIsDetectedByMagic() throws {
        let capture = try OfflineCapture(path: Self.directory + "/ndpi_dns.pcap")
        #expect(capture.fileFormat == .pcapng)
    }
}
