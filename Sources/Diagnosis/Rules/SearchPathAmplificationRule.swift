import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// Incident 7, ndots:5 (RFC 1535 search lists): `api.github.com` asked first as
/// `api.github.com.<suffix>` for every search suffix, each NXDOMAIN, then as itself.
/// Each NXDOMAIN name is remembered under the name hash of every leading part of it that
/// ends at a label (`api.`, `api.github.`, ...: `DNSName.forEachLeadingNameHash`), so the
/// real name, when answered, finds its expansions with one lookup by its question's
/// `nameHash` — no string work per answer.
struct SearchPathAmplificationRule: DiagnosisRule {
    static let kind = FindingKind.searchPathAmplification

    /// How long NXDOMAIN answers are remembered while waiting for the real name.
    static let searchWindow = Duration(nanoseconds: 10_000_000_000)
    /// Search-path prefixes remembered per source.
    static let maximumSearchBases = 512
    /// Search-path prefixes remembered over all sources (each a few hundred bytes): with
    /// only the per-source cap, thousands of clients asking NXDOMAIN names could hold GBs.
    /// When full, expired prefixes of every source are dropped (at most once per
    /// `searchWindow` of capture time); while still full, new prefixes are not learnt and
    /// amplification is undercounted. Above what 320 busy clients use in the benchmark
    /// (at most 320 × 512): 65,536 there halved the amplified lookups counted.
    static let maximumSearchBasesInAll = 262_144
    /// Prefixes older than this are dropped by the sweep run once per `searchWindow` of
    /// capture time, so the table holds recent names only, however long the capture (it
    /// grew to the cap, tens of MB, on long captures). Two windows, not one: answers close
    /// out of query order, and a query begun up to a window before one seen earlier still
    /// finds its prefixes.
    static let sweepAge = Duration(nanoseconds: 2 * searchWindow.nanoseconds)
    /// Label prefixes of one name: a name of 255 octets has at most 127 labels.
    static let maximumPrefixesPerName = 128

    /// The NXDOMAIN answers under one prefix: 24 bytes, and the names and frames (in a
    /// `SearchEvidence`) only while the finding can still quote them (`keepsEvidence`).
    struct SearchBase {
        var storedCount: UInt32
        var time: Timestamp
        var evidence: SearchEvidence?

        var count: Int {
            get { Int(storedCount) }
            set { storedCount = UInt32(clamping: newValue) }
        }

        var names: [String] { evidence?.names ?? [] }
        var frames: [Int] { evidence?.frames ?? [] }
    }

    /// Recent NXDOMAIN names by the hash of each of their label prefixes, by source slot.
    private var basesBySource: [SearchPrefixTable] = []
    /// By source slot, no later than the earliest time of its prefixes: while within
    /// `searchWindow` of an answer, a full table has nothing expired to drop and is not
    /// filtered (it was, on every NXDOMAIN answer of a client at the cap: bench/profile.md).
    private var oldestBySource: [Timestamp] = []
    /// Search-path prefixes held over all sources, and when they were last swept.
    private(set) var prefixesHeld = 0
    private var lastSweep = Timestamp(nanoseconds: Int64.min)

    private var amplifiedLookups = 0
    private var extraQueries = 0
    private var examples: [EvidenceExample] = []
    private var frames: [Int] = []
    private var clients: Set<IPAddress> = []

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        guard transaction.outcome == .answered, let rcode = transaction.response?.rcode else { return }
        let known = slot < basesBySource.count && !basesBySource[slot].isEmpty
        guard rcode == .nxDomain || known else { return }
        if prefixesHeld > 0, lastSweep == Timestamp(nanoseconds: .min) || transaction.firstTime - lastSweep >= Self.searchWindow {
            sweep(now: transaction.firstTime, atCap: prefixesHeld >= Self.maximumSearchBasesInAll)
        }
        while basesBySource.count <= slot {
            basesBySource.append(SearchPrefixTable())
            oldestBySource.append(Timestamp(nanoseconds: .max))
        }
        if let expansions = Self.observe(transaction, rcode: rcode, bases: &basesBySource[slot],
                                         oldest: &oldestBySource[slot], total: &prefixesHeld,
                                         keepEvidence: keepsEvidence) {
            amplifiedLookups += 1
            extraQueries += expansions.count
            if clients.count < 1024 { clients.insert(transaction.client.ip) }
            Diagnoser.appendExample({
                var example = Diagnoser.example(transaction)
                example.note = "\(expansions.count) NXDOMAIN first, for " + expansions.names.joined(separator: ", ")
                return example
            }(), to: &examples)
            Diagnoser.appendFrames(expansions.frames + Diagnoser.frames(of: transaction), to: &frames)
        }
    }

    /// Whether an amplified lookup found from now on can still add an example or frames to
    /// the finding: once both lists are full, prefixes keep only their count and time (the
    /// names and frames they held were most of the rule's memory, all thrown away).
    private var keepsEvidence: Bool {
        examples.count < Diagnoser.maximumExamples || frames.count < Diagnoser.maximumFramesPerSource
    }

    /// Remembers an NXDOMAIN answer, or for an answered real name returns the expansions it
    /// ends when they amount to amplification.
    private static func observe(
        _ transaction: Transaction, rcode: DNSRCode, bases: inout SearchPrefixTable, oldest: inout Timestamp,
        total: inout Int, keepEvidence: Bool
    ) -> SearchBase? {
        guard let name = transaction.qname else { return nil }
        let now = transaction.firstTime
        if rcode == .nxDomain {
            if bases.count >= maximumSearchBases {
                // Nothing to drop while the earliest prefix is within the window.
                guard now - oldest > searchWindow else { return nil }
                let before = bases.count
                oldest = bases.filter(keepingTimes: { now - $0 <= searchWindow }) ?? Timestamp(nanoseconds: .max)
                total -= before - bases.count
                guard bases.count < maximumSearchBases else { return nil }
            }
            oldest = min(oldest, now)
            var frames: [Int]?
            // The prefixes' hashes first, each slot's loading started at once; then the
            // lookups, in the same order, find them in the cache (one miss at a time, six
            // per name, took most of the rule's time).
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: maximumPrefixesPerName) { prefixes in
                var count = 0
                DNSName.forEachLeadingNameHash(of: name) { hash, isWhole in
                    guard !isWhole, count < prefixes.count else { return }
                    bases.prefetch(hash, withEntry: true)
                    prefixes[count] = hash
                    count += 1
                }
                for hash in prefixes[..<count] {
                    if let index = bases.index(forKey: hash) {
                        remember(transaction, name: name, in: &bases[slot: index], frames: &frames, keepEvidence: keepEvidence)
                    } else if total < maximumSearchBasesInAll {
                        var base = SearchBase(time: now)
                        remember(transaction, name: name, in: &base, frames: &frames, keepEvidence: keepEvidence)
                        bases.insertNew(hash, base)
                        total += 1
                    }
                }
            }
            return nil
        }
        // Amplification is about lookups that succeed in the end; a real name answered
        // SERVFAIL is an upstream problem, reported by its own rule.
        guard rcode == .noError, !bases.isEmpty, let whole = transaction.question?.nameHash else { return nil }
        guard let expansions = bases.removeValue(forKey: whole) else { return nil }
        total -= 1
        guard now - expansions.time <= searchWindow,
              // One expansion is a search path doing its job (redis.sales → redis.sales.svc...);
              // two or more before an answer is amplification.
              expansions.count >= 2 else { return nil }
        return expansions
    }

    /// Starts loading the slot `observe` will look in for this transaction's name, when it is
    /// an answered real name of a source with prefixes: called before the other rules, which
    /// run while it arrives.
    mutating func prefetch(_ transaction: Transaction, source slot: Int) {
        guard transaction.outcome == .answered, slot < basesBySource.count, transaction.response?.rcode == .noError,
              let whole = transaction.question?.nameHash else { return }
        basesBySource[slot].prefetch(whole, withEntry: false)
    }

    /// Drops every source's prefixes older than `sweepAge`, or, when all of them together
    /// reach `maximumSearchBasesInAll`, every expired one (older than `searchWindow`). Called
    /// at most once per `searchWindow` of capture time (`observe` checks), so a table full of
    /// live prefixes is not swept on every answer.
    private mutating func sweep(now: Timestamp, atCap: Bool) {
        lastSweep = now
        prefixesHeld = 0
        let age = atCap ? Self.searchWindow : Self.sweepAge
        for slot in basesBySource.indices where !basesBySource[slot].isEmpty {
            guard now - oldestBySource[slot] > age else {
                prefixesHeld += basesBySource[slot].count
                continue
            }
            oldestBySource[slot] = basesBySource[slot].filter(keepingTimes: { now - $0 <= age }) ?? Timestamp(nanoseconds: .max)
            prefixesHeld += basesBySource[slot].count
        }
    }

    /// Names and frames the prefixes hold (for tests of the rule's memory).
    var evidenceHeld: Int {
        basesBySource.reduce(0) { held, bases in held + bases.values.reduce(0) { $0 + $1.names.count + $1.frames.count } }
    }

    /// Counts an NXDOMAIN answer under one of its label prefixes, with its name and frames
    /// while `keepEvidence`. `frames` holds the transaction's frames once built (only while
    /// a prefix still keeps frames).
    private static func remember(
        _ transaction: Transaction, name: String, in base: inout SearchBase, frames: inout [Int]?, keepEvidence: Bool
    ) {
        let now = transaction.firstTime
        if now - base.time > searchWindow { base = SearchBase(time: now) }
        base.count += 1
        base.time = now
        guard keepEvidence else { return }
        // Copy on write: a copy of the rule (the live diagnosis probes one) shares them.
        if base.evidence == nil {
            base.evidence = SearchEvidence()
        } else if !isKnownUniquelyReferenced(&base.evidence) {
            base.evidence = base.evidence?.copy()
        }
        guard let evidence = base.evidence else { return }
        if evidence.names.count < 4 && !evidence.names.contains(name) { evidence.names.append(name) }
        if evidence.frames.count < 16 {
            let transactionFrames = frames ?? Diagnoser.frames(of: transaction)
            frames = transactionFrames
            evidence.frames += transactionFrames.prefix(4)
        }
    }

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        guard amplifiedLookups > 0 else { return [] }
        return [Finding(
            kind: Self.kind, confidence: amplifiedLookups >= 3 || extraQueries >= 3 * amplifiedLookups ? .high : .medium,
            title: "Search-path amplification: \(counted(extraQueries, "NXDOMAIN query", "NXDOMAIN queries")) before \(amplifiedLookups) real lookup\(amplifiedLookups == 1 ? "" : "s")",
            explanation: "Names were first tried with each search suffix (ndots:5 in the pod's resolv.conf makes any name with "
                + "fewer than 5 dots go through the search list), each answered NXDOMAIN, before the real name. Every lookup "
                + "costs several queries; when DNS is slow or lossy the failures multiply.",
            counts: [("amplified_lookups", amplifiedLookups), ("extra_nxdomain_queries", extraQueries)],
            sources: clients.sorted().map { context.name($0) }, servers: [],
            examples: examples,
            remediation: "Use fully qualified names with a trailing dot (api.github.com.), or lower ndots in the pod spec:\n"
                + "  dnsConfig:\n    options:\n    - {name: ndots, value: \"2\"}\n"
                + "or enable CoreDNS's autopath plugin.",
            frames: frames)]
    }
}

extension SearchPathAmplificationRule.SearchBase {
    /// No answer counted yet (the memberwise initializer builds in place: one declared in
    /// the struct made a temporary and copied it, bench/profile.md).
    init(time: Timestamp) {
        self.init(storedCount: 0, time: time, evidence: nil)
    }
}

/// A search-path prefix's names and frames: a reference, so a prefix without them (most,
/// once the finding is full) costs 8 bytes for them. Copied before a change when shared
/// (`SearchPathAmplificationRule.remember`), so the rule keeps value semantics.
final class SearchEvidence {
    var names: [String] = []
    var frames: [Int] = []

    func copy() -> SearchEvidence {
        let copy = SearchEvidence()
        copy.names = names
        copy.frames = frames
        return copy
    }
}
