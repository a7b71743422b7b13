import DNSWire
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
            source = run.inputs.map { "\($0.path) (\($0.linkType), \($0.frames) frames)" }.joined(separator: ", ")
        }
        out.append("\(ToolInfo.name) \(ToolInfo.version) — \(source)")
        if let first = packets.firstTime, let last = packets.lastTime {
            out.append("Time range     \(first.rfc3339) → \(last.rfc3339) (\(Report.seconds((last - first).seconds)))")
        }
        if let kernel = run.live?.kernel {
            out.append("Kernel         received \(kernel.received), dropped \(kernel.dropped), "
                       + "interface dropped \(kernel.interfaceDropped)")
        }
        out.append("")
        let paired = figures.answered + figures.unanswered + figures.rejected
        let answeredShare = Report.percent(figures.answered, of: paired)
        let unansweredShare = Report.percent(figures.unanswered, of: paired)
        var totals = "Transactions   \(figures.transactions)   answered \(figures.answered) (\(answeredShare))"
            + "   unanswered \(figures.unanswered) (\(unansweredShare))"
        if figures.rejected > 0 { totals += "   rejected \(figures.rejected)" }
        totals += "   retried \(figures.retried)"
        if figures.multicast > 0 { totals += "   multicast \(figures.multicast)" }
        out.append(totals)
        var responses = "Responses      unsolicited \(run.engine.unsolicitedTotal)   truncated (TC) \(figures.truncated)"
        if run.engine.evicted > 0 { responses += "   evicted \(run.engine.evicted)" }
        if run.engine.responsesRejectedByClient > 0 {
            responses += "   refused by the client (ICMP, it had given up) \(run.engine.responsesRejectedByClient)"
        }
        out.append(responses)
        if !figures.rcodes.isEmpty {
            out.append("Rcodes         " + figures.rcodes.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key) \($0.value)" }.joined(separator: "   "))
        }
        out.append("")
        out.append("Unanswered queries by source")
        let bySource = figures.unansweredBySource
        if bySource.isEmpty {
            out.append("  none")
        }
        for source in bySource {
            out.append("  \(source.client)   \(source.queries) unanswered \(Report.plural(source.queries, "query", "queries")), "
                       + "\(source.attempts) \(Report.plural(source.attempts, "attempt", "attempts"))")
            for (key, group) in source.servers {
                let server = "\(key.server)/\(key.transport)"
                out.append("    → \(server)   \(group.queries) \(Report.plural(group.queries, "query", "queries")), "
                           + "\(group.attempts) \(Report.plural(group.attempts, "attempt", "attempts")), "
                           + "first \(Report.clock(group.first)), last \(Report.clock(group.last))")
                for (key, count) in group.rejections.sorted(by: { $0.value > $1.value }) {
                    out.append("        rejected: ICMP \(key.reason) from \(key.sender) ×\(count)")
                }
                let names = ReportBuilder.sortedNames(group)
                for (name, count) in names.prefix(10) {
                    out.append("        \(Report.fit(name.qname, 72)) \(name.qtype) ×\(count)")
                }
                let hidden = names.dropFirst(10).reduce(0) { $0 + $1.1 } + group.otherNames
                if hidden > 0 { out.append("        … and \(hidden) more") }
                if !group.exampleFrames.isEmpty {
                    out.append("        frames: " + group.exampleFrames.map(String.init).joined(separator: ", "))
                }
            }
        }
        out.append("")
        out.append("Servers" + String(repeating: " ", count: 32) + "queries  answered  unanswered    p50 ms    p95 ms    p99 ms")
        for (key, server) in figures.servers.sorted(by: { $0.key < $1.key }) {
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
        }
        if figures.servers.isEmpty { out.append("  none") }
        out.append("")
        var frameLine = "Packets        \(packets.frames) frames, \(packets.dnsMessages) DNS messages"
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
        return out.joined(separator: "\n") + "\n"
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "-" }
        return JSONValue.format((Double(part) * 1000 / Double(whole)).rounded() / 10) + "%"
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

    static func plural(_ count: Int, _ one: String, _ many: String) -> String { count == 1 ? one : many }

    static func fit(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
