import Attribution
import DNSWire
import Diagnosis
import Histogram
import PacketDecoding
import Pipeline
import Transactions
import WireCore

/// The tool's identity as reports print it.
public enum ToolInfo {
    public static let name = "dnstrail"
    public static let version = "0.1.0"
}

/// A finished run with its aggregates and findings: what the human and JSON reports render.
public struct Report {
    public var run: RunResult
    public var figures: ReportBuilder
    public var options: AnalysisOptions
    public var findings: [Finding]
    /// Who is who (`--pods`): names the addresses every section shows.
    public var directory: ClusterDirectory
    /// Entries per list in the human and HTML reports (`--top`; 0 = all). JSON lists everything.
    public var top = Report.defaultTop

    public init(run: RunResult, figures: ReportBuilder, options: AnalysisOptions, findings: [Finding] = [],
                directory: ClusterDirectory = ClusterDirectory()) {
        self.run = run
        self.figures = figures
        self.options = options
        self.findings = findings
        self.directory = directory
    }

    /// Runs the diagnosis over what the run saw (the transactions went through `diagnoser`).
    public init(run: RunResult, figures: ReportBuilder, options: AnalysisOptions, diagnoser: Diagnoser,
                directory: ClusterDirectory) {
        var context = DiagnosisContext(directory: directory, timeout: options.timeout, captureEnd: run.packets.lastTime)
        context.kernelDropped = run.live?.kernel?.dropped ?? 0
        context.interfaceDropped = run.live?.kernel?.interfaceDropped ?? 0
        context.pipelineDroppedMessages = run.live?.pipeline?.drops.messages ?? 0
        context.damagedInputs = run.inputs.compactMap { input in input.damage.map { "\(input.path): \($0)" } }
        context.cutDNSMessages = (run.packets.malformedDNS["cut-by-snaplen"] ?? 0) + (run.packets.malformedDNSBody["cut-by-snaplen"] ?? 0)
        context.damagedTCPDirections = run.reassembly.damagedTCPDirections
        context.incompleteFragmentSets = run.reassembly.incompleteFragmentSets
        context.interfaceNames = run.interfaceNames
        self.init(run: run, figures: figures, options: options, findings: diagnoser.findings(context: context),
                  directory: directory)
    }

    /// Which numbering the frames cited in findings and tables use.
    public static let frameNumbering = "Frame numbers are those of the input capture(s), as Wireshark numbers them "
        + "(1-based; several input files are numbered on as one capture, each from its first_frame), not those of an "
        + "evidence bundle's evidence.pcapng"

    /// Things the reader must know before trusting "unanswered": lost or cut packets.
    public var warnings: [String] {
        var warnings: [String] = []
        for input in run.inputs where input.damage != nil {
            warnings.append("\(input.path): \(input.damage ?? "") — frames before the damage were analysed")
        }
        if let kernel = run.live?.kernel, kernel.dropped > 0 || kernel.interfaceDropped > 0 {
            warnings.append("the kernel dropped \(counted(Int(kernel.dropped), "packet", "packets")) "
                            + "(interface: \(kernel.interfaceDropped)): "
                            + "some unanswered queries may have been answered")
        }
        if let drops = run.live?.pipeline?.drops, !drops.isEmpty {
            warnings.append(Report.pipelineDropText(drops) + ": some queries were never seen and "
                            + "some unanswered queries may have been answered")
        }
        if run.packets.cutFrames > 0 {
            warnings.append(counted(run.packets.cutFrames, "frame was", "frames were") + " cut by the capture's snaplen")
        }
        let timeout = JSONValue.format(options.timeout.seconds)
        if figures.inFlight > 0 {
            warnings.append("\(figures.inFlight) \(Report.plural(figures.inFlight, "query was", "queries were")) in flight "
                            + "when the capture ended (sent once, less than the \(timeout) s timeout before its end): "
                            + "not counted as unanswered")
        }
        if figures.unansweredAtCaptureEnd > 0 {
            warnings.append("\(figures.unansweredAtCaptureEnd) unanswered "
                            + "\(Report.plural(figures.unansweredAtCaptureEnd, "query was", "queries were")) still waiting "
                            + "when the capture ended, already re-sent or waiting longer than the \(timeout) s timeout")
        }
        if run.engine.evicted > 0 {
            warnings.append(counted(run.engine.evicted, "outstanding query was", "outstanding queries were")
                            + " evicted (table full)")
        }
        if run.engine.expiredReleasedEarly > 0 {
            warnings.append(counted(run.engine.expiredReleasedEarly, "query was", "queries were")
                            + " reported unanswered before the \(JSONValue.format(TransactionEngine.lateWindow.seconds)) s "
                            + "window for late answers ended (table of expired queries full): a late answer to them "
                            + "counts as unsolicited")
        }
        warnings += figures.limitWarnings
        warnings += vantageWarnings
        return warnings
    }

    public func json() -> JSONValue {
        var capture: [(String, JSONValue)]
        if let live = run.live {
            var kernel: JSONValue = .null
            if let stats = live.kernel {
                kernel = .object([("received", .int(Int(stats.received))), ("dropped", .int(Int(stats.dropped))),
                                  ("interface_dropped", .int(Int(stats.interfaceDropped)))])
            }
            capture = [("mode", .string("live")), ("interface", .string(live.interface)),
                       ("filter", .string(live.filter)), ("link_type", .string(live.linkType)),
                       ("kernel", kernel), ("frames_before_filter", .int(live.framesBeforeFilter)),
                       ("stopped_by", .string(live.stoppedBy))]
            if let pipeline = live.pipeline {
                capture.append(("pipeline", .object([
                    ("threads", .int(pipeline.threads)), ("dropped_rounds", .int(pipeline.drops.rounds)),
                    ("dropped_messages", .int(pipeline.drops.messages)),
                    ("dropped_connection_ends", .int(pipeline.drops.connectionEnds)),
                ])))
            }
        } else {
            capture = [("mode", .string("offline")), ("inputs", .array(run.inputs.map { input in
                .object([("path", .string(input.path)), ("link_type", .string(input.linkType)),
                         ("frames", .int(input.frames)), ("first_frame", .int(input.firstFrame)),
                         ("damage", input.damage.map { .string($0) } ?? .null)])
            }))]
        }
        capture.append(("frame_numbering", .string(Report.frameNumbering)))
        let packets = run.packets
        var timeRange: JSONValue = .null
        if let first = packets.firstTime, let last = packets.lastTime {
            timeRange = .object([("first", .string(first.rfc3339)), ("last", .string(last.rfc3339)),
                                 ("seconds", .double((last - first).seconds))])
        }
        let notDNS = packets.skipped.nonZero.filter { !$0.reason.isMalformed && !$0.reason.isNotAnalysed }
        let notAnalysed = packets.skipped.nonZero.filter { $0.reason.isNotAnalysed }
        let undecodable = packets.skipped.nonZero.filter { $0.reason.isMalformed }
        return .object([
            ("tool", .object([("name", .string(ToolInfo.name)), ("version", .string(ToolInfo.version))])),
            ("capture", .object(capture)),
            ("time_range", timeRange),
            ("findings", .array(findings.map(Report.json))),
            ("options", .object([("timeout_s", .double(options.timeout.seconds)),
                                 ("ports", .array(options.ports.map { .int(Int($0)) }))])),
            ("packets", .object([
                ("frames", .int(packets.frames)), ("bytes", .int(packets.bytes)),
                ("cut_by_snaplen", .int(packets.cutFrames)), ("dns_messages", .int(packets.dnsMessages)),
                ("not_dns", .object(notDNS.map { ($0.reason.description, .int($0.count)) })),
                ("not_analysed", .object(notAnalysed.map { ($0.reason.description, .int($0.count)) })),
                ("undecodable", .object(undecodable.map { ($0.reason.description, .int($0.count)) })),
                ("malformed_dns", Report.counts(packets.malformedDNS)),
                ("malformed_dns_body", Report.counts(packets.malformedDNSBody)),
            ])),
            ("totals", .object([
                ("transactions", .int(figures.transactions)), ("answered", .int(figures.answered)),
                ("late", .int(figures.late)),
                ("unanswered", .int(figures.unanswered)),
                ("rejected", .int(figures.rejected)),
                ("unanswered_at_capture_end", .int(figures.unansweredAtCaptureEnd)),
                ("in_flight", .int(figures.inFlight)),
                ("multicast", .int(figures.multicast)), ("retried", .int(figures.retried)),
                ("truncated", .int(figures.truncated)),
                ("unsolicited_responses", .int(run.engine.unsolicitedTotal)),
                ("unsolicited", .object(UnsolicitedReason.allCases.compactMap { reason in
                    run.engine.unsolicited[reason].map { (reason.rawValue, .int($0)) }
                })),
                ("failed_tcp_connections", .int(figures.failedConnections)),
                ("tcp_fallbacks", .object(figures.fallbackOutcomes.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                ("answered_from_another_address", .int(run.engine.answeredFromAnotherAddress)),
                ("copies_on_other_interfaces", .int(run.engine.copies)),
                ("evicted", .int(run.engine.evicted)),
                ("expired_released_early", .int(run.engine.expiredReleasedEarly)),
                ("icmp_errors", .object([
                    ("quoting_queries", .int(run.engine.rejected + run.engine.unmatchedICMPErrors)),
                    ("unmatched", .int(run.engine.unmatchedICMPErrors)),
                    ("quoting_responses", .int(run.engine.responsesRejectedByClient)),
                ])),
                ("rcodes", .object(figures.rcodes.sorted { $0.key.rawValue < $1.key.rawValue }
                    .map { ($0.key.description, .int($0.value)) })),
            ])),
            ("servers", .array(figures.servers.sorted { $0.key < $1.key }.map { key, server in
                .object([("ip", .string(key.server.ip.description)), ("port", .int(Int(key.server.port))),
                         ("transport", .string(key.transport.description))] + identityFields(key.server.ip)
                         + [("queries", .int(server.queries)),
                         ("answered", .int(server.answered)), ("late", .int(server.late)),
                         ("late_max_ms", server.late > 0 ? .double(Double(server.lateMaximumMicroseconds) / 1000) : .null),
                         ("unanswered", .int(server.unanswered)),
                         ("rejected", .int(server.rejected)), ("in_flight", .int(server.inFlight)),
                         ("failed_connections", .int(server.failedConnections)),
                         ("backends", Report.endpoints(server.backends)),
                         ("answered_from", Report.endpoints(server.answeredFrom)),
                         ("latency_ms", Report.latency(server.latency))])
            })),
            ("unanswered", .array(figures.unansweredBySource.map { source in
                .object([("client", .string(source.client.description))] + identityFields(source.client)
                        + [("queries", .int(source.queries)),
                         ("attempts", .int(source.attempts)),
                         ("servers", .array(source.servers.map { key, group in
                             .object([("server", .string(key.server.ip.description)),
                                      ("port", .int(Int(key.server.port))),
                                      ("transport", .string(key.transport.description))] + identityFields(key.server.ip)
                                      + [("queries", .int(group.queries)), ("attempts", .int(group.attempts)),
                                      ("rejected", .int(group.rejected)),
                                      ("rejections", .array(group.rejections.sorted {
                                          ($0.key.reason, $0.key.sender) < ($1.key.reason, $1.key.sender)
                                      }.map { key, count in
                                          .object([("icmp", .string(key.reason)), ("from", .string(key.sender.description)),
                                                   ("count", .int(count))])
                                      })),
                                      ("first", .string(group.first.rfc3339)), ("last", .string(group.last.rfc3339)),
                                      ("names", .array(ReportBuilder.sortedNames(group).map { name, count in
                                          .object([("qname", .string(name.qname)),
                                                   ("qtype", .string(name.qtype.description)), ("count", .int(count))])
                                      })),
                                      ("other_names", .int(group.otherNames)),
                                      ("failed_connections", .int(group.failedConnections)),
                                      ("last_seen_on", .array(group.lastSeenOn.sorted { $0.key < $1.key }.map {
                                          .object([("interface", .int(Int($0.key))),
                                                   ("name", run.interfaceNames[$0.key].map { .string($0) } ?? .null),
                                                   ("count", .int($0.value))])
                                      })),
                                      ("vlans", .array(group.vlans.keys.map(\.array).sorted { $0.lexicographicallyPrecedes($1) }
                                          .map { .array($0.map { .int(Int($0)) }) })),
                                      ("underlays", .array(group.underlays.keys.sorted { "\($0)" < "\($1)" }.map { underlay in
                                          .object([("encapsulation", .string(underlay.encapsulation.rawValue)),
                                                   ("source", .string(underlay.source.description)),
                                                   ("destination", .string(underlay.destination.description)),
                                                   ("id", underlay.networkIdentifier.map { .int(Int($0)) } ?? .null)])
                                      })),
                                      ("example_frames", .array(group.exampleFrames.map { .int($0) }))])
                         }))])
            })),
            ("warnings", .array(warnings.map { .string($0) })),
        ] + otherServersField + vantagesJSON())
    }

    /// `other_servers`: the servers beyond `ReportBuilder.maximumServers`, pooled into one
    /// row (present only when any were), so the servers' figures still add up to the totals.
    private var otherServersField: [(String, JSONValue)] {
        guard figures.otherServerTransactions > 0 else { return [] }
        let other = figures.otherServers
        return [("other_servers", .object([
            ("transactions", .int(figures.otherServerTransactions)), ("queries", .int(other.queries)),
            ("answered", .int(other.answered)), ("late", .int(other.late)), ("unanswered", .int(other.unanswered)),
            ("rejected", .int(other.rejected)), ("in_flight", .int(other.inFlight)),
            ("failed_connections", .int(other.failedConnections)), ("latency_ms", Report.latency(other.latency)),
        ]))]
    }

    /// Who an address is, as findings' evidence sources say it: `identity` (pod
    /// namespace/name, `ns/name Service`, node, NodeLocal DNSCache), `namespace`, `pod`,
    /// `service`, `node`; null where unknown.
    func identityFields(_ ip: IPAddress) -> [(String, JSONValue)] {
        let name = named(ip)
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        let pod = directory.pod(at: ip)
        let service = pod == nil ? directory.service(at: ip) : nil
        return [("identity", text(name.identity)), ("namespace", text(name.namespace)),
                ("pod", text(pod?.name)), ("service", text(service?.name)), ("node", text(name.node))]
    }

    static func json(_ finding: Finding) -> JSONValue {
        func addresses(_ list: [NamedAddress]) -> JSONValue {
            .array(list.map { address in
                .object([("ip", .string(address.ip.description)), ("identity", address.identity.map { .string($0) } ?? .null),
                         ("namespace", address.namespace.map { .string($0) } ?? .null)])
            })
        }
        return .object([
            ("kind", .string(finding.kind.rawValue)), ("confidence", .string(finding.confidence.rawValue)),
            ("title", .string(finding.title)), ("explanation", .string(finding.explanation)),
            ("evidence", .object([
                ("counts", .object(finding.counts.map { ($0.0, .int($0.1)) })),
                ("sources", addresses(finding.sources)), ("servers", addresses(finding.servers)),
                ("examples", .array(finding.examples.map { example in
                    .object([("client", .string(example.client)), ("server", .string(example.server)),
                             ("transport", .string(example.transport)),
                             ("qname", example.qname.map { .string($0) } ?? .null),
                             ("qtype", example.qtype.map { .string($0) } ?? .null),
                             ("outcome", .string(example.outcome)),
                             ("frames", .array(example.frames.map { .int($0) })),
                             ("note", example.note.map { .string($0) } ?? .null)])
                })),
                ("frames", .int(finding.frames.count)),
            ])),
            ("remediation", .string(finding.remediation)),
        ])
    }

    static func endpoints(_ values: [Endpoint: Int]) -> JSONValue {
        .array(values.sorted { ($0.key.ip, $0.key.port) < ($1.key.ip, $1.key.port) }.map {
            .object([("ip", .string($0.key.ip.description)), ("port", .int(Int($0.key.port))), ("count", .int($0.value))])
        })
    }

    static func counts(_ values: [String: Int]) -> JSONValue {
        .object(values.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
    }

    static func latency(_ histogram: LatencyHistogram) -> JSONValue {
        guard histogram.totalCount > 0 else { return .null }
        func milliseconds(_ microseconds: UInt64) -> JSONValue { .double(Double(microseconds) / 1000) }
        return .object([("p50", milliseconds(histogram.valueAtPercentile(50))),
                        ("p95", milliseconds(histogram.valueAtPercentile(95))),
                        ("p99", milliseconds(histogram.valueAtPercentile(99))),
                        ("max", milliseconds(histogram.max))])
    }
}

extension Report {
    /// `dropped by the pipeline: 3072 DNS messages, 0 ended TCP connections (3 rounds its
    /// pairing threads were too far behind to take)`: what a live run with `--threads` above 1 lost.
    static func pipelineDropText(_ drops: PipelineDrops) -> String {
        "dropped by the pipeline: \(counted(drops.messages, "DNS message", "DNS messages")), "
            + "\(counted(drops.connectionEnds, "ended TCP connection", "ended TCP connections")) "
            + "(\(counted(drops.rounds, "round", "rounds")) its pairing threads were too far behind to take)"
    }
}
