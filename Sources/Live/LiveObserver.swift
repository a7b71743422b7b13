import Capture
import Diagnosis
import Transactions
import WireCore

/// Watches a running `LiveSession` without changing its loop: the hook for `--metrics`
/// (Prometheus counters and gauges) and for `--export-on-finding` (a ring of recent packets
/// with its evidence triggers). Register with `LiveSession.add(_:)` before `run()`.
///
/// Every method is called on the capture thread, in capture order, and must return
/// quickly: no I/O, no waiting on a lock another thread holds for long. An observer that
/// serves what it saw to another thread (an HTTP scrape) copies it under its own lock.
/// Every method has an empty default, so an observer implements only what it needs.
///
/// What each sees:
/// - `captured`: every frame, before analysis; the bytes are valid only during the call
///   (copy what must outlive it). For a packet ring.
/// - `transactionClosed`: every transaction exactly once, with its final outcome, in the
///   order they close: exactly what the final report counts (queries, responses by
///   rcode, latency, TCP fallbacks, unanswered by source).
/// - `queryExpired`: a query the moment its deadline passes unanswered or rejected (before
///   the engine waits `TransactionEngine.lateWindow` for a late answer). The same
///   transaction reaches `transactionClosed` later (as `unanswered`, `rejected` or `late`):
///   count one or the other, not both.
/// - `statusTick`: about once a second, the capture's counters (`LiveStatus`: frames,
///   kernel and interface drops, malformed DNS by reason, queries in flight, the engine's
///   statistics), and once more after the stop.
/// - `findingsChanged`: the current findings whenever they differ from the previous
///   evaluation (kinds, sources or servers), with the announcements (new or materially
///   changed findings) the human stream prints as FINDING lines.
public protocol LiveObserver: AnyObject {
    func captured(frame: CapturedFrame, linkType: LinkType, snapshotLength: Int)
    func transactionClosed(_ transaction: Transaction)
    func queryExpired(_ transaction: Transaction)
    func statusTick(_ status: LiveStatus)
    func findingsChanged(_ findings: [Finding], announcements: [FindingAnnouncement])
    func wholeRingRequested()
}

extension LiveObserver {
    public func captured(frame: CapturedFrame, linkType: LinkType, snapshotLength: Int) {}
    public func transactionClosed(_ transaction: Transaction) {}
    public func queryExpired(_ transaction: Transaction) {}
    public func statusTick(_ status: LiveStatus) {}
    public func findingsChanged(_ findings: [Finding], announcements: [FindingAnnouncement]) {}
    public func wholeRingRequested() {}
}
