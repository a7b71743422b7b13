import WireCore

/// What one vantage point (a capture taken on one node) saw of a lookup: its query, its answer.
public struct VantageSighting: Hashable, Sendable {
    /// Frames listed per vantage (its query attempts' and answers' first copies).
    public static let maximumFrames = 16

    public var name: String
    public var query: Bool
    public var response: Bool
    /// Frames of the run (numbered on across vantages) where it saw the query attempts and
    /// answers, in capture order, at most `maximumFrames`.
    public var frames: [Int]

    public init(name: String, query: Bool, response: Bool, frames: [Int] = []) {
        self.name = name
        self.query = query
        self.response = response
        self.frames = frames
    }
}

/// Where a failed lookup died between two vantage points: the query (on its way from the
/// client's node to the server's) or the answer (on its way back) was last seen at one and
/// never reached the next.
public struct PathLoss: Hashable, Sendable {
    public enum Direction: String, Sendable {
        /// The forward leg: the query never reached the next vantage.
        case query
        /// The return leg: the server's answer never reached the next vantage.
        case response
    }

    public var direction: Direction
    public var lastSeenAt: String
    public var notSeenAt: String

    public init(direction: Direction, lastSeenAt: String, notSeenAt: String) {
        self.direction = direction
        self.lastSeenAt = lastSeenAt
        self.notSeenAt = notSeenAt
    }
}

/// A lookup seen from several vantage points (`--vantage`): each vantage's sightings in
/// path order (the client's node first, the server's node last) and, for a failed one,
/// the leg it was lost on.
public struct VantagePath: Hashable, Sendable {
    public var sightings: [VantageSighting]
    public var lost: PathLoss?

    public init(sightings: [VantageSighting], lost: PathLoss?) {
        self.sightings = sightings
        self.lost = lost
    }
}

extension Transaction {
    /// The vantage points that saw this lookup (multi-vantage runs only; nil otherwise).
    public var vantagePath: VantagePath? {
        @inlinable get { rare?.first?.vantagePath }
        set { rare.update { $0.vantagePath = newValue } }
    }

    /// The same transaction with every capture time moved by `offset`: a vantage's clock
    /// brought onto the reference vantage's. Times saturate instead of wrapping.
    public func shifted(by offset: Duration) -> Transaction {
        guard offset.nanoseconds != 0 else { return self }
        var moved = self
        func move(_ time: Timestamp) -> Timestamp { time + offset }
        for index in moved.attempts.indices { moved.attempts[index].time = move(moved.attempts[index].time) }
        if var response = moved.response {
            response.time = move(response.time)
            moved.response = response
        }
        moved.lastTime = move(moved.lastTime)
        if var rejection = moved.rejection {
            rejection.time = move(rejection.time)
            moved.rejection = rejection
        }
        if var fallback = moved.fallback {
            fallback.startTime = move(fallback.startTime)
            fallback.responseTime = fallback.responseTime.map(move)
            moved.fallback = fallback
        }
        return moved
    }
}
