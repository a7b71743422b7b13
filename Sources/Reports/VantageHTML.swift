import Diagnosis
/// The HTML report's section of a `--vantage` run: each vantage's clock, and the path of
/// each lookup lost between two vantages. Empty for a run of one capture.
extension Report {
    func htmlVantages() -> String {
        guard !run.vantages.isEmpty else { return "" }
        var out = "<section id=\"vantages\">\n<h2>Vantage points</h2>\n<ul>\n"
        for line in vantageLines() { out += "<li>\(HTML.escape(line.clock))<br>\(HTML.escape(line.inputs))</li>\n" }
        out += "</ul>\n"
        let lost = figures.lostLookups
        guard lost.total > 0 else { return out + "<p class=\"none\">No lookup was lost between vantages.</p>\n</section>\n" }
        out += "<p>Lookups lost between vantages: " + lost.byLeg.sorted { $0.key < $1.key }.map { leg, count in
            let what = leg.direction == .query ? "queries lost on the way" : "answers lost on the way back"
            return "<span class=\"chip bad\">\(HTML.escape("\(what) \(leg.from) → \(leg.to)")) \(count)</span>"
        }.joined(separator: " ") + "</p>\n"
        out += "<table>\n<thead><tr><th>client → server</th><th>question</th><th>path</th><th>lost</th><th>first frame</th>"
            + "</tr></thead>\n<tbody>\n"
        let shown = shownCount(lost.kept.count)
        for lookup in lost.kept.prefix(shown) {
            let route = "<td>\(HTML.code("\(lookup.client)")) → \(HTML.code("\(lookup.server)/\(lookup.transport)"))</td>"
            let question = "\(lookup.qname) \(lookup.qtype) (id 0x\(String(lookup.id, radix: 16)), "
                + counted(lookup.attempts, "attempt", "attempts") + ")"
            let lostText = lookup.path.lost?.sentence ?? ""
            out += "<tr>" + route + "<td>" + HTML.escape(question) + "</td><td>" + HTML.escape(lookup.path.text) + "</td>"
            out += "<td class=\"bad\">" + HTML.escape(lostText) + "</td><td>\(lookup.firstFrame)</td></tr>\n"
        }
        out += "</tbody>\n</table>\n"
        if lost.total > shown { out += "<p>… and \(lost.total - shown) more.</p>\n" }
        return out + "</section>\n"
    }
}
