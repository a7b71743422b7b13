import Foundation
import Testing
import WireCore
@testable import Evidence

/// The interface index → name map a `live --export` bundle records for Linux cooked v2
/// captures (`dnstrail-interfaces: 2=eth0 6=veth1abc`), written by the pcapng writer.
@Suite("interface names comment")
struct InterfaceNamesCommentTests {
    static let names: [Int32: String] = [6: "veth1abc", 2: "eth0", 9: "odd name=x%y", 11: "tab\there"]
    static let line = "dnstrail-interfaces: 2=eth0 6=veth1abc 9=odd%20name%3Dx%25y 11=tab%09here"

    @Test func formatSortsByIndexAndEscapesSpacesEqualsAndPercent() {
        #expect(InterfaceNamesComment.format(Self.names) == Self.line)
        #expect(InterfaceNamesComment.format([:]) == nil)
    }

    @Test func parseRoundTripsAndRefusesMalformedLines() {
        #expect(InterfaceNamesComment.parse(Self.line) == Self.names)
        #expect(InterfaceNamesComment.parse("dnstrail evidence: no findings") == nil)
        #expect(InterfaceNamesComment.parse("dnstrail-interfaces: 2=eth0 x=eth1") == nil)
        #expect(InterfaceNamesComment.parse("dnstrail-interfaces: 2=bad%2") == nil)
        #expect(InterfaceNamesComment.parse("dnstrail-interfaces: 2") == nil)
    }

    /// The writer puts the map in a second Section Header Block comment, after the
    /// evidence comment; capinfos and an independent block reader both see it.
    @Test func pcapngWriterRecordsTheMapInTheSectionHeader() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("evidence.pcapng")
        let writer = try PcapngWriter(path: url.path, toolVersion: "0.1.0", sectionComment: "dnstrail evidence: no findings",
                                      interfaceNames: Self.names)
        _ = try writer.addInterface(linkType: .linuxSLL2, snapshotLength: 262_144, name: nil)
        try writer.close()

        let blocks = try readPcapngBlocks(url)
        let section = try #require(blocks.first)
        #expect(section.type == 0x0A0D_0D0A)
        let comments = section.options(from: 16).filter { $0.code == 1 }.map { String(decoding: $0.value, as: UTF8.self) }
        #expect(comments == ["dnstrail evidence: no findings", Self.line])

        let information = try run("capinfos", ["-M", url.path])
        #expect(information.status == 0, "capinfos: \(information.errors)")
        #expect(information.output.contains("Capture comment:     " + Self.line))
    }

    @Test func noMapNoComment() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("evidence.pcapng")
        try PcapngWriter(path: url.path, toolVersion: "0.1.0", sectionComment: nil).close()
        let section = try #require(try readPcapngBlocks(url).first)
        #expect(section.options(from: 16).filter { $0.code == 1 }.isEmpty)
    }
}
