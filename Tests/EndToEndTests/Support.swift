import DNSTrailTestSupport
import Attribution
import Diagnosis
import Foundation
import Testing
import Capture
import Pipeline
import Reports
import Transactions

/// Locations the end-to-end tests read from.
enum Paths {
    /// The package root, found from this file's path (Tests/EndToEndTests/Support.swift).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let captures = root.appendingPathComponent("captures")
    static let golden = root.appendingPathComponent("Tests/EndToEndTests/Golden")
    /// Public captures beside the project (read in place, never copied into it).
    static var publicCaptures: URL { PublicCaptures.directory }

    static func files(in directory: URL, matching suffixes: [String]) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in suffixes.contains { name.hasSuffix($0) } }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    static var bundledCaptures: [URL] { files(in: captures, matching: [".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"]) }
    static var publicCaptureFiles: [URL] {
        files(in: publicCaptures, matching: [".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"])
    }
}

/// An offline analysis run in-process, with every transaction kept for inspection.
struct AnalysedCapture {
    var transactions: [Transaction] = []
    var report: Report

    init(
        _ url: URL, options: AnalysisOptions = AnalysisOptions(), directory: ClusterDirectory = ClusterDirectory(),
        interfaceNames: [Int32: String] = [:], threads: Int = 1
    ) throws {
        var transactions: [Transaction] = []
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let run = try analyzeFiles([CapturePath(url.path)], options: options, interfaceNames: interfaceNames,
                                   threads: threads) { transaction in
            transactions.append(transaction)
            figures.add(transaction)
            diagnoser.add(transaction)
        }
        self.transactions = transactions
        report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser, directory: directory)
    }
}

/// Runs a program and returns its standard output; throws with its standard error on failure.
func runProgram(_ path: String, _ arguments: [String]) throws -> String {
    let result = try runProcess(path, arguments)
    guard result.status == 0 else {
        throw ProgramFailure(program: path, status: result.status, message: result.errors)
    }
    return result.output
}

struct ProgramFailure: Error, CustomStringConvertible {
    var program: String
    var status: Int32
    var message: String
    var description: String { "\(program) exited \(status): \(message)" }
}

/// Finds a program on PATH.
func which(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
