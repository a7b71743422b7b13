import Attribution
import Diagnosis
import PacketDecoding
import Prometheus
import Synchronization
import Transactions

/// The Prometheus metrics of a live run, fed by the capture loop and read by the metrics
/// server from another thread. Every label value comes from a capped set (`MetricLabels`).
///
/// When a query counts (the report's figures, as they stand at each moment):
/// - `record(expired:)`: a query whose deadline passed unanswered counts at once in
///   `dnstrail_dns_queries_total` and `dnstrail_dns_unanswered_total` (or `…_rejected_total`
///   when an ICMP error came back), when the client gives up, not 30 s later when the
///   engine stops waiting for a late answer.
/// - `record(closed:)`: every other transaction counts when it closes: answered, in flight
///   at the end, unanswered at capture end or evicted. A query already counted at its
///   deadline is not counted again; if it is answered late after all, its answer counts in
///   `dnstrail_dns_responses_total{rcode}` and `dnstrail_dns_late_responses_total`, not in the
///   duration histogram (the client had given up; the report keeps late answers out of its
///   percentiles too). So at any time `sum(dnstrail_dns_queries_total)` is the report's
///   queries (answered + late + unanswered + rejected + in flight) of the transactions
///   decided so far, and `sum(dnstrail_dns_unanswered_total) - sum(dnstrail_dns_late_responses_total)`
///   its `unanswered`. If `record(expired:)` is never called, every query counts when it closes.
/// - Multicast queries (mDNS, LLMNR) and TCP connections that failed before any query are
///   not queries, as in the report's server list; the latter count in
///   `dnstrail_dns_tcp_connection_failures_total`.
public final class LiveMetrics: Sendable {
    /// Servers (address and port) with a `server` label of their own; the rest are `other`.
    public static let maximumServers = 16
    /// Sources (pods) with `namespace` and `pod` labels of their own in
    /// `dnstrail_dns_unanswered_by_source_total`; the rest are `pod="other"`.
    public static let maximumSources = 32
    /// Malformed-message reasons with a label of their own; the rest are `other`.
    public static let maximumMalformedReasons = 16
    /// CoreDNS's request duration buckets (plugin.TimeBuckets): 0.25 ms doubling to 8.192 s.
    public static let durationBuckets: [Double] = (0..<16).map { 0.00025 * Double(1 << $0) }

    /// The registry the server exposes; its text is `exposition()`.
    public let registry = PrometheusCollectorRegistry()
    private let state: Mutex<State>
    /// The registry's series by family name and label values: the registry checks names,
    /// labels and help text on every lookup, several microseconds; this is one hash.
    private let counters = Mutex<[[String]: Counter]>([:])
    private let histograms = Mutex<[[String]: ValueHistogram]>([:])

    /// `version` goes into `dnstrail_build_info`; `directory` names the sources of unanswered queries.
    public init(version: String, directory: ClusterDirectory = ClusterDirectory()) {
        state = Mutex(State(directory: directory))
        registry.makeGauge(descriptor: LiveMetrics.descriptor("dnstrail_build_info", "Always 1; the version of dnstrail as a label."),
                           labels: [("version", version)]).set(to: 1)
        // Every kind is exported from the start, so "no finding" reads 0, not absent.
        for kind in FindingKind.allCases { findingGauge(kind).set(to: 0) }
        inFlightGauge.set(to: 0)
        for family in [Family.packets, .kernelDropped, .interfaceDropped, .pipelineDropped] {
            counter(family, []).increment(by: Int64(0))
        }
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4).
    public func exposition() -> String { registry.emitToString() }

    /// Replaces the cluster directory (a `--pods` file re-read): sources that already have
    /// labels keep them.
    public func update(directory: ClusterDirectory) {
        state.withLock { $0.directory = directory }
    }

    /// Counts a query the moment its deadline passed with no answer (`Analyzer.onExpiry`).
    public func record(expired transaction: Transaction) {
        guard transaction.outcome == .unanswered || transaction.outcome == .rejected,
              !transaction.server.ip.isMulticast else { return }
        state.withLock { state in
            state.awaitingClose += 1
            countFailure(transaction, state: &state)
        }
    }

    /// Counts a closed transaction (see the type's documentation for what counts when).
    public func record(closed transaction: Transaction) {
        let outcome = transaction.outcome
        guard outcome != .multicast else { return }
        state.withLock { state in
            let server = state.serverLabel(transaction.server)
            let proto = transaction.transport.description
            if outcome == .handshakeFailed || outcome == .reset {
                counter(.tcpConnectionFailures, [server, outcome.rawValue]).increment()
                return
            }
            // Unanswered, rejected and late ones with expiry `timeout` all passed their
            // deadline, where `record(expired:)` counted them if it is wired.
            let passedDeadline = transaction.expiry == .timeout || outcome == .late
            if passedDeadline && state.awaitingClose > 0 {
                state.awaitingClose -= 1
            } else if outcome == .unanswered || outcome == .rejected {
                countFailure(transaction, state: &state)
            } else {
                counter(.queries, [server, proto, MetricLabels.qtype(transaction.question?.type)]).increment()
            }
            guard outcome == .answered || outcome == .late, let response = transaction.response else { return }
            counter(.responses, [server, proto, MetricLabels.rcode(response.rcode)]).increment()
            if outcome == .late {
                counter(.lateResponses, [server, proto]).increment()
                return
            }
            if let latency = transaction.latency {
                durationHistogram(server: server, proto: proto).record(Double(latency.nanoseconds) / 1e9)
            }
            if transaction.isTruncated {
                counter(.tcpFallbacks, [server, transaction.fallback?.outcome.rawValue ?? "none"]).increment()
            }
        }
    }

    /// Advances the capture counters to the run's cumulative figures and sets the in-flight
    /// gauge. A figure lower than the last one (a counter of the capture restarted) adds nothing.
    public func update(status: MetricsStatus) {
        state.withLock { state in
            let last = state.lastStatus
            advance(.packets, [], from: UInt64(max(0, last.packets)), to: UInt64(max(0, status.packets)))
            advance(.kernelDropped, [], from: last.kernelDropped, to: status.kernelDropped)
            advance(.interfaceDropped, [], from: last.interfaceDropped, to: status.interfaceDropped)
            advance(.pipelineDropped, [], from: last.pipelineDropped, to: status.pipelineDropped)
            for (reason, count) in status.malformed.sorted(by: { $0.key < $1.key }) {
                let before = last.malformed[reason] ?? 0
                guard count > before else { continue }
                let label = state.malformedReasons.label(for: reason) { $0 }
                counter(.malformed, [label]).increment(by: Int64(count - before))
            }
            state.lastStatus = status
        }
        inFlightGauge.set(to: Double(max(0, status.inFlight)))
    }

    /// Sets `dnstrail_findings{kind}` to the number of current findings of each kind.
    public func update(findings: [Finding]) {
        var counts: [FindingKind: Int] = [:]
        for finding in findings { counts[finding.kind, default: 0] += 1 }
        for kind in FindingKind.allCases { findingGauge(kind).set(to: Double(counts[kind] ?? 0)) }
    }

    // MARK: - Families

    /// A metric name with its help text and label names: the registry requires one help
    /// text per name and the same label order for the same series.
    struct Family: Sendable {
        var name: String
        var help: String
        var labels: [String]

        static let queries = Family(
            name: "dnstrail_dns_queries_total",
            help: "DNS queries seen, counted when answered, at their deadline when unanswered, or when the capture ends.",
            labels: ["server", "proto", "qtype"])
        static let responses = Family(
            name: "dnstrail_dns_responses_total",
            help: "Answers to seen queries, late ones included, by response code.",
            labels: ["server", "proto", "rcode"])
        static let unanswered = Family(
            name: "dnstrail_dns_unanswered_total",
            help: "Queries with no answer by their deadline (last attempt plus --timeout).",
            labels: ["server", "proto"])
        static let rejected = Family(
            name: "dnstrail_dns_rejected_total",
            help: "Queries answered by an ICMP error (unreachable, prohibited) instead of DNS.",
            labels: ["server", "proto"])
        static let lateResponses = Family(
            name: "dnstrail_dns_late_responses_total",
            help: "Answers that came after their query's deadline (already counted unanswered).",
            labels: ["server", "proto"])
        static let unansweredBySource = Family(
            name: "dnstrail_dns_unanswered_by_source_total",
            help: "Unanswered queries by the pod that sent them (first 32 pods; pod=\"other\" beyond, pod=\"unknown\" unnamed).",
            labels: ["namespace", "pod"])
        static let tcpFallbacks = Family(
            name: "dnstrail_dns_tcp_fallbacks_total",
            help: "Truncated UDP answers, by what became of the TCP retry (none: the client did not retry).",
            labels: ["server", "outcome"])
        static let tcpConnectionFailures = Family(
            name: "dnstrail_dns_tcp_connection_failures_total",
            help: "TCP connections to a DNS server that failed before any query (handshake_failed, reset).",
            labels: ["server", "outcome"])
        static let malformed = Family(
            name: "dnstrail_dns_malformed_total",
            help: "Payloads on a DNS port whose header or question did not parse, by reason.",
            labels: ["reason"])
        static let packets = Family(
            name: "dnstrail_capture_packets_total", help: "Frames captured and analysed.", labels: [])
        static let kernelDropped = Family(
            name: "dnstrail_capture_kernel_dropped_total",
            help: "Packets the kernel dropped because dnstrail read too slowly (pcap_stats ps_drop).", labels: [])
        static let interfaceDropped = Family(
            name: "dnstrail_capture_interface_dropped_total",
            help: "Packets the interface or its driver dropped (pcap_stats ps_ifdrop).", labels: [])
        static let pipelineDropped = Family(
            name: "dnstrail_capture_pipeline_dropped_total",
            help: "DNS messages dnstrail dropped because its pairing threads fell behind (live --threads above 1).",
            labels: [])
    }

    private func counter(_ family: Family, _ values: [String]) -> Counter {
        let key = [family.name] + values
        if let cached = counters.withLock({ $0[key] }) { return cached }
        let descriptor = LiveMetrics.descriptor(family.name, family.help)
        let made = family.labels.isEmpty
            ? registry.makeCounter(descriptor: descriptor)
            : registry.makeCounter(descriptor: descriptor, labels: Array(zip(family.labels, values)))
        counters.withLock { $0[key] = made }
        return made
    }

    /// A whole metric name with its help text (the registry joins non-empty name parts).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func advance(_ family: Family, _ values: [String], from last: UInt64, to now: UInt64) {
        guard now > last else { return }
        counter(family, values).increment(by: Int64(clamping: now - last))
    }

    private var inFlightGauge: Gauge {
        registry.makeGauge(descriptor: LiveMetrics.descriptor(
            "dnstrail_dns_inflight_queries", "Queries sent and not yet answered nor past their deadline."))
    }

    private func findingGauge(_ kind: FindingKind) -> Gauge {
        registry.makeGauge(descriptor: LiveMetrics.descriptor("dnstrail_findings", "Findings of each kind in the run so far."),
                           labels: [("kind", kind.rawValue)])
    }

    private func durationHistogram(server: String, proto: String) -> ValueHistogram {
        if let cached = histograms.withLock({ $0[[server, proto]] }) { return cached }
        let made = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "dnstrail", subsystem: "dns", metricName: "request_duration", unitName: "seconds",
                helpText: "From a query's first attempt to its answer (the TCP answer after a truncated one), answered in time."),
            labels: [("server", server), ("proto", proto)], buckets: LiveMetrics.durationBuckets)
        histograms.withLock { $0[[server, proto]] = made }
        return made
    }

    /// Counts an unanswered or rejected query: queries, its failure counter and, for an
    /// unanswered one, its source.
    private func countFailure(_ transaction: Transaction, state: inout State) {
        let server = state.serverLabel(transaction.server)
        let proto = transaction.transport.description
        counter(.queries, [server, proto, MetricLabels.qtype(transaction.question?.type)]).increment()
        guard transaction.outcome == .unanswered else {
            counter(.rejected, [server, proto]).increment()
            return
        }
        counter(.unanswered, [server, proto]).increment()
        let source = state.sourceLabels(transaction.client.ip)
        counter(.unansweredBySource, [source.namespace, source.pod]).increment()
    }

    /// What the metrics remember between calls, behind the mutex.
    struct State: Sendable {
        var directory: ClusterDirectory
        var servers = CappedLabels<Endpoint>(maximum: LiveMetrics.maximumServers)
        /// Pods by "namespace/name".
        var sources = CappedLabels<String>(maximum: LiveMetrics.maximumSources)
        var malformedReasons = CappedLabels<String>(maximum: LiveMetrics.maximumMalformedReasons)
        /// Queries counted at their deadline whose close is still to come.
        var awaitingClose = 0
        var lastStatus = MetricsStatus(packets: 0, inFlight: 0)

        mutating func serverLabel(_ server: Endpoint) -> String {
            servers.label(for: server, make: MetricLabels.server)
        }

        /// The `namespace` and `pod` labels of a source: its pod's while fewer than
        /// `maximumSources` pods have labels, else `other`; `unknown` when no pod has its address.
        mutating func sourceLabels(_ ip: IPAddress) -> (namespace: String, pod: String) {
            guard let pod = directory.pod(at: ip) else { return ("", MetricLabels.unknownSource) }
            let label = sources.label(for: pod.namespace + "/" + pod.name) { $0 }
            return label == MetricLabels.other ? ("", MetricLabels.other) : (pod.namespace, pod.name)
        }
    }
}
