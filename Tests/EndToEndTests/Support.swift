import Attribution
import Diagnosis
import Foundation
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
    static let publicCaptures: URL = {
        if let override = ProcessInfo.processInfo.environment["DNSTRAIL_PUBLIC_CAPTURES"] {
            return URL(fileURLWithPath: override)
        }
        return root.deletingLastPathComponent().appendingPathComponent("shared/captures-public")
    }()

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

    init(_ url: URL, options: AnalysisOptions = AnalysisOptions(), directory: ClusterDirectory = ClusterDirectory()) throws {
        var transactions: [Transaction] = []
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let run = try analyzeFiles([url.path], options: options) { transaction in
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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProgramFailure(program: path, status: process.terminationStatus,
                             message: String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
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
