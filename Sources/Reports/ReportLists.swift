import Attribution
import Diagnosis
import PacketDecoding
import Transactions

/// What the human and HTML reports share about long lists (`--top`) and about naming the
/// addresses and interfaces they show.
extension Report {
    /// Entries each list of the human and HTML reports shows by default (`--top`).
    public static let defaultTop = 10

    /// How many of `count` entries a list shows: `top`, or all of them when `top` is 0.
    func shownCount(_ count: Int) -> Int { top <= 0 ? count : min(count, top) }

    /// `ip` as the cluster directory knows it (pod, Service, node, NodeLocal DNSCache).
    func named(_ ip: IPAddress) -> NamedAddress { NamedAddress(ip, in: directory) }

    /// `endpoint/transport`, then who the server is when known: `10.96.0.10:53/udp`,
    /// `10.96.0.10:53/udp (kube-system/kube-dns Service)`.
    func serverLabel(_ key: ReportBuilder.ServerKey) -> String {
        let base = "\(key.server)/\(key.transport)"
        guard let identity = identityText(key.server.ip) else { return base }
        return "\(base) (\(identity))"
    }

    /// Who `ip` is (`payments/checkout-7d4b, node-a` style, without the address), or nil.
    /// Tables leave out the guess made without `--pods` (`probably the kube-dns Service`):
    /// the findings state it, and repeated on every row it would only crowd the table.
    func identityText(_ ip: IPAddress) -> String? {
        let name = named(ip)
        guard let identity = name.identity, !identity.hasPrefix("probably") else { return nil }
        return identity + (name.node.map { ", \($0)" } ?? "")
    }

    /// The address, then who it is when known: `10.244.1.11 (payments/checkout-7d4b, node-a)`.
    func addressLabel(_ ip: IPAddress) -> String {
        identityText(ip).map { "\(ip) (\($0))" } ?? ip.description
    }

    /// An interface as the report names it: `veth1a2b (6)` when its name is known, else `interface 6`.
    func interfaceLabel(_ index: Int32) -> String {
        guard let name = run.interfaceNames[index] else { return "interface \(index)" }
        return "\(name) (\(index))"
    }

    /// Totals of the sources a list leaves out, to print after it.
    struct HiddenSources {
        var sources = 0
        var queries = 0
        var rejected = 0
        var attempts = 0
        var failedConnections = 0

        init(_ sources: ArraySlice<(client: IPAddress, queries: Int, attempts: Int, servers: [(ReportBuilder.ServerKey, ReportBuilder.UnansweredGroup)])>) {
            for source in sources {
                self.sources += 1
                queries += source.queries
                attempts += source.attempts
                for (_, group) in source.servers {
                    rejected += group.rejected
                    failedConnections += group.failedConnections
                }
            }
        }

        /// `310 more sources: 1234 unanswered queries (12 rejected), 2400 attempts, 3 failed TCP connections`.
        var text: String {
            var line = "\(sources) more \(Report.plural(sources, "source", "sources")): "
                + counted(queries, "unanswered query", "unanswered queries")
            if rejected > 0 { line += " (\(rejected) rejected)" }
            line += ", " + counted(attempts, "attempt", "attempts")
            if failedConnections > 0 { line += ", " + counted(failedConnections, "failed TCP connection", "failed TCP connections") }
            return line
        }
    }

    /// Totals of the servers a list leaves out.
    static func hiddenServersText(_ servers: ArraySlice<(key: ReportBuilder.ServerKey, value: ReportBuilder.ServerFigures)>) -> String {
        let queries = servers.reduce(0) { $0 + $1.value.queries }
        let answered = servers.reduce(0) { $0 + $1.value.answered }
        let unanswered = servers.reduce(0) { $0 + $1.value.unanswered }
        var text = "\(servers.count) more \(plural(servers.count, "server", "servers")): "
            + counted(queries, "query", "queries") + ", \(answered) answered, \(unanswered) unanswered"
        let rejected = servers.reduce(0) { $0 + $1.value.rejected }
        if rejected > 0 { text += ", \(rejected) rejected" }
        return text
    }

    /// The servers a list shows: all in address order, or, beyond `top`, the `top` with the
    /// most failures (then queries), still in address order; the rest after them.
    func serversForListing() -> (shown: [(key: ReportBuilder.ServerKey, value: ReportBuilder.ServerFigures)],
                                 hidden: ArraySlice<(key: ReportBuilder.ServerKey, value: ReportBuilder.ServerFigures)>) {
        let all = figures.servers.sorted { $0.key < $1.key }
        let limit = shownCount(all.count)
        guard limit < all.count else { return (all, []) }
        func failures(_ server: ReportBuilder.ServerFigures) -> Int { server.unanswered + server.rejected + server.failedConnections }
        let ranked = all.sorted {
            (failures($0.value), $0.value.queries) != (failures($1.value), $1.value.queries)
                ? (failures($0.value), $0.value.queries) > (failures($1.value), $1.value.queries) : $0.key < $1.key
        }
        return (ranked.prefix(limit).sorted { $0.key < $1.key }, ranked.dropFirst(limit))
    }

    /// Escapes what a terminal would act on: C0 controls (ESC, CR, newline, ...), DEL and
    /// C1 controls become `\u{1B}`-style text, so a name from `--pods`, a file path or an
    /// interface name cannot move the cursor, recolour or fake a line of the report.
    static func terminalSafe(_ line: String) -> String {
        guard line.unicodeScalars.contains(where: isTerminalControl) else { return line }
        var out = ""
        for scalar in line.unicodeScalars {
            if isTerminalControl(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isTerminalControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
