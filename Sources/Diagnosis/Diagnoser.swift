import Attribution
import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// Runs the diagnosis rules (Rules/, one file per finding kind) over the stream of closed
/// transactions: each transaction goes once into the shared `Observations` and then to
/// every rule that watches transactions; at the end every rule is asked for its findings.
/// Memory is bounded by the number of distinct sources and servers (capped), never by the
/// number of transactions.
///
/// Adding a rule: a file in Rules/ with a type conforming to `DiagnosisRule`, its kind in
/// `FindingKind`, and one line in `add` (if it watches transactions) and in `findings`.
public struct Diagnoser {
    /// Sources tracked; beyond this, new sources are counted (`untrackedSources`) but not
    /// diagnosed. Each costs about 10 KB at worst with its examples and per-server counts
    /// (measured: scripts/bench-memory), so 250 MB.
    public static let maximumSources = 25_000
    /// Servers counted per source; a source's queries to further servers count in its
    /// totals only (a scanner or a resolver asking thousands of servers).
    public static let maximumServersPerSource = 256
    /// Server addresses whose answers are tracked (which sources they answered, SERVFAIL
    /// and late answers); at most 1,024 answered sources each, about 40 KB: 400 MB at
    /// worst, reached only with 10 M answered queries from distinct (source, server) pairs.
    public static let maximumServers = 10_000
    /// Frames kept per finding for the evidence capture.
    public static let maximumFramesPerSource = 2_000
    /// Examples a finding quotes (the first ones).
    public static let maximumExamples = 5
    /// A retry this long after the first attempt is a resolver timeout, not a burst.
    public static let minimumRetryGap = Duration(nanoseconds: 900_000_000)
    /// An answer later than this counts as slow for the upstream rule.
    public static let lateAnswer = Duration(nanoseconds: 2_000_000_000)
    /// How long NXDOMAIN answers are remembered while waiting for the real name.
    public static let searchWindow = SearchPathAmplificationRule.searchWindow
    public static let maximumSearchBases = SearchPathAmplificationRule.maximumSearchBases
    public static let maximumSearchBasesInAll = SearchPathAmplificationRule.maximumSearchBasesInAll

    private var observations = Observations()
    private var tcpBlocked = TCPBlockedRule()
    private var parallelQueryLoss = ParallelQueryLossRule()
    private var upstreamTimeout = UpstreamTimeoutRule()
    private var lateAnswers = LateAnswersRule()
    private var resolverThrottled = ResolverThrottledRule()
    private var serverRefused = ServerRefusedRule()
    private var searchPath = SearchPathAmplificationRule()

    /// Transactions of sources beyond `maximumSources`, counted but not diagnosed.
    public var untrackedSources: Int { observations.untrackedSources }
    /// Answers from servers beyond `maximumServers`: counted for their source, not for the server.
    public var untrackedServerAnswers: Int { observations.untrackedServerAnswers }
    /// Search-path prefixes held now, over all sources (for tests).
    var searchPrefixesHeld: Int { searchPath.prefixesHeld }
    var searchEvidenceHeld: Int { searchPath.evidenceHeld }

    public init() {}

    public mutating func add(_ transaction: Transaction) {
        switch transaction.outcome {
        case .multicast:
            // Multicast silence proves nothing.
            return
        case .inFlight:
            // No failure; only an upstream query long in flight at the end says something.
            upstreamTimeout.observeInFlight(transaction)
            return
        default:
            break
        }
        guard let slot = observations.add(transaction) else { return }
        searchPath.prefetch(transaction, source: slot)
        tcpBlocked.observe(transaction, source: slot)
        parallelQueryLoss.observe(transaction, source: slot)
        upstreamTimeout.observe(transaction, source: slot)
        lateAnswers.observe(transaction, source: slot)
        resolverThrottled.observe(transaction, source: slot)
        serverRefused.observe(transaction, source: slot)
        searchPath.observe(transaction, source: slot)
    }

    /// The findings, most important kind first.
    public func findings(context: DiagnosisContext) -> [Finding] {
        let rules: [any DiagnosisRule] = [
            EgressBlockedRule(), PathLossRule(), NodeLocalBlockedRule(), BackendUnreachableRule(), tcpBlocked, parallelQueryLoss,
            upstreamTimeout, lateAnswers, resolverThrottled, serverRefused, searchPath, CaptureIncompleteRule(),
        ]
        let observed = ObservedState(observations, context: context)
        return rules.flatMap { $0.findings(observed, context) }.enumerated()
            .sorted { ($0.element.kind, $0.offset) < ($1.element.kind, $1.offset) }
            .map(\.element)
    }
}
