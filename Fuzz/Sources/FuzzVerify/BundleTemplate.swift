#if canImport(Glibc)
import Glibc
#endif
import Attribution
import Diagnosis
import Evidence
import Foundation
import FuzzSupport
import Pipeline
import Reports
import Transactions

/// The scratch tree of one fuzzing process, made once:
///
///     <root>/work/inputs/capture.pcap   the bundle's input capture (recreated per input)
///     <root>/work/bundle/               the bundle under test (recreated per input)
///     <root>/outside/                   files a hostile bundle may point at: a secret, a
///                                       valid manifest, a FIFO; watched with inotify
///
/// The bundle is made the way `dnstrail export` makes one (Sources/dnstrail/main.swift,
/// `EvidenceBundleWriter`): the analysis streams transactions.ndjson, then evidence.pcapng
/// (the findings' frames, commented), report.json, report.html, and last manifest.json.
struct BundleTemplate {
    let root: String
    var work: String { root + "/work" }
    var bundle: String { work + "/bundle" }
    var inputDirectory: String { work + "/inputs" }
    var input: String { inputDirectory + "/capture.pcap" }
    var outside: String { root + "/outside" }
    /// The capture's bytes, the bundle's files (name, bytes) and its manifest as written.
    let captureBytes: [UInt8]
    let files: [(name: String, bytes: [UInt8])]
    let manifestBytes: [UInt8]
    let manifest: [String: Any]

    nonisolated(unsafe) static let shared: BundleTemplate = {
        do {
            return try BundleTemplate()
        } catch {
            fuzzExpect(false, "cannot make the template bundle: \(error)")
            exit(1)
        }
    }()

    /// The bundled capture the template is made from (override with FUZZ_VERIFY_CAPTURE).
    static var capturePath: String {
        if let path = getenv("FUZZ_VERIFY_CAPTURE") { return String(cString: path) }
        // This file is Fuzz/Sources/FuzzVerify/BundleTemplate.swift in the repository.
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repository.appendingPathComponent("captures/udp-reject.pcap").path
    }

    private init() throws {
        root = makeScratchDirectory(prefix: "fuzz-verify")
        let manager = FileManager.default
        captureBytes = Array(try Data(contentsOf: URL(fileURLWithPath: BundleTemplate.capturePath)))
        try manager.createDirectory(atPath: root + "/work/bundle", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/work/inputs", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/outside", withIntermediateDirectories: true)
        let input = root + "/work/inputs/capture.pcap"
        let bundle = root + "/work/bundle"
        try Data(captureBytes).write(to: URL(fileURLWithPath: input))

        // The analysis and the bundle, as `export` writes them (the same writer).
        let writer = try EvidenceBundleWriter(path: bundle)
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let encoder = NDJSONEncoder(directory: ClusterDirectory())
        let options = AnalysisOptions()
        let run = try analyzeFiles([input], options: options) { transaction in
            figures.add(transaction)
            diagnoser.add(transaction)
            encoder.withLine(for: transaction) { line in writer.add(transaction, line: line) }
        }
        let report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser,
                            directory: ClusterDirectory())
        try writer.finish(report: report, inputs: [input], commandLine: ["dnstrail", "export", input, "--out", bundle])

        // Freeze the template, check that it verifies, and lay out the outside.
        var files: [(name: String, bytes: [UInt8])] = []
        for name in try manager.contentsOfDirectory(atPath: bundle).sorted() where name != EvidenceBundle.manifestFileName {
            files.append((name, Array(try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + name)))))
        }
        self.files = files
        manifestBytes = Array(try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + EvidenceBundle.manifestFileName)))
        manifest = try JSONSerialization.jsonObject(with: Data(manifestBytes)) as? [String: Any] ?? [:]
        let verified = try EvidenceBundle.verify(directory: URL(fileURLWithPath: bundle), checkInputs: true)
        fuzzExpect(verified.isValid && verified.filesChecked == files.count && verified.inputsChecked == [input],
                   "the template bundle does not verify: \(verified.problemLines)")
        fuzzExpect(!report.findings.isEmpty, "the template capture has no finding: pick another")
        try Data("outside the bundle: never to be read\n".utf8).write(to: URL(fileURLWithPath: root + "/outside/secret"))
        try Data(manifestBytes).write(to: URL(fileURLWithPath: root + "/outside/manifest.json"))
        try Data(captureBytes).write(to: URL(fileURLWithPath: root + "/outside/capture.pcap"))
        fuzzExpect(mkfifo(root + "/outside/fifo", 0o600) == 0, "mkfifo failed")
        try manager.removeItem(atPath: root + "/work")
    }
}
