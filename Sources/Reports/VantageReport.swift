import Diagnosis
import Pipeline
import Transactions
import WireCore

/// The parts of the reports only a `--vantage` run has: each vantage's clock against the
/// reference, and the failed lookups lost between two vantages with their path.
extension Report {
    /// "+7.300007 s": a clock offset or difference, signed, to the microsecond.
    static func signedSeconds(_ duration: Duration) -> String {
        let microseconds = duration.nanoseconds / 1000
        let sign = microseconds < 0 ? "-" : "+"
        let magnitude = microseconds == .min ? UInt64(Int64.max) : UInt64(abs(microseconds))
        let fraction = String(magnitude % 1_000_000)
        return "\(sign)\(magnitude / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction) s"
    }

    /// Per vantage: its clock, then its inputs and transactions.
    func vantageLines() -> [(clock: String, inputs: String)] {
        run.vantages.map { vantage in
            let frames = vantage.inputs.map { input in
                input.frames == 0 ? "\(input.path) no frames" : "\(input.path) frames \(input.firstFrame)-\(input.firstFrame + input.frames - 1)"
            }.joined(separator: ", ")
            let inputs = "\(frames); \(counted(vantage.transactions, "transaction", "transactions")) of its own"
            if vantage.isReference { return ("\(vantage.name): reference clock", inputs) }
            guard let offset = vantage.offset, let low = vantage.spreadLow, let high = vantage.spreadHigh else {
                return ("\(vantage.name): clock could not be matched (no DNS message seen at another vantage): not "
                    + "merged, its times on its own clock", inputs)
            }
            let samples = vantage.fromExchanges
                ? counted(vantage.sharedMessages, "exchange", "exchanges")
                : counted(vantage.sharedMessages, "message", "messages")
            return ("\(vantage.name): clock \(Report.signedSeconds(offset)) (spread \(Report.signedSeconds(low)) to "
                + "\(Report.signedSeconds(high)) over \(samples) seen also at \(vantage.matchedWith ?? "?"))", inputs)
        }
    }

    /// Warnings of a `--vantage` run: unmatched vantages, transactions not merged (table full).
    var vantageWarnings: [String] {
        var warnings = run.vantages.filter { !$0.isMatched }.map {
            "vantage \($0.name): clock could not be matched (no DNS message seen at another vantage); its "
                + "\(counted($0.transactions, "transaction is", "transactions are")) reported unmerged, on its own clock"
        }
        if run.unmergedBeyondCap > 0 {
            warnings.append(counted(run.unmergedBeyondCap, "transaction was", "transactions were")
                            + " not merged across vantages (beyond each vantage's share of the transactions held for "
                            + "merging): reported as their vantage saw them, a lookup seen at two of them counted twice")
        }
        return warnings
    }

    /// The human report's section on lookups lost between vantages (empty when there are none).
    func lostLookupLines() -> [String] {
        let lost = figures.lostLookups
        guard lost.total > 0 else { return [] }
        var out = ["", "Lookups lost between vantages (\(lost.total))"]
        for (leg, count) in lost.byLeg.sorted(by: { $0.key < $1.key }) {
            let what = leg.direction == .query ? "queries lost on the way" : "answers lost on the way back"
            out.append("  \(what) \(leg.from) → \(leg.to): \(count)")
        }
        let shown = shownCount(lost.kept.count)
        for lookup in lost.kept.prefix(shown) {
            out.append("  \(addressLabel(lookup.client.ip)) port \(lookup.client.port) → \(lookup.server)/\(lookup.transport)")
            out.append("      \(Report.fit("\(lookup.qname) \(lookup.qtype)", 60)), id 0x\(String(lookup.id, radix: 16)), "
                       + "\(counted(lookup.attempts, "attempt", "attempts"))")
            out.append("      \(lookup.path.text)")
            if let loss = lookup.path.lost { out.append("      \(loss.sentence)") }
        }
        if lost.total > shown { out.append("  … and \(lost.total - shown) more") }
        return out
    }

    /// The JSON report's `vantages` (each vantage's clock) and `lost_between_vantages`.
    func vantagesJSON() -> [(String, JSONValue)] {
        guard !run.vantages.isEmpty else { return [] }
        let vantages: [JSONValue] = run.vantages.map { vantage in
            .object([
                ("name", .string(vantage.name)),
                ("reference", .bool(vantage.isReference)),
                ("matched", .bool(vantage.isMatched)),
                ("clock_offset_us", vantage.offset.map { .int(Int($0.nanoseconds / 1000)) } ?? .null),
                ("spread_low_us", vantage.spreadLow.map { .int(Int($0.nanoseconds / 1000)) } ?? .null),
                ("spread_high_us", vantage.spreadHigh.map { .int(Int($0.nanoseconds / 1000)) } ?? .null),
                ("samples", .int(vantage.sharedMessages)),
                ("samples_are", vantage.matchedWith == nil ? .null : .string(vantage.fromExchanges ? "exchanges" : "messages")),
                ("matched_with", vantage.matchedWith.map { .string($0) } ?? .null),
                ("transactions", .int(vantage.transactions)),
                ("inputs", .array(vantage.inputs.map { .string($0.path) })),
            ])
        }
        let lost = figures.lostLookups
        let legs: [JSONValue] = lost.byLeg.sorted { $0.key < $1.key }.map { leg, count in
            .object([("direction", .string(leg.direction.rawValue)), ("last_seen_at", .string(leg.from)),
                     ("not_seen_at", .string(leg.to)), ("lookups", .int(count))])
        }
        let lookups: [JSONValue] = lost.kept.map { lookup in
            .object([
                ("client", .string(lookup.client.ip.description)), ("client_port", .int(Int(lookup.client.port))),
                ("server", .string(lookup.server.ip.description)), ("port", .int(Int(lookup.server.port))),
                ("transport", .string(lookup.transport.description)), ("id", .int(Int(lookup.id))),
                ("qname", .string(lookup.qname)), ("qtype", .string(lookup.qtype.description)),
                ("attempts", .int(lookup.attempts)), ("first", .string(lookup.firstTime.rfc3339)),
                ("vantages", .array(lookup.path.sightings.map { sighting in
                    .object([("name", .string(sighting.name)), ("query", .bool(sighting.query)),
                             ("response", .bool(sighting.response)), ("frames", .array(sighting.frames.map { .int($0) }))])
                })),
                ("lost", lookup.path.lost.map { lost in
                    .object([("direction", .string(lost.direction.rawValue)), ("last_seen_at", .string(lost.lastSeenAt)),
                             ("not_seen_at", .string(lost.notSeenAt))])
                } ?? .null),
            ])
        }
        return [("vantages", .array(vantages)),
                ("lost_between_vantages", .object([("total", .int(lost.total)), ("legs", .array(legs)),
                                                   ("lookups", .array(lookups)),
                                                   ("lookups_not_listed", .int(lost.total - lost.kept.count)),
                                                   ("unmerged_beyond_cap", .int(run.unmergedBeyondCap))]))]
    }
}
