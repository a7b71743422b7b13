import Foundation
import Testing
@testable import Evidence

/// A bundle directory of four small files and an input capture in a directory of its own
/// (so tests can alter it), with its manifest written.
private struct BundleFixture {
    let bundle: TemporaryDirectory
    let inputs: TemporaryDirectory
    let input: URL
    let manifest: EvidenceManifest

    static let files: [(name: String, text: String)] = [
        ("transactions.ndjson", "{\"id\":\"0x7781\",\"answered\":false}\n"),
        ("report.txt", "dnstrail 0.1.0 — 4 unanswered queries from 10.244.1.11\n"),
        ("report.json", "{\"unanswered\":4}\n"),
        ("capture.pcapng", "not really a capture, but bytes all the same\n"),
    ]
    static let created = Date(timeIntervalSince1970: 1_795_652_654)

    init(_ label: String = #function) throws {
        bundle = try TemporaryDirectory(label)
        inputs = try TemporaryDirectory(label + "inputs")
        for file in Self.files { try bundle.write(file.name, file.text) }
        input = inputs.file("egress-deny.pcap")
        try FileManager.default.copyItem(at: Paths.captures.appendingPathComponent("egress-deny.pcap"), to: input)
        manifest = try EvidenceBundle.writeManifest(
            directory: bundle.url, inputs: [input],
            commandLine: ["dnstrail", "evidence", input.path, "--out", bundle.url.path],
            timeRange: ("2026-11-26T00:24:14.943186000Z", "2026-11-26T00:24:20.001002000Z"),
            toolVersion: "0.1.0", created: Self.created, host: "node-1")
    }

    func remove() {
        bundle.remove()
        inputs.remove()
    }

    func verify(checkInputs: Bool = true) throws -> VerificationReport {
        try EvidenceBundle.verify(directory: bundle.url, checkInputs: checkInputs)
    }

    /// Rewrites manifest.json after `change`.
    func editManifest(_ change: (inout EvidenceManifest) -> Void) throws {
        var edited = manifest
        change(&edited)
        try Data(try EvidenceBundle.encode(edited)).write(to: bundle.file("manifest.json"))
    }
}

/// The thrown `EvidenceError`, or nil (recording an issue) if something else happened.
private func evidenceError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> EvidenceError? {
    do {
        try body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
    } catch let error as EvidenceError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite("evidence bundle manifest")
struct BundleTests {
    @Test func manifestListsEveryFileSortedWithSha256sumDigests() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let names = BundleFixture.files.map(\.name).sorted()
        #expect(fixture.manifest.files.map(\.name) == names)

        let sums = try run("sha256sum", names.map { fixture.bundle.file($0).path } + [fixture.input.path])
        #expect(sums.status == 0)
        let expected = sums.output.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(fixture.manifest.files.map(\.sha256) + fixture.manifest.inputs.map(\.sha256) == expected)
        #expect(fixture.manifest.files.map(\.bytes) == names.map { name in
            BundleFixture.files.first { $0.name == name }?.text.utf8.count ?? -1
        })
        #expect(fixture.manifest.inputs.map(\.path) == [fixture.input.path])
        #expect(fixture.manifest.inputs.map(\.bytes) == [2916])
        #expect(try EvidenceBundle.readManifest(directory: fixture.bundle.url) == fixture.manifest)
    }

    /// The file as written, byte for byte: snake_case keys, sorted, pretty, one final newline.
    /// (The file digests are `sha256sum` of the fixture's texts.)
    @Test func manifestJSONLayout() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let text = try String(contentsOf: fixture.bundle.file("manifest.json"), encoding: .utf8)
        let inputDigest = fixture.manifest.inputs.first?.sha256 ?? "?"
        let directory = fixture.bundle.url.path
        let input = fixture.input.path
        #expect(text == """
            {
              "capture_time_range" : {
                "first" : "2026-11-26T00:24:14.943186000Z",
                "last" : "2026-11-26T00:24:20.001002000Z"
              },
              "command_line" : [
                "dnstrail",
                "evidence",
                "\(input)",
                "--out",
                "\(directory)"
              ],
              "created" : "2026-11-26T00:24:14Z",
              "files" : [
                {
                  "bytes" : 45,
                  "name" : "capture.pcapng",
                  "sha256" : "e322cd8753e4a9865d5d0d05b40516b84b38d5a0263792056a050f776cd3a411"
                },
                {
                  "bytes" : 17,
                  "name" : "report.json",
                  "sha256" : "d523623613d7da030bd7117ba7693084050f5e6cfbe3850081bee0367df5079f"
                },
                {
                  "bytes" : 57,
                  "name" : "report.txt",
                  "sha256" : "5e35e44cafe6aae293b2394f9a195b45f2554dd00dfbdfbb1358f7575723a85d"
                },
                {
                  "bytes" : 33,
                  "name" : "transactions.ndjson",
                  "sha256" : "2b35b969dc3c805c653271cbb0d206977e1bdc4746666311c13796fb348f2016"
                }
              ],
              "host" : "node-1",
              "inputs" : [
                {
                  "bytes" : 2916,
                  "path" : "\(input)",
                  "sha256" : "\(inputDigest)"
                }
              ],
              "manifest_version" : 1,
              "tool" : {
                "name" : "dnstrail",
                "version" : "0.1.0"
              }
            }

            """)
    }

    @Test func untouchedBundleVerifies() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let report = try fixture.verify()
        #expect(report.isValid)
        #expect(report.problemLines == [])
        #expect(report.filesChecked == 4)
        #expect(report.inputsChecked == [fixture.input.path])
        #expect(report.inputsNotFound == [])
    }

    @Test func flippedByteIsSha256Mismatch() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let url = fixture.bundle.file("report.json")
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[3] ^= 0x01
        try Data(bytes).write(to: url)

        let report = try fixture.verify()
        #expect(!report.isValid)
        let expected = fixture.manifest.files.first { $0.name == "report.json" }?.sha256 ?? "?"
        let actual = try sha256(fileAt: url).hex
        #expect(report.problems == [.sha256Mismatch(name: "report.json", expected: expected, actual: actual)])
        #expect(report.problemLines == ["'report.json': sha256 mismatch (manifest '\(expected)', file \(actual))"])
    }

    @Test func truncatedFileIsSizeMismatch() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let handle = try FileHandle(forWritingTo: fixture.bundle.file("capture.pcapng"))
        try handle.truncate(atOffset: 20)
        try handle.close()
        let report = try fixture.verify()
        #expect(report.problems == [.sizeMismatch(name: "capture.pcapng", expected: 45, actual: 20)])
        #expect(report.problemLines == ["'capture.pcapng': size mismatch (manifest 45 bytes, file 20 bytes)"])
    }

    @Test func deletedFileIsMissing() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(at: fixture.bundle.file("transactions.ndjson"))
        let report = try fixture.verify()
        #expect(report.problems == [.missing(name: "transactions.ndjson")])
        #expect(report.problemLines == ["'transactions.ndjson': missing (listed in the manifest, absent from the bundle)"])
        #expect(report.filesChecked == 3)
    }

    @Test func addedFileIsUnexpected() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.bundle.write("notes.txt", "added later\n")
        try FileManager.default.createDirectory(at: fixture.bundle.file("extra"), withIntermediateDirectories: false)
        let report = try fixture.verify()
        #expect(report.problems == [.unexpected(name: "extra"), .unexpected(name: "notes.txt")])
        #expect(report.problemLines.first == "'extra': unexpected (in the bundle, not listed in the manifest)")
    }

    /// Several problems at once come in a fixed order: manifest order, then unexpected files.
    @Test func problemsComeInManifestOrderThenUnexpected() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.bundle.write("zz-extra", "x")
        try fixture.bundle.write("report.txt", "rewritten\n")
        try FileManager.default.removeItem(at: fixture.bundle.file("capture.pcapng"))
        let report = try fixture.verify()
        #expect(report.problems == [
            .missing(name: "capture.pcapng"),
            .sizeMismatch(name: "report.txt", expected: 57, actual: 10),
            .unexpected(name: "zz-extra"),
        ])
    }

    @Test func changedInputIsReportedAndMissingInputIsNot() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        var bytes = [UInt8](try Data(contentsOf: fixture.input))
        bytes[100] ^= 0xFF
        try Data(bytes).write(to: fixture.input)
        let report = try fixture.verify()
        let recorded = fixture.manifest.inputs.first?.sha256 ?? "?"
        let actual = try sha256(fileAt: fixture.input).hex
        #expect(report.problems == [.inputSHA256Mismatch(path: fixture.input.path, expected: recorded, actual: actual)])
        #expect(report.problemLines.first?.hasPrefix("input '\(fixture.input.path)' changed: sha256 mismatch") == true)
        #expect(try fixture.verify(checkInputs: false).isValid)

        try Data(bytes.prefix(24)).write(to: fixture.input)
        #expect(try fixture.verify().problems
            == [.inputSizeMismatch(path: fixture.input.path, expected: 2916, actual: 24)])

        try FileManager.default.removeItem(at: fixture.input)
        let moved = try fixture.verify()
        #expect(moved.isValid, "a bundle copied elsewhere loses its inputs; that is not tampering")
        #expect(moved.inputsNotFound == [fixture.input.path])
        #expect(moved.inputsChecked == [])
    }

    @Test func invalidJSONIsAClearError() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.bundle.write("manifest.json", "{\"files\": [")
        let error = evidenceError { _ = try fixture.verify() }
        guard case let .manifestInvalid(path, reason) = error else {
            Issue.record("expected manifestInvalid, got \(String(describing: error))")
            return
        }
        #expect(path == fixture.bundle.file("manifest.json").path)
        #expect(reason == "not valid JSON (Unexpected end of file during JSON parse)")
        let message = error?.description ?? ""
        #expect(message.hasPrefix("manifest '\(path)' is not a valid dnstrail manifest: not valid JSON"))
        #expect(!message.contains("\n"))
    }

    @Test func wellFormedJSONOfTheWrongShapeNamesTheField() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let path = fixture.bundle.file("manifest.json").path
        let valid = try String(contentsOfFile: path, encoding: .utf8)

        try fixture.bundle.write("manifest.json", valid.replacingOccurrences(of: "\"files\"", with: "\"filez\""))
        #expect(evidenceError { _ = try fixture.verify() } == .manifestInvalid(path: path, reason: "missing key 'files'"))

        try fixture.bundle.write("manifest.json", valid.replacingOccurrences(of: "\"bytes\" : 45", with: "\"bytes\" : \"45\""))
        #expect(evidenceError { _ = try fixture.verify() }
            == .manifestInvalid(path: path, reason: "expected Int at files[0].bytes"))

        try fixture.bundle.write("manifest.json", "[]")
        guard case .manifestInvalid = evidenceError({ _ = try fixture.verify() }) else {
            Issue.record("a JSON array is not a manifest")
            return
        }
    }

    @Test func absentManifestIsUnreadable() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(at: fixture.bundle.file("manifest.json"))
        let path = fixture.bundle.file("manifest.json").path
        #expect(evidenceError { _ = try fixture.verify() }
            == .manifestUnreadable(path: path, reason: "No such file or directory"))
    }

    @Test func unknownManifestVersionIsRefused() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.editManifest { $0.manifestVersion = 2 }
        #expect(evidenceError { _ = try fixture.verify() } == .manifestVersionUnsupported(
            path: fixture.bundle.file("manifest.json").path, version: 2, supported: 1))
    }

    /// Names come from a file anyone can edit: "../x" must not make verify read outside.
    @Test func namesOutsideTheBundleAreRejectedUnread() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let outside = fixture.inputs.url.lastPathComponent + "/egress-deny.pcap"
        try fixture.editManifest { manifest in
            manifest.files.append(.init(name: "../" + outside, sha256: "00", bytes: 2916))
            manifest.files.append(.init(name: "/etc/hostname", sha256: "00", bytes: 1))
            manifest.files.append(.init(name: "manifest.json", sha256: "00", bytes: 1))
            manifest.files.append(manifest.files[0])
        }
        let report = try fixture.verify()
        #expect(report.problems == [
            .invalidName(name: "../" + outside),
            .invalidName(name: "/etc/hostname"),
            .invalidName(name: "manifest.json"),
            .duplicateEntry(name: "capture.pcapng"),
        ])
        #expect(report.filesChecked == 4)
    }

    /// One problem, one line, whatever the name holds.
    @Test func problemLinesStayOnOneLine() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.bundle.write("evil\nname's", "x")
        let report = try fixture.verify()
        #expect(report.problemLines == [#"'evil\nname\'s': unexpected (in the bundle, not listed in the manifest)"#])
    }

    @Test func listedNameThatBecameADirectoryIsNotARegularFile() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(at: fixture.bundle.file("report.txt"))
        try FileManager.default.createDirectory(at: fixture.bundle.file("report.txt"), withIntermediateDirectories: false)
        #expect(try fixture.verify().problems == [.notRegularFile(name: "report.txt", kind: "directory")])
    }

    /// A manifest covers a flat directory of regular files; anything else is refused, not skipped.
    @Test func writeManifestRefusesEntriesItCannotCover() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(at: fixture.bundle.file("pods"), withIntermediateDirectories: false)
        let rewrite = { _ = try EvidenceBundle.writeManifest(
            directory: fixture.bundle.url, inputs: [], commandLine: [], timeRange: nil, toolVersion: "0.1.0") }
        #expect(evidenceError(rewrite) == .unsupportedBundleEntry(name: "pods", kind: "directory"))
        try FileManager.default.removeItem(at: fixture.bundle.file("pods"))
        try FileManager.default.createSymbolicLink(at: fixture.bundle.file("link.pcap"), withDestinationURL: fixture.input)
        #expect(evidenceError(rewrite) == .unsupportedBundleEntry(name: "link.pcap", kind: "symbolic link"))
    }

    /// Rewriting the manifest skips the old one, leaves no partial file, and defaults
    /// `created` to the wall clock and `host` to this machine.
    @Test func rewritingTheManifestIsStable() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let again = try EvidenceBundle.writeManifest(
            directory: fixture.bundle.url, inputs: [fixture.input], commandLine: [], timeRange: nil, toolVersion: "0.1.0")
        #expect(again.files == fixture.manifest.files)
        #expect(again.inputs == fixture.manifest.inputs)
        #expect(again.captureTimeRange == nil)
        #expect(!again.host.isEmpty && again.host != "unknown")
        #expect(again.created.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(again.created)")
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture.bundle.url.path).sorted()
        #expect(names == (BundleFixture.files.map(\.name) + ["manifest.json"]).sorted())
        #expect(try fixture.verify().isValid)
        let text = try String(contentsOf: fixture.bundle.file("manifest.json"), encoding: .utf8)
        #expect(!text.contains("capture_time_range"))
    }

    @Test func missingInputFailsWriteManifest() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let gone = fixture.inputs.file("gone.pcap")
        #expect(evidenceError {
            _ = try EvidenceBundle.writeManifest(
                directory: fixture.bundle.url, inputs: [gone], commandLine: [], timeRange: nil, toolVersion: "0.1.0")
        } == .cannotOpen(path: gone.path, reason: "No such file or directory"))
        #expect(try fixture.verify().isValid, "the earlier manifest is left as it was")
    }
}

/// Issue 14.5: a bundle is evidence received from someone else. `verify` must not hang on
/// a FIFO or device, follow a symbolic link out of the bundle, read arbitrary paths the
/// manifest names, or read without bound.
@Suite("verify on hostile bundles")
struct HostileBundleTests {
    @Test func manifestThatIsASymbolicLinkIsRefused() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let outside = fixture.inputs.file("manifest-copy.json")
        try FileManager.default.copyItem(at: fixture.bundle.file("manifest.json"), to: outside)
        try FileManager.default.removeItem(at: fixture.bundle.file("manifest.json"))
        try FileManager.default.createSymbolicLink(at: fixture.bundle.file("manifest.json"), withDestinationURL: outside)
        #expect(evidenceError { _ = try fixture.verify() } == .manifestUnreadable(
            path: fixture.bundle.file("manifest.json").path,
            reason: "it is a symbolic link; a bundle holds only regular files"))
    }

    @Test func listedFileThatIsASymbolicLinkOutOfTheBundleIsNotFollowed() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        // Same bytes outside the bundle: following the link would make it "match".
        let outside = fixture.inputs.file("report.json")
        try FileManager.default.copyItem(at: fixture.bundle.file("report.json"), to: outside)
        try FileManager.default.removeItem(at: fixture.bundle.file("report.json"))
        try FileManager.default.createSymbolicLink(at: fixture.bundle.file("report.json"), withDestinationURL: outside)
        #expect(try fixture.verify(checkInputs: false).problems
            == [.notRegularFile(name: "report.json", kind: "symbolic link")])
    }

    @Test func fifoInTheBundleIsRefusedWithoutBlocking() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(at: fixture.bundle.file("report.json"))
        #expect(mkfifo(fixture.bundle.file("report.json").path, 0o644) == 0)
        #expect(try fixture.verify(checkInputs: false).problems
            == [.notRegularFile(name: "report.json", kind: "special file")])
    }

    @Test func inputsAreNotReadWithoutCheckInputs() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.editManifest { $0.inputs = [.init(path: "/dev/zero", sha256: "00", bytes: 1 << 40)] }
        let report = try EvidenceBundle.verify(directory: fixture.bundle.url)
        #expect(report.isValid)
        #expect(report.inputsChecked == [] && report.inputsNotFound == [])
    }

    @Test func deviceInputIsRefusedUnread() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.editManifest { $0.inputs = [.init(path: "/dev/zero", sha256: "00", bytes: 1 << 40)] }
        #expect(try fixture.verify(checkInputs: true).problems
            == [.inputNotRegularFile(path: "/dev/zero", kind: "special file")])
    }

    @Test func fifoInputIsRefusedWithoutBlocking() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let fifo = fixture.inputs.file("capture.fifo")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        try fixture.editManifest { $0.inputs = [.init(path: fifo.path, sha256: "00", bytes: 2916)] }
        #expect(try fixture.verify(checkInputs: true).problems
            == [.inputNotRegularFile(path: fifo.path, kind: "special file")])
    }

    /// An input that grew is reported from its size, never read to its end.
    @Test func inputOfAnotherSizeIsNotHashed() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let handle = try FileHandle(forWritingTo: fixture.input)
        try handle.truncate(atOffset: 1 << 40)   // sparse: a terabyte that would take hours to hash
        try handle.close()
        #expect(try fixture.verify(checkInputs: true).problems
            == [.inputSizeMismatch(path: fixture.input.path, expected: 2916, actual: 1 << 40)])
    }

    @Test func dotDotAndAbsoluteNamesAreNeverOpened() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.editManifest { manifest in
            manifest.files.append(.init(name: "../../../../dev/zero", sha256: "00", bytes: 1))
            manifest.files.append(.init(name: "/dev/zero", sha256: "00", bytes: 1))
        }
        #expect(try fixture.verify(checkInputs: false).problems
            == [.invalidName(name: "../../../../dev/zero"), .invalidName(name: "/dev/zero")])
    }

    @Test func hugeManifestIsRefusedUnread() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        let handle = try FileHandle(forWritingTo: fixture.bundle.file("manifest.json"))
        try handle.truncate(atOffset: 1 << 32)
        try handle.close()
        #expect(evidenceError { _ = try fixture.verify() } == .manifestUnreadable(
            path: fixture.bundle.file("manifest.json").path,
            reason: "\(1 << 32) bytes, more than the \(EvidenceBundle.maximumManifestBytes)-byte limit"))
    }

    @Test func manifestListingTooManyFilesIsRefused() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        try fixture.editManifest { manifest in
            manifest.files = (0...EvidenceBundle.maximumFiles).map { .init(name: "f\($0)", sha256: "00", bytes: 0) }
        }
        #expect(evidenceError { _ = try fixture.verify() } == .manifestInvalid(
            path: fixture.bundle.file("manifest.json").path,
            reason: "lists \(EvidenceBundle.maximumFiles + 1) files; at most \(EvidenceBundle.maximumFiles) are read"))
    }

    @Test func bundleDirectoryWithTooManyEntriesIsRefused() throws {
        let fixture = try BundleFixture()
        defer { fixture.remove() }
        for index in 0..<EvidenceBundle.maximumFiles { try fixture.bundle.write("extra-\(index)", "") }
        #expect(evidenceError { _ = try fixture.verify() } == .cannotListDirectory(
            path: fixture.bundle.url.path, reason: "more than \(EvidenceBundle.maximumFiles) entries"))
    }
}

/// Issue 15.4: the bundle directory exists only once a run has something to put in it,
/// and a failed run takes back exactly what it created.
@Suite("bundle directory")
struct BundleDirectoryTests {
    @Test func nothingIsCreatedUntilTheFirstFile() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let path = scratch.file("a/b/bundle").path
        let directory = try BundleDirectory(path: path)
        #expect(!FileManager.default.fileExists(atPath: scratch.file("a").path))
        let file = try directory.file("report.json")
        #expect(file == path + "/report.json")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func discardRemovesTheFilesAndTheDirectoriesItCreated() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let directory = try BundleDirectory(path: scratch.file("a/b/bundle").path + "/")
        try Data("x".utf8).write(to: URL(fileURLWithPath: try directory.file("transactions.ndjson")))
        directory.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path) == [])
    }

    @Test func discardKeepsAPreexistingEmptyDirectoryAndItsParent() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(at: scratch.file("empty"), withIntermediateDirectories: false)
        let directory = try BundleDirectory(path: scratch.file("empty").path)
        try Data("x".utf8).write(to: URL(fileURLWithPath: try directory.file("report.json")))
        directory.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("empty").path) == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path) == ["empty"])
    }

    @Test func discardNeverRemovesWhatItDidNotWrite() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let directory = try BundleDirectory(path: scratch.file("new").path)
        try Data("x".utf8).write(to: URL(fileURLWithPath: try directory.file("report.json")))
        try scratch.write("new/someone-elses.txt", "keep me")
        directory.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("new").path) == ["someone-elses.txt"])
    }

    @Test func nonEmptyDirectoryOrFileIsRefused() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try scratch.write("file", "x")
        #expect(throws: EvidenceError.bundleDirectoryNotEmpty(path: scratch.file("file").path)) {
            _ = try BundleDirectory(path: scratch.file("file").path)
        }
        #expect(throws: EvidenceError.bundleDirectoryNotEmpty(path: scratch.url.path)) {
            _ = try BundleDirectory(path: scratch.url.path)
        }
    }
}
