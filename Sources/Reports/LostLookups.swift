import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// The failed lookups of a `--vantage` run that were lost between two vantage points: each
/// with its path (the first `maximumKept`), and how many per leg. Memory: bounded by
/// `maximumKept` lookups and the distinct legs (pairs of vantage names, at most 64²).
public struct LostLookups: Sendable {
    /// Lookups listed one by one; the rest are only counted per leg.
    public static let maximumKept = 1_000

    /// One lost lookup as the report lists it.
    public struct Lookup: Sendable {
        public var client: Endpoint
        public var server: Endpoint
        public var backend: Endpoint?
        public var transport: Transport
        public var id: UInt16
        public var qname: String
        public var qtype: DNSType
        public var attempts: Int
        public var firstFrame: Int
        public var firstTime: Timestamp
        public var path: VantagePath
    }

    /// A leg: the direction and the two vantages the message was last and next expected at.
    public struct Leg: Hashable, Comparable, Sendable {
        public var direction: PathLoss.Direction
        public var from: String
        public var to: String

        public static func < (lhs: Leg, rhs: Leg) -> Bool {
            (lhs.direction.rawValue, lhs.from, lhs.to) < (rhs.direction.rawValue, rhs.from, rhs.to)
        }
    }

    public private(set) var kept: [Lookup] = []
    public private(set) var byLeg: [Leg: Int] = [:]
    public var total: Int { byLeg.values.reduce(0, +) }

    public init() {}

    /// Records `transaction` if it was lost between vantages.
    mutating func add(_ transaction: Transaction) {
        guard let path = transaction.vantagePath, let lost = path.lost else { return }
        byLeg[Leg(direction: lost.direction, from: lost.lastSeenAt, to: lost.notSeenAt), default: 0] += 1
        guard kept.count < Self.maximumKept else { return }
        kept.append(Lookup(client: transaction.client, server: transaction.server, backend: transaction.backend,
                           transport: transaction.transport, id: transaction.id, qname: transaction.qname ?? "<no question>",
                           qtype: transaction.question?.type ?? DNSType(rawValue: 0), attempts: transaction.attemptCount,
                           firstFrame: transaction.attempts.first?.frame ?? 0, firstTime: transaction.firstTime, path: path))
    }
}

extension PathLoss {
    /// "lost on the way to node-a (query last seen at node-b)" as the reports word it.
    public var sentence: String {
        switch direction {
        case .query: "query last seen at \(lastSeenAt), never reached \(notSeenAt) (lost on the way there)"
        case .response: "answer last seen at \(lastSeenAt), never reached \(notSeenAt) (lost on the way back)"
        }
    }
}

extension VantagePath {
    /// "node-b (query; frames 89, 90) → node-a (nothing)" in path order.
    public var text: String {
        sightings.map { sighting in
            let seen = [sighting.query ? "query" : nil, sighting.response ? "answer" : nil].compactMap { $0 }
            let frames = sighting.frames.isEmpty ? "" : "; frames " + sighting.frames.map(String.init).joined(separator: ", ")
            return "\(sighting.name) (\(seen.isEmpty ? "nothing" : seen.joined(separator: ", "))\(frames))"
        }.joined(separator: " → ")
    }
}
