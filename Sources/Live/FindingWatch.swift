import Attribution
import Diagnosis
import PacketDecoding
import Transactions
import WireCore

/// A finding worth a FINDING line: new, or changed materially since it was last announced.
public struct FindingAnnouncement: Sendable {
    public var finding: Finding
    /// No finding of this kind was announced before.
    public var isNew: Bool
    /// Sources and servers not named by any earlier announcement of this kind.
    public var newSources: [IPAddress]
    public var newServers: [IPAddress]
}

/// Decides which findings to announce, once each: a finding kind the first time it is
/// found, and again only when it names a source or a server that no earlier announcement
/// of that kind named (more sources blocked, another server). A finding that goes away
/// and comes back with the same sources and servers is not announced again; its counts
/// growing (more failed queries) is not a material change. At most `maximumAddressesPerKind`
/// addresses are remembered per kind; past it, addresses are no longer news (no flood).
public struct FindingChangeDetector: Sendable {
    public static let maximumAddressesPerKind = 4_096
    private var announcedSources: [FindingKind: Set<IPAddress>] = [:]
    private var announcedServers: [FindingKind: Set<IPAddress>] = [:]

    public init() {}

    /// The announcements `findings` call for, remembered as announced.
    public mutating func announcements(for findings: [Finding]) -> [FindingAnnouncement] {
        var result: [FindingAnnouncement] = []
        for finding in findings {
            let isNew = announcedSources[finding.kind] == nil
            let newSources = Self.remember(finding.sources.map(\.ip), in: &announcedSources, kind: finding.kind)
            let newServers = Self.remember(finding.servers.map(\.ip), in: &announcedServers, kind: finding.kind)
            if isNew || !newSources.isEmpty || !newServers.isEmpty {
                result.append(FindingAnnouncement(finding: finding, isNew: isNew, newSources: newSources, newServers: newServers))
            }
        }
        return result
    }

    /// The addresses of `addresses` not yet in the set of `kind`, added to it (within the cap).
    private static func remember(
        _ addresses: [IPAddress], in sets: inout [FindingKind: Set<IPAddress>], kind: FindingKind
    ) -> [IPAddress] {
        var set = sets[kind] ?? []
        var added: [IPAddress] = []
        for address in addresses where !set.contains(address) && set.count < maximumAddressesPerKind {
            set.insert(address)
            added.append(address)
        }
        sets[kind] = set
        return added
    }
}

/// The diagnosis while a live capture runs: the findings over every closed transaction,
/// plus the queries already past their deadline but still held for a late answer (as
/// unanswered), so that a blocked source is found seconds after its deadline and not 30 s
/// later when the engine hands it over. Those held queries go into a copy of the
/// diagnoser, never the real one: the final report is exactly the offline one.
///
/// Cost: `findings` is called at most every `minimumInterval`, and only after something
/// changed; when one evaluation took t, the next waits at least 20 t, so diagnosis never
/// takes more than 5 % of the capture thread.
struct LiveDiagnosis {
    static let minimumInterval = Duration.seconds(5)
    /// Held queries remembered for the live findings; beyond, counted and left out until closed.
    static let maximumHeld = 10_000

    /// Identity of one transaction: what `onExpiry` saw and what `closed` hands over later.
    struct Key: Hashable {
        var client: Endpoint
        var server: Endpoint
        var transport: Transport
        var id: UInt16
        var firstTime: Timestamp

        init(_ transaction: Transaction) {
            client = transaction.client
            server = transaction.server
            transport = transaction.transport
            id = transaction.id
            firstTime = transaction.firstTime
        }
    }

    private(set) var diagnoser = Diagnoser()
    private var held: [Key: Transaction] = [:]
    private(set) var heldLeftOut = 0
    private var changed = false
    private var nextEvaluation = Timestamp(nanoseconds: .min)
    private(set) var detector = FindingChangeDetector()
    /// How long the last evaluation took (wall clock), for the adaptive pace.
    private(set) var lastCost = Duration(nanoseconds: 0)
    private(set) var evaluations = 0
    private(set) var totalCost = Duration(nanoseconds: 0)

    /// A transaction with its final outcome: into the real diagnoser, out of the held ones.
    mutating func closed(_ transaction: Transaction) {
        diagnoser.add(transaction)
        if transaction.wasShownAtDeadline || transaction.outcome == .late, !held.isEmpty {
            held.removeValue(forKey: Key(transaction))
        }
        changed = true
    }

    /// An unanswered query at its deadline, held by the engine for a late answer.
    mutating func expired(_ transaction: Transaction) {
        guard transaction.outcome == .unanswered else { return }  // A rejected one is closed at once.
        if held.count < Self.maximumHeld {
            held[Key(transaction)] = transaction
        } else {
            heldLeftOut += 1
        }
        changed = true
    }

    /// The current findings, computed now (for tests and the final check).
    func findings(context: DiagnosisContext) -> [Finding] {
        guard !held.isEmpty else { return diagnoser.findings(context: context) }
        var probe = diagnoser
        for transaction in held.values.sorted(by: { $0.lastTime < $1.lastTime }) { probe.add(transaction) }
        return probe.findings(context: context)
    }

    /// When due (something changed, the interval passed), the findings and the
    /// announcements they call for; nil when not due.
    mutating func evaluate(now: Timestamp, context: () -> DiagnosisContext) -> (findings: [Finding], announcements: [FindingAnnouncement])? {
        guard changed, now >= nextEvaluation else { return nil }
        changed = false
        let started = monotonicClock()
        let findings = findings(context: context())
        lastCost = monotonicClock() - started
        evaluations += 1
        totalCost = totalCost + lastCost
        let wait = max(Self.minimumInterval.nanoseconds, lastCost.nanoseconds.saturatingMultiply(20))
        nextEvaluation = now + Duration(nanoseconds: wait)
        return (findings, detector.announcements(for: findings))
    }
}

extension Int64 {
    /// `self * factor`, at `.max` instead of overflowing.
    func saturatingMultiply(_ factor: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        return overflow ? .max : product
    }
}
