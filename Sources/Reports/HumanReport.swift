import DNSWire
import Diagnosis
import Histogram
import PacketDecoding
import Pipeline
import Transactions
import WireCore

extension Report {
    /// The terminal report: fits in 100 columns, most important first (what went
    /// unanswered, from where), then the supporting figures.
    public func human() -> String {
        var out: [String] = []
        let packets = run.packets
        let source: String
        if let live = run.live {
            source = "live on \(live.interface) (\(live.linkType)), stopped by \(live.stoppedBy)"
        } else {
            source = run.inputs.map { "\($0.path) (\($0.linkType), \(counted($0.frames, "frame", "frames")))" }
                .joined(separator: ", ")
        }
        out.append("\(ToolInfo.name) \(ToolInfo.version) — \(source)")
        if let first = packets.firstTime, let last = packets.lastTime {
            out.append("Time range     \(first.rfc3339) → \(last.rfc3339) (\(Report.seconds((last - first).seconds)))")
        }
        if let kernel = run.live?.kernel {
            out.append("Kernel         received \(kernel.received), dropped \(kernel.dropped), "
                       + "interface dropped \(kernel.interfaceDropped)")
        }
        if let pipeline = run.live?.pipeline {
            out.append("Pipeline       \(pipeline.threads) pairing threads, \(Report.pipelineDropText(pipeline.drops))")
        }
        for (index, line) in vantageLines().enumerated() {
            out.append((index == 0 ? "Vantages       " : "               ") + line.clock)
            out.append("                 " + line.inputs)
        }
        out.append("")
        let paired = figures.answered + figures.late + figures.unanswered + figures.rejected
        let answeredShare = Report.percent(figures.answered, of: paired)
        let unansweredShare = Report.percent(figures.unanswered, of: paired)
        var totals = "Transactions   \(figures.transactions)   answered \(figures.answered) (\(answeredShare))"
        if figures.late > 0 { totals += "   late \(figures.late) (\(Report.percent(figures.late, of: paired)))" }
        totals += "   unanswered \(figures.unanswered) (\(unansweredShare))"
        if figures.rejected > 0 { totals += "   rejected \(figures.rejected)" }
        if figures.inFlight > 0 { totals += "   in flight \(figures.inFlight)" }
        totals += "   retried \(figures.retried)"
        if figures.multicast > 0 { totals += "   multicast \(figures.multicast)" }
        out.append(totals)
        var responses = "Responses      unsolicited \(run.engine.unsolicitedTotal)   truncated (TC) \(figures.truncated)"
        if run.engine.evicted > 0 { responses += "   evicted \(run.engine.evicted)" }
        if run.engine.answeredFromAnotherAddress > 0 {
            responses += "   from another address than queried \(run.engine.answeredFromAnotherAddress)"
        }
        if run.engine.copies > 0 {
            responses += "   copies on other interfaces \(run.engine.copies)"
        }
        if run.engine.responsesRejectedByClient > 0 {
            responses += "   refused by the client (ICMP, it had given up) \(run.engine.responsesRejectedByClient)"
        }
        out.append(responses)
        if !figures.rcodes.isEmpty {
            out.append("Rcodes         " + figures.rcodes.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key) \($0.value)" }.joined(separator: "   "))
        }
        out.append("")
        out.append("Findings")
        if findings.isEmpty { out.append("  none: no known incident pattern in this capture") }
        for (index, finding) in findings.enumerated() {
            out.append("  \(index + 1). [\(finding.kind.rawValue), \(finding.confidence.rawValue) confidence] \(finding.title)")
            for line in Report.wrap(finding.explanation, width: 94) { out.append("     " + line) }
            out.append("     Evidence: " + finding.counts.map { "\(String($0.0.map { $0 == "_" ? " " : $0 })) \($0.1)" }
                .joined(separator: ", "))
            for example in finding.examples.prefix(3) {
                var line = "       \(example.client) → \(example.server)/\(example.transport)"
                if let qname = example.qname { line += " \(qname) \(example.qtype ?? "")" }
                line += " \(example.outcome), frames " + example.frames.prefix(6).map(String.init).joined(separator: ", ")
                out.append(line)
                if let note = example.note { out.append("         " + note) }
            }
            out.append("     Fix:")
            for line in finding.remediation.split(separator: "\n", omittingEmptySubsequences: false) {
                out.append("       " + line)
            }
        }
        out.append("")
        let bySource = figures.unansweredBySource
        let shownSources = shownCount(bySource.count)
        out.append("Unanswered queries by source"
                   + (shownSources < bySource.count ? " (top \(shownSources) of \(bySource.count) sources)" : ""))
        if bySource.isEmpty {
            out.append("  none")
        }
        for source in bySource.prefix(shownSources) {
            let rejected = source.servers.reduce(0) { $0 + $1.1.rejected }
            let client = addressLabel(source.client)
            var summary = "  \(client)   \(source.queries) unanswered \(Report.plural(source.queries, "query", "queries"))"
            if rejected > 0 { summary += " (\(rejected) rejected by ICMP)" }
            out.append(summary + ", \(source.attempts) \(Report.plural(source.attempts, "attempt", "attempts"))")
            for (key, group) in source.servers {
                let server = serverLabel(key)
                if group.failedConnections > 0 {
                    let kinds = group.connectionFailures.sorted { $0.key < $1.key }
                        .map { "\($0.key == "reset" ? "reset by the server" : "SYN never answered") ×\($0.value)" }
                    out.append("    → \(server)   \(group.failedConnections) TCP "
                               + "\(Report.plural(group.failedConnections, "connection", "connections")) failed before any query "
                               + "(" + kinds.joined(separator: ", ") + ")")
                    if group.queries == 0 {
                        out.append("        frames: " + group.exampleFrames.map(String.init).joined(separator: ", "))
                        continue
                    }
                }
                out.append("    → \(server)   \(group.queries) \(Report.plural(group.queries, "query", "queries")), "
                           + "\(group.attempts) \(Report.plural(group.attempts, "attempt", "attempts")), "
                           + "first \(Report.clock(group.first)), last \(Report.clock(group.last))")
                for (interface, count) in group.lastSeenOn.sorted(by: { $0.key < $1.key }) {
                    out.append("        last seen on \(interfaceLabel(interface)) ×\(count)")
                }
                for (vlan, count) in group.vlans.sorted(by: { $0.key.array.lexicographicallyPrecedes($1.key.array) }) {
                    out.append("        on VLAN " + vlan.array.map(String.init).joined(separator: "/") + " ×\(count)")
                }
                for (underlay, count) in group.underlays.sorted(by: { "\($0.key)" < "\($1.key)" }) {
                    var text = "        via \(underlay.encapsulation.rawValue) \(underlay.source) → \(underlay.destination)"
                    if let identifier = underlay.networkIdentifier { text += " (id \(identifier))" }
                    out.append(text + " ×\(count)")
                }
                for (key, count) in group.rejections.sorted(by: {
                    $0.value != $1.value ? $0.value > $1.value : ($0.key.reason, $0.key.sender) < ($1.key.reason, $1.key.sender)
                }) {
                    out.append("        rejected: ICMP \(key.reason) from \(addressLabel(key.sender)) ×\(count)")
                }
                let names = ReportBuilder.sortedNames(group)
                let shownNames = shownCount(names.count)
                for (name, count) in names.prefix(shownNames) {
                    out.append("        \(Report.fit(name.qname, 72)) \(name.qtype) ×\(count)")
                }
                let hidden = names.dropFirst(shownNames).reduce(0) { $0 + $1.1 } + group.otherNames
                if hidden > 0 { out.append("        … and \(counted(hidden, "more query", "more queries")) of other names") }
                if !group.exampleFrames.isEmpty {
                    out.append("        frames: " + group.exampleFrames.map(String.init).joined(separator: ", "))
                }
            }
        }
        if shownSources < bySource.count {
            out.append("  … and " + HiddenSources(bySource.dropFirst(shownSources)).text)
        }
        if figures.droppedGroups > 0 {
            out.append("  \(counted(figures.droppedGroups, "failed query", "failed queries")) of further (source, server) "
                       + "pairs counted but not listed (table full)")
        }
        out += lostLookupLines()
        if !figures.fallbackOutcomes.isEmpty {
            out.append("")
            out.append("TCP fallbacks (truncated UDP answers retried over TCP)")
            out.append("  " + figures.fallbackOutcomes.sorted { $0.key < $1.key }
                .map { "\($0.key == "none" ? "no TCP retry seen" : $0.key) \($0.value)" }.joined(separator: "   "))
            let failedFirst = figures.fallbacks.sorted {
                ($0.fallback?.outcome == .answered ? 1 : 0, $0.firstTime) < ($1.fallback?.outcome == .answered ? 1 : 0, $1.firstTime)
            }
            let fallbackTotal = figures.fallbackOutcomes.values.reduce(0, +)
            let shownFallbacks = shownCount(failedFirst.count)
            for transaction in failedFirst.prefix(shownFallbacks) {
                let name = Report.fit("\(transaction.qname ?? "<no question>") \(transaction.question?.type.description ?? "")", 48)
                var line = "  \(addressLabel(transaction.client.ip)) → \(transaction.server)  \(name)  "
                if let fallback = transaction.fallback {
                    line += "TCP \(fallback.outcome.rawValue)"
                    if fallback.outcome == .handshakeFailed { line += " (\(fallback.attempts) SYN)" }
                    line += ", frames " + ([transaction.response?.frame ?? 0] + fallback.frames).map(String.init).joined(separator: ", ")
                } else {
                    line += "no TCP retry, frame \(transaction.response?.frame ?? 0)"
                }
                out.append(line)
            }
            if fallbackTotal > shownFallbacks { out.append("  … and \(fallbackTotal - shownFallbacks) more") }
        }
        out.append("")
        out.append("Servers" + String(repeating: " ", count: 32) + "queries  answered  unanswered    p50 ms    p95 ms    p99 ms")
        let (shownServers, hiddenServers) = serversForListing()
        for (key, server) in shownServers {
            let name = Report.fit("\(key.server)/\(key.transport)", 37)
            var row = "  " + name.padding(37) + String(server.queries).leftPadding(8)
                + String(server.answered).leftPadding(10) + String(server.unanswered).leftPadding(12)
            if server.latency.totalCount > 0 {
                for percentile in [50.0, 95.0, 99.0] {
                    row += Report.milliseconds(server.latency.valueAtPercentile(percentile)).leftPadding(10)
                }
            } else {
                row += "         -         -         -"
            }
            out.append(row)
            if let identity = identityText(key.server.ip) { out.append("      \(identity)") }
            if server.inFlight > 0 { out.append("      in flight when the capture ended ×\(server.inFlight)") }
            if server.late > 0 { out.append("      " + Report.lateAnswersText(server)) }
            for (backend, count) in server.backends.sorted(by: { $0.key.ip < $1.key.ip }) {
                out.append("      DNAT'ed to \(backend)\(identityText(backend.ip).map { " (\($0))" } ?? "") ×\(count)")
            }
            for (source, count) in server.answeredFrom.sorted(by: { $0.key.ip < $1.key.ip }) {
                out.append("      answered from \(source)\(identityText(source.ip).map { " (\($0))" } ?? "") ×\(count) "
                           + "(address changed between query and answer)")
            }
        }
        if figures.servers.isEmpty { out.append("  none") }
        if !hiddenServers.isEmpty { out.append("  … and " + Report.hiddenServersText(hiddenServers)) }
        if figures.otherServerTransactions > 0 {
            let other = figures.otherServers
            var row = "  " + "other servers (beyond \(ReportBuilder.maximumServers))".padding(37)
                + String(other.queries).leftPadding(8) + String(other.answered).leftPadding(10)
                + String(other.unanswered).leftPadding(12)
            if other.latency.totalCount > 0 {
                for percentile in [50.0, 95.0, 99.0] {
                    row += Report.milliseconds(other.latency.valueAtPercentile(percentile)).leftPadding(10)
                }
            }
            out.append(row)
        }
        out.append("")
        var frameLine = "Packets        \(counted(packets.frames, "frame", "frames")), "
            + counted(packets.dnsMessages, "DNS message", "DNS messages")
        let notDNS = packets.skipped.nonZero.filter { !$0.reason.isMalformed && !$0.reason.isNotAnalysed }
        if !notDNS.isEmpty {
            frameLine += "; not DNS: " + notDNS.map { "\($0.reason) \($0.count)" }.joined(separator: ", ")
        }
        let notAnalysed = packets.skipped.nonZero.filter { $0.reason.isNotAnalysed }
        if !notAnalysed.isEmpty {
            frameLine += "; skipped: " + notAnalysed.map { "\($0.reason) \($0.count)" }.joined(separator: ", ")
        }
        out.append(frameLine)
        let undecodable = packets.skipped.nonZero.filter { $0.reason.isMalformed }
        if !undecodable.isEmpty {
            out.append("Undecodable    " + undecodable.map { "\($0.reason) \($0.count)" }.joined(separator: ", "))
        }
        if !packets.malformedDNS.isEmpty {
            out.append("Malformed DNS  " + packets.malformedDNS.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if !packets.malformedDNSBody.isEmpty {
            out.append("Damaged bodies " + packets.malformedDNSBody.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + " (paired from header and question)")
        }
        for warning in warnings { out.append("Warning        " + warning) }
        return out.map(Report.terminalSafe).joined(separator: "\n") + "\n"
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "-" }
        return JSONValue.format((Double(part) * 1000 / Double(whole)).rounded() / 10) + "%"
    }

    /// A server's late answers, as the human and HTML server lists print them.
    static func lateAnswersText(_ server: ReportBuilder.ServerFigures) -> String {
        "answered late (after the query's timeout) ×\(server.late), the slowest after "
            + "\(milliseconds(server.lateMaximumMicroseconds)) ms"
    }

    static func seconds(_ value: Double) -> String { JSONValue.format((value * 1000).rounded() / 1000) + " s" }

    static func milliseconds(_ microseconds: UInt64) -> String {
        let hundredths = (microseconds + 5) / 10
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Time of day, UTC, to the millisecond.
    static func clock(_ time: Timestamp) -> String {
        let text = time.rfc3339
        guard let t = text.firstIndex(of: "T") else { return text }
        return String(text[text.index(after: t)...].prefix(12))
    }

    /// Greedy word wrap for explanations.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    static func plural(_ count: Int, _ one: String, _ many: String) -> String { count == 1 ? one : many }

    static func fit(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
