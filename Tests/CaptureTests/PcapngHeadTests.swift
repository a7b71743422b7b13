import Capture
import Foundation
import Testing
import WireCore

/// pcapng interface names and the `dnstrail-interfaces:` map, read from the first blocks
/// of files generated in the test, plain, compressed and streamed.
@Suite("pcapng interface blocks")
struct PcapngHeadTests {
    @Test func sectionCommentMapNamesTheCookedInterfaceIndexes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = StreamInputTests.pcapngWithNames().bytes
        let plain = try OfflineCapture(path: directory.write(bytes, to: "any.pcapng"))
        #expect(plain.fileFormat == .pcapng)
        #expect(plain.linkType == .linuxSLL2)
        #expect(plain.interfaceNames == [2: "eth0", 6: "veth1abc"])
        let head = try #require(plain.pcapngHead)
        #expect(head.interfaces == [PcapngInterfaceDescription(linkType: .linuxSLL2, name: "any", comment: nil)])
        #expect(head.sectionComment == "recorded by a test\ndnstrail-interfaces: 2=eth0 6=veth1abc")
        let expected = readAll(plain).frames
        #expect(expected.count == 200)
        let gzip = try OfflineCapture(path: directory.write(gzipped(bytes, in: directory), to: "any.pcapng.gz"))
        #expect(gzip.isCompressed)
        #expect(gzip.interfaceNames == [2: "eth0", 6: "veth1abc"])
        #expect(readAll(gzip).frames == expected)
        // A stream is read ahead block by block and replayed to libpcap: nothing is lost.
        let pipe = try FilledPipe(bytes)
        defer { pipe.close() }
        let stream = try OfflineCapture(path: pipe.path)
        #expect(stream.pcapngHead == plain.pcapngHead)
        #expect(readAll(stream).frames == expected)
    }

    @Test func interfaceCommentMapAndNamesOfSeveralInterfaces() throws {
        var file = PcapngFileBuilder()
        file.appendInterface(linkType: 276, name: "any", comment: "dnstrail-interfaces: 3=veth-pod-a 2=br0")
        file.appendInterface(linkType: 276, name: "eth1", comment: "dnstrail-interfaces: 7=cni0 bad 0=zero 8=a/b 9=\u{1B}x")
        file.appendPacket(microseconds: 1, frame: [1, 2, 3, 4])
        let head = PcapngHead.parse(file.bytes)
        #expect(head.interfaces.map(\.name) == ["any", "eth1"])
        #expect(head.interfaceNames == [2: "br0", 3: "veth-pod-a", 7: "cni0"])
    }

    /// Only a bounded head is read: a section comment beyond the limit leaves no names,
    /// and every frame is still read.
    @Test func oversizedSectionHeaderGivesNoNamesAndLosesNoFrame() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let filler = String(repeating: "x", count: 60_000)
        var file = PcapngFileBuilder(sectionComment: filler + "\ndnstrail-interfaces: 2=eth0")
        file.appendInterface(linkType: 276, name: "any", comment: filler)
        file.appendPacket(microseconds: 5, frame: [9, 9, 9])
        let plain = try OfflineCapture(path: directory.write(file.bytes, to: "big.pcapng"))
        #expect(plain.interfaceNames == [2: "eth0"])  // The SHB fits: 60 KB.
        #expect(plain.pcapngHead?.interfaces.isEmpty == true)  // The IDB would pass 64 KB.
        #expect(readAll(plain).frames.count == 1)
        let pipe = try FilledPipe(file.bytes)
        defer { pipe.close() }
        let stream = try OfflineCapture(path: pipe.path)
        #expect(stream.pcapngHead == plain.pcapngHead)
        #expect(readAll(stream).frames.count == 1)
        // The map in an interface comment that would end past 64 KB is not read, from a stream either.
        var huge = PcapngFileBuilder(sectionComment: String(repeating: "y", count: 40_000))
        huge.appendInterface(linkType: 276, name: "any",
                             comment: String(repeating: "z", count: 30_000) + "\ndnstrail-interfaces: 2=eth0")
        huge.appendPacket(microseconds: 5, frame: [9, 9, 9])
        let hugePipe = try FilledPipe(huge.bytes)
        defer { hugePipe.close() }
        let hugeStream = try OfflineCapture(path: hugePipe.path)
        #expect(hugeStream.interfaceNames.isEmpty)
        #expect(readAll(hugeStream).frames.count == 1)
    }

    /// Drip-fed: every prefix of the head parses without trapping and never invents names.
    @Test func everyPrefixOfTheHeadParsesCleanly() {
        let bytes = StreamInputTests.pcapngWithNames().bytes
        for length in 0...min(bytes.count, 400) {
            let head = PcapngHead.parse(Array(bytes[..<length]))
            #expect(head.interfaceNames.isEmpty || head.interfaceNames == [2: "eth0", 6: "veth1abc"])
        }
    }

    @Test func commentWrittenForAMapReadsBackAsTheMap() {
        let names: [Int32: String] = [6: "veth1abc", 2: "eth0", 11: "cni0"]
        let comment = InterfaceNameMap.comment(for: names)
        #expect(comment == "dnstrail-interfaces: 2=eth0 6=veth1abc 11=cni0")
        #expect(InterfaceNameMap.parseComment("evidence of x\n" + comment) == names)
    }
}
