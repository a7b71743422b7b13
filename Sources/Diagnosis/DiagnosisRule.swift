import Transactions

/// One finding kind, in its own file under Rules/: what it watches in the stream of
/// closed transactions, and when the pattern it knows is there.
///
/// The diagnoser feeds every rule each transaction after the shared `Observations`
/// took it in, then asks each for its findings. A rule keeps only bounded state.
protocol DiagnosisRule {
    /// The kind of every finding it makes.
    static var kind: FindingKind { get }
    /// Sees a closed transaction (not multicast, not in flight) of a tracked source (`slot`).
    mutating func observe(_ transaction: Transaction, source slot: Int)
    /// Its findings: none, one, or one per culprit (a server, a leg).
    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding]
}

extension DiagnosisRule {
    mutating func observe(_ transaction: Transaction, source slot: Int) {}
}
