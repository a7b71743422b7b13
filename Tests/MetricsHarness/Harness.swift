// dnstrail-metrics-harness: a live capture that feeds DNSMetrics the way `dnstrail live
// --metrics` will (closed transactions, queries at their deadline, a status tick a second,
// findings), serves /metrics, and prints the JSON report dnstrail prints, so
// scripts/metrics-test can compare what Prometheus scraped with the report before the live
// command has the flag. Not installed; a test tool.
//
//   dnstrail-metrics-harness -i IF --metrics ADDR:PORT [--duration S] [--timeout S] [--pods FILE] [--format json]
//
// Stops after --duration seconds or on SIGINT/SIGTERM; prints "metrics: listening on PORT"
// on standard error once /metrics is served.
#if canImport(Glibc)
import Glibc
#endif
import Attribution
import Capture
import DNSMetrics
import Diagnosis
import Pipeline
import Reports
import Synchronization
import Transactions
import WireCore
import Foundation

/// SIGINT or SIGTERM arrived.
let stopRequested = Atomic<Bool>(false)

@main
enum Harness {
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("dnstrail-metrics-harness: \(message)\n".utf8))
        exit(2)
    }

    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
    }

    static func main() {

        var interface: String?
        var metricsAddress: MetricsAddress?
        var duration = 3600.0
        var options = AnalysisOptions()
        var podFiles: [String] = []
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            guard let value = arguments.popFirst() else { fail("\(argument) needs a value") }
            switch argument {
            case "-i": interface = value
            case "--metrics":
                guard let address = MetricsAddress(value) else { fail("--metrics '\(value)' is not ADDR:PORT") }
                metricsAddress = address
            case "--duration":
                guard let seconds = Double(value) else { fail("--duration '\(value)' is not a number") }
                duration = seconds
            case "--timeout":
                guard let seconds = Double(value) else { fail("--timeout '\(value)' is not a number") }
                options.timeout = .seconds(seconds)
            case "--pods": podFiles.append(value)
            case "--format":
                guard value == "json" else { fail("--format: only json (the report it prints)") }
            default: fail("unknown option \(argument)")
            }
        }
        guard let interface, let metricsAddress else { fail("usage: -i IF --metrics ADDR:PORT [--duration S] [--timeout S] [--pods FILE]") }

        let directory: ClusterDirectory
        do {
            directory = podFiles.isEmpty ? ClusterDirectory() : try ClusterDirectory.load(paths: podFiles)
        } catch {
            fail("\(error)")
        }
        let metrics = LiveMetrics(version: ToolInfo.version, directory: directory)
        let server: MetricsServer
        do {
            server = try MetricsServer.start(address: metricsAddress, metrics: metrics)
        } catch {
            fail(error.description)
        }
        FileHandle.standardError.write(Data("metrics: listening on \(server.port)\n".utf8))

        let capture: LiveCapture
        do {
            capture = try LiveCapture(interface: interface, dnsPorts: options.ports)
        } catch {
            fail("\(error)")
        }
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }

        var analyzer = Analyzer(options: options)
        analyzer.onExpiry = { metrics.record(expired: $0) }
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        func emit(_ transaction: Transaction) {
            figures.add(transaction)
            diagnoser.add(transaction)
            metrics.record(closed: transaction)
        }
        func status() {
            let kernel = capture.statistics()
            metrics.update(status: MetricsStatus(
                packets: analyzer.packets.frames, kernelDropped: kernel?.dropped ?? 0,
                interfaceDropped: kernel?.interfaceDropped ?? 0, malformed: analyzer.packets.malformedDNS,
                inFlight: analyzer.engine.pendingCount))
            let context = DiagnosisContext(directory: directory, timeout: options.timeout, captureEnd: analyzer.packets.lastTime)
            metrics.update(findings: diagnoser.findings(context: context))
        }

        let start = now()
        var lastStatus = start
        var frameNumber = 0
        capturing: while !stopRequested.load(ordering: .relaxed), (now() - start).seconds < duration {
            switch capture.next() {
            case .frame(let frame):
                frameNumber += 1
                analyzer.process(frame: frameNumber, time: frame.timestamp, bytes: frame.bytes,
                                 originalLength: frame.originalLength, linkType: frame.linkType, emit: emit)
            case .timeout:
                analyzer.advanceIdle(to: now(), emit: emit)
            case .end, .damaged:
                break capturing
            }
            if (now() - lastStatus).seconds >= 1 {
                lastStatus = now()
                status()
            }
        }
        analyzer.finish(emit: emit)
        status()
        server.stop()

        var run = RunResult()
        run.packets = analyzer.packets
        run.engine = analyzer.engine.statistics
        // `run.live` stays unset (its initialiser is the pipeline's own): the report reads as offline.
        let report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser, directory: directory)
        print(report.json().serialized(pretty: true))
    }
}
