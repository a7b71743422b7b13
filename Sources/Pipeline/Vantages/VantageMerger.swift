import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// One DNS message as every vantage that saw it identifies it, whatever the addresses:
/// kube-proxy's DNAT rewrites the server address, an overlay wraps the packet, the client's
/// port, the DNS id, question and transport stay.
struct MessageKey: Hashable {
    var id: UInt16
    var question: QuestionKey?
    var transport: Transport
    var clientPort: UInt16
    var isResponse: Bool
}

/// Where and when one vantage saw a message, and how often (only messages seen once are
/// used for clock estimation: a resent or reused key is ambiguous).
struct MessageSighting {
    var time: Timestamp
    var count: Int
    /// For a query: its answer's time minus its own at this vantage, when answered here.
    var roundTrip: Duration?
}

/// Merges the transactions of several vantage points (each analysed alone, on its own
/// clock) into one list of lookups: estimates each vantage's clock offset from the DNS
/// messages two vantages both saw, joins the sightings of one query across vantages into
/// one transaction (the one closest to the client, its times on the reference clock), and
/// says for a failed one on which leg it was lost.
///
/// Invariants: a vantage whose clock could not be matched is never merged with another;
/// every transaction of every vantage ends up in exactly one lookup.
struct VantageMerger {
    /// After clock correction, sightings of one query key further apart than this are
    /// different queries (a port and id reused later).
    static let matchWindow = Duration.seconds(2)
    /// Time differences kept per pair of vantages for the median.
    static let maximumSamplesPerPair = 100_000
    /// Entries of one message key compared with each other (a flood of one key stays linear).
    static let maximumComparisonsPerEntry = 64
    /// Server addresses whose vantage is remembered.
    static let maximumServerAddresses = 65_536

    let names: [String]
    /// Per vantage, the transactions its own analysis closed, on its own clock.
    let transactions: [[Transaction]]
    /// Per vantage, every query attempt and answer it saw, by key.
    let sightings: [[MessageKey: MessageSighting]]

    init(names: [String], transactions: [[Transaction]]) {
        self.names = names
        self.transactions = transactions
        sightings = transactions.map(Self.sightings)
    }

    /// Every query attempt and response of `list`, by key.
    private static func sightings(_ list: [Transaction]) -> [MessageKey: MessageSighting] {
        var table: [MessageKey: MessageSighting] = [:]
        func see(_ key: MessageKey, _ time: Timestamp, _ roundTrip: Duration?) {
            if var seen = table[key] {
                seen.count += 1
                table[key] = seen
            } else {
                table[key] = MessageSighting(time: time, count: 1, roundTrip: roundTrip)
            }
        }
        for transaction in list {
            for (index, attempt) in transaction.attempts.enumerated() {
                var roundTrip: Duration?
                if let response = transaction.response, response.attemptIndex == index, response.time >= attempt.time {
                    roundTrip = response.time - attempt.time
                }
                see(queryKey(transaction, attempt), attempt.time, roundTrip)
            }
            if let response = transaction.response, transaction.attempts.indices.contains(response.attemptIndex) {
                var key = queryKey(transaction, transaction.attempts[response.attemptIndex])
                key.isResponse = true
                see(key, response.time, nil)
            }
        }
        return table
    }

    static func queryKey(_ transaction: Transaction, _ attempt: Attempt) -> MessageKey {
        MessageKey(id: transaction.id, question: transaction.question, transport: transaction.transport,
                   clientPort: attempt.clientPort, isResponse: false)
    }

    // MARK: Merging

    /// A transaction of one vantage: where it is in `transactions`.
    private struct Member {
        var vantage: Int
        var index: Int
    }

    /// The lookups, each once, in the order of their first query on the reference clock.
    func merged(clocks: [VantageClock]) -> [Transaction] {
        var starts: [Int] = []
        var total = 0
        for list in transactions {
            starts.append(total)
            total += list.count
        }
        var parent = Array(0..<total)
        func root(_ node: Int) -> Int {
            var node = node
            while parent[node] != node {
                parent[node] = parent[parent[node]]
                node = parent[node]
            }
            return node
        }
        func offset(_ vantage: Int) -> Duration? { clocks.indices.contains(vantage) ? clocks[vantage].offset : nil }
        func onReference(_ time: Timestamp, _ vantage: Int) -> Timestamp {
            time + (Duration(nanoseconds: 0) - (offset(vantage) ?? Duration(nanoseconds: 0)))
        }
        // Query attempts of matched vantages by key, joined across vantages within the window.
        var byKey: [MessageKey: [(node: Int, vantage: Int, time: Timestamp)]] = [:]
        for vantage in transactions.indices where offset(vantage) != nil {
            for (index, transaction) in transactions[vantage].enumerated() {
                for attempt in transaction.attempts {
                    byKey[Self.queryKey(transaction, attempt), default: []]
                        .append((starts[vantage] + index, vantage, onReference(attempt.time, vantage)))
                }
            }
        }
        for (_, entries) in byKey where entries.count > 1 {
            let sorted = entries.sorted { $0.time < $1.time }
            for first in sorted.indices {
                var compared = 0
                var second = first + 1
                while second < sorted.count, compared < Self.maximumComparisonsPerEntry,
                      sorted[second].time - sorted[first].time <= Self.matchWindow {
                    if sorted[second].vantage != sorted[first].vantage {
                        let (left, right) = (root(sorted[first].node), root(sorted[second].node))
                        if left != right { parent[max(left, right)] = min(left, right) }
                    }
                    compared += 1
                    second += 1
                }
            }
        }
        byKey.removeAll()
        var groups: [Int: [Member]] = [:]
        for vantage in transactions.indices {
            for index in transactions[vantage].indices {
                groups[root(starts[vantage] + index), default: []].append(Member(vantage: vantage, index: index))
            }
        }
        let serverVantages = serverVantages(groups.values)
        var lookups: [(time: Timestamp, vantage: Int, frame: Int, transaction: Transaction)] = []
        lookups.reserveCapacity(groups.count)
        for members in groups.values {
            let lookup = lookup(members, clocks: clocks, serverVantages: serverVantages, onReference: onReference)
            lookups.append(lookup)
        }
        lookups.sort { ($0.time, $0.vantage, $0.frame) < ($1.time, $1.vantage, $1.frame) }
        return lookups.map(\.transaction)
    }

    /// Local round trip of a transaction at its vantage (answer minus the attempt it answered).
    private func roundTrip(_ transaction: Transaction) -> Duration? {
        guard let response = transaction.response, transaction.attempts.indices.contains(response.attemptIndex) else {
            return nil
        }
        let sent = transaction.attempts[response.attemptIndex].time
        return response.time >= sent ? response.time - sent : nil
    }

    /// The vantage each server address answers at: in lookups seen at several vantages, the
    /// one with the shortest round trip (the server's node sees the query arrive and the
    /// answer leave with no network between) — clock-independent. Majority per address.
    private func serverVantages(_ groups: Dictionary<Int, [Member]>.Values) -> [IPAddress: Int] {
        var votes: [IPAddress: [Int: Int]] = [:]
        for members in groups where Set(members.map(\.vantage)).count > 1 {
            var fastest: (vantage: Int, roundTrip: Duration)?
            for member in members {
                guard let trip = roundTrip(transactions[member.vantage][member.index]) else { continue }
                if fastest == nil || trip < (fastest?.roundTrip ?? trip) { fastest = (member.vantage, trip) }
            }
            guard let fastest else { continue }
            for member in members {
                let transaction = transactions[member.vantage][member.index]
                for address in [transaction.server.ip] + (transaction.backend.map { [$0.ip] } ?? []) {
                    guard votes[address] != nil || votes.count < Self.maximumServerAddresses else { continue }
                    votes[address, default: [:]][fastest.vantage, default: 0] += 1
                }
            }
        }
        return votes.compactMapValues { tally in
            tally.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        }
    }

    /// One lookup from the sightings of several vantages: the transaction of the vantage
    /// nearest the client, on the reference clock, with the path and, if it failed, the leg.
    private func lookup(
        _ members: [Member], clocks: [VantageClock], serverVantages: [IPAddress: Int],
        onReference: (Timestamp, Int) -> Timestamp
    ) -> (time: Timestamp, vantage: Int, frame: Int, transaction: Transaction) {
        // Per vantage: saw the query, saw an answer, its longest local round trip, first query time.
        struct Seen {
            var vantage: Int
            var response = false
            var roundTrip: Duration?
            var first: Timestamp
            var frames: [Int] = []
        }
        var seen: [Seen] = []
        for member in members {
            let transaction = transactions[member.vantage][member.index]
            let first = onReference(transaction.firstTime, member.vantage)
            let answered = transaction.response != nil || transaction.fallback?.responseTime != nil
            let frames = transaction.attempts.map(\.frame) + (transaction.response.map { [$0.frame] } ?? [])
            if let position = seen.firstIndex(where: { $0.vantage == member.vantage }) {
                seen[position].frames += frames
                seen[position].response = seen[position].response || answered
                if let trip = roundTrip(transaction), trip > (seen[position].roundTrip ?? trip) || seen[position].roundTrip == nil {
                    seen[position].roundTrip = trip
                }
                if first < seen[position].first { seen[position].first = first }
            } else {
                seen.append(Seen(vantage: member.vantage, response: answered, roundTrip: roundTrip(transaction), first: first,
                                 frames: frames))
            }
        }
        // Path order: the client's side first. A vantage that saw no answer is before those
        // that did (it is past where the answer died, or the query never got further); among
        // those that did, the longer the wait, the nearer the client.
        seen.sort { left, right in
            switch (left.roundTrip ?? (left.response ? nil : Duration(nanoseconds: .max)),
                    right.roundTrip ?? (right.response ? nil : Duration(nanoseconds: .max))) {
            case let (left?, right?) where left != right: return left > right
            default: return left.first < right.first
            }
        }
        // The transaction of the vantage nearest the client (its earliest there) speaks for the lookup.
        let nearest = seen.first?.vantage ?? members[0].vantage
        var representative = members[0]
        var representativeTime = Timestamp(nanoseconds: .max)
        for member in members where member.vantage == nearest {
            let first = transactions[member.vantage][member.index].firstTime
            if first < representativeTime {
                representative = member
                representativeTime = first
            }
        }
        let base = transactions[representative.vantage][representative.index]
        var transaction = base.shifted(by: Duration(nanoseconds: 0) - (clocks[representative.vantage].offset ?? Duration(nanoseconds: 0)))
        var path = seen.map {
            VantageSighting(name: names[$0.vantage], query: true, response: $0.response,
                            frames: Array($0.frames.sorted().prefix(VantageSighting.maximumFrames)))
        }
        let isMatched = clocks[representative.vantage].isMatched
        if isMatched, let server = (base.backend.flatMap { serverVantages[$0.ip] } ?? serverVantages[base.server.ip]),
           !seen.contains(where: { $0.vantage == server }) {
            path.append(VantageSighting(name: names[server], query: false, response: false))
        }
        transaction.vantagePath = VantagePath(sightings: path, lost: base.outcome == .unanswered ? Self.lostLeg(path) : nil)
        return (onReference(base.firstTime, representative.vantage), representative.vantage,
                base.attempts.first?.frame ?? base.response?.frame ?? 0, transaction)
    }

    /// The leg a failed lookup died on, from its sightings in path order: the query stops
    /// at the first vantage that did not see it; if all saw it and the farthest saw the
    /// answer, the answer stops on its way back at the first vantage that did not see it.
    /// nil when nothing was lost between vantages (the server never answered, or one vantage).
    static func lostLeg(_ path: [VantageSighting]) -> PathLoss? {
        if let missing = path.firstIndex(where: { !$0.query }) {
            guard missing > 0 else { return nil }
            return PathLoss(direction: .query, lastSeenAt: path[missing - 1].name, notSeenAt: path[missing].name)
        }
        let back = Array(path.reversed())
        guard let farthest = back.first, farthest.response,
              let missing = back.firstIndex(where: { !$0.response }) else { return nil }
        return PathLoss(direction: .response, lastSeenAt: back[missing - 1].name, notSeenAt: back[missing].name)
    }
}
