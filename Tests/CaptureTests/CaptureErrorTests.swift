import Capture
import Foundation
import Testing

/// Files that are not captures: the right `CaptureError`, a one-line description.
@Suite("Capture file errors")
struct CaptureErrorTests {
    @Test func wrongMagicNamesTheBytesFound() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(Array("hello, these are notes\n".utf8), to: "notes.txt")
        let error = try #require(openingError(path))
        #expect(error == .notACapture(path: path, reason: "not a pcap or pcapng file (unknown magic 0x68656c6c)"))
        #expect(error.description == "cannot read capture '\(path)': not a pcap or pcapng file (unknown magic 0x68656c6c)")
    }

    @Test func gzipOfSomethingElseSaysSo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(try gzipped(Array("hello, these are notes\n".utf8), in: directory), to: "notes.gz")
        let error = try #require(openingError(path))
        #expect(error == .notACapture(path: path, reason: "gzip-compressed, but not a pcap or pcapng file (unknown magic 0x68656c6c)"))
    }

    @Test func damagedGzipHeaderIsNotACapture() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // gzip magic, then a compression method that does not exist (RFC 1952 §2.3.1: CM 8 only).
        let path = try directory.write([0x1f, 0x8b, 0x07, 0x00] + [UInt8](repeating: 0x41, count: 40), to: "bad.gz")
        let error = try #require(openingError(path))
        guard case .notACapture(_, let reason) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(reason.hasPrefix("gzip-compressed, but cannot decompress it: "), "\(reason)")
        #expect(!error.description.contains("\n"))
    }

    @Test func emptyFileIsNotACapture() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write([], to: "empty.pcap")
        #expect(openingError(path) == .notACapture(path: path, reason: "not a pcap or pcapng file (the file is empty)"))
    }

    @Test func threeByteFileIsNotACapture() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write([0xd4, 0xc3, 0xb2], to: "short.pcap")
        let error = try #require(openingError(path))
        #expect(error == .notACapture(path: path, reason:
            "not a pcap or pcapng file (the file has only 3 bytes, too short for a capture header)"))
    }

    @Test func headerCutShortIsNotACapture() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(Array(PcapFileBuilder().bytes[..<10]), to: "header.pcap")
        let error = try #require(openingError(path))
        guard case .notACapture(_, let reason) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(reason.hasPrefix("unreadable capture header: "), "\(reason)")
        #expect(reason.contains("truncated"), "\(reason)")
    }

    @Test func missingFileCannotBeOpened() throws {
        let path = "/nonexistent-dnstrail-directory/missing.pcap"
        let error = try #require(openingError(path))
        #expect(error == .cannotOpen(path: path, reason: "No such file or directory"))
        #expect(error.description == "cannot read capture '\(path)': No such file or directory")
    }

    @Test func directoryCannotBeOpened() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(openingError(directory.path) == .cannotOpen(path: directory.path, reason: "Is a directory"))
    }

    @Test func descriptionsAreOneLine() {
        let errors: [CaptureError] = [
            .cannotOpen(path: "a\nb.pcap", reason: "No such file or directory"),
            .notACapture(path: "x.pcap", reason: "line one\nline two"),
            .permissionDenied(interface: "eth0", detail: "socket: Operation not permitted"),
            .noSuchInterface(interface: "eth9", detail: ""),
            .invalidFilter(expression: "port port", detail: "syntax error\n"),
            .liveCaptureFailed(interface: "eth0", detail: "the interface is down"),
            .permissionDeniedDespiteCapability(interface: "eth0", detail: "socket: Operation not permitted"),
            .interfaceWentAway(interface: "veth0", frames: 12, detail: "The interface disappeared\n"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"), "\(error.description)")
        }
        #expect(CaptureError.noSuchInterface(interface: "eth9", detail: "").description == "no such network interface 'eth9'")
        #expect(CaptureError.permissionDenied(interface: "eth0", detail: "socket: Operation not permitted").description
            == "live capture on 'eth0' needs CAP_NET_RAW, which this process lacks: run it as root or grant it with"
            + " `setcap cap_net_raw=ep` (socket: Operation not permitted)")
    }
}
