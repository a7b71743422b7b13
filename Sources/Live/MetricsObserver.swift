import Attribution
import DNSMetrics
import Diagnosis
import Transactions

/// Feeds `live --metrics` (`LiveMetrics`) from the session's observer hook, on the capture
/// thread: every closed transaction, every query at its deadline, the counters of each
/// status tick, the findings, and the pod names in effect after a `--pods` reload.
public final class MetricsObserver: LiveObserver {
    public let metrics: LiveMetrics
    private weak var session: LiveSession?

    public init(metrics: LiveMetrics, session: LiveSession) {
        self.metrics = metrics
        self.session = session
    }

    public func transactionClosed(_ transaction: Transaction) { metrics.record(closed: transaction) }

    public func queryExpired(_ transaction: Transaction) { metrics.record(expired: transaction) }

    public func statusTick(_ status: LiveStatus) {
        metrics.update(status: MetricsStatus(
            packets: status.frames, kernelDropped: status.kernel?.dropped ?? 0,
            interfaceDropped: status.kernel?.interfaceDropped ?? 0,
            pipelineDropped: UInt64(max(0, status.pipelineDrops?.messages ?? 0)), malformed: status.packets.malformedDNS,
            inFlight: status.waiting))
        if let session { metrics.update(directory: session.directory) }
    }

    public func findingsChanged(_ findings: [Finding], announcements: [FindingAnnouncement]) {
        metrics.update(findings: findings)
    }
}

extension LiveSession {
    /// Serves Prometheus metrics of this session at `address` (`/metrics`) until `stop()` on
    /// the returned server; the session feeds them as it runs.
    public func serveMetrics(at address: MetricsAddress, version: String) throws(MetricsServerError) -> MetricsServer {
        let metrics = LiveMetrics(version: version, directory: directory)
        add(MetricsObserver(metrics: metrics, session: self))
        return try MetricsServer.start(address: address, metrics: metrics)
    }
}
