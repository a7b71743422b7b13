import Attribution
import Synchronization

/// The objects every watched collection holds now, the pods deleted within the grace
/// period, and the notices for the user: shared by the collection watches (writers) and
/// the directory builder (reader). Each collection's objects are replaced whole by a list
/// and changed one by one by watch events.
final class WatchedObjects: Sendable {
    struct Name: Hashable, Sendable {
        var namespace: String
        var name: String
    }

    private struct Departed {
        var object: KubernetesObject
        var until: ContinuousClock.Instant
    }

    private struct State {
        var live: [[Name: KubernetesObject]]
        var departed: [Int: [Name: Departed]] = [:]
        var listed: Set<Int> = []
        var changed = false
        var notices: [String] = []
        var droppedNotices = 0
        var skippedEvents: [Int: Int] = [:]
        var refusedObjects: [Int: Int] = [:]
        var refusedDeparted = 0
    }

    /// Notices kept until the live loop takes them; more are counted, not kept.
    static let maximumPendingNotices = 50
    /// Objects kept per collection (every pod of a 100,000-pod cluster without `--node`);
    /// more are refused and counted: their addresses stay unnamed.
    static let maximumObjectsPerCollection = 150_000
    /// Deleted objects kept for their grace period, in all; more are forgotten at once, counted.
    static let maximumDeparted = 50_000

    let deletionGrace: Duration
    private let state: Mutex<State>

    init(collections: Int, deletionGrace: Duration) {
        self.deletionGrace = deletionGrace
        state = Mutex(State(live: Array(repeating: [:], count: collections)))
    }

    /// A list replaced `collection`: what it no longer holds departs (deleted while unwatched).
    func replace(_ collection: Int, with objects: [KubernetesObject], now: ContinuousClock.Instant) {
        let grace = deletionGrace
        state.withLock { state in
            guard state.live.indices.contains(collection) else { return }
            var fresh: [Name: KubernetesObject] = [:]
            var refused = 0
            for object in objects {
                guard fresh.count < Self.maximumObjectsPerCollection else { refused += 1; continue }
                fresh[Name(namespace: object.namespace, name: object.name)] = object
            }
            if refused > 0 { Self.refuse(refused, in: collection, state: &state) }
            for (name, object) in state.live[collection] where fresh[name] == nil {
                Self.depart(object, name: name, from: collection, until: now + grace, state: &state)
            }
            for name in fresh.keys { state.departed[collection]?[name] = nil }
            state.live[collection] = fresh
            state.listed.insert(collection)
            state.changed = true
        }
    }

    /// Applies one watch event to `collection`.
    func apply(_ event: WatchEvent, to collection: Int, now: ContinuousClock.Instant) {
        let grace = deletionGrace
        state.withLock { state in
            guard state.live.indices.contains(collection) else { return }
            switch event {
            case .added(let object), .modified(let object):
                let name = Name(namespace: object.namespace, name: object.name)
                guard state.live[collection][name] != nil || state.live[collection].count < Self.maximumObjectsPerCollection else {
                    return Self.refuse(1, in: collection, state: &state)
                }
                state.live[collection][name] = object
                state.departed[collection]?[name] = nil
            case .deleted(let object):
                let name = Name(namespace: object.namespace, name: object.name)
                state.live[collection][name] = nil
                Self.depart(object, name: name, from: collection, until: now + grace, state: &state)
            case .bookmark, .error:
                return
            }
            state.changed = true
        }
    }

    /// Keeps a notice for the live loop (at most `maximumPendingNotices` waiting).
    func note(_ text: String) {
        state.withLock { Self.note(text, state: &$0) }
    }

    private static func note(_ text: String, state: inout State) {
        if state.notices.count < maximumPendingNotices {
            state.notices.append(text)
        } else {
            state.droppedNotices += 1
        }
    }

    /// A watch line that is not a readable event: counted, said at the 1st, 10th, 100th, ...
    func skippedEvent(in collection: Int, label: String) {
        state.withLock { state in
            let count = state.skippedEvents[collection, default: 0] + 1
            state.skippedEvents[collection] = count
            if Self.isPowerOfTen(count) {
                Self.note("Kubernetes API: \(label): \(count) unreadable watch event(s) skipped", state: &state)
            }
        }
    }

    /// Unreadable events skipped so far, by collection.
    var skippedEventCounts: [Int: Int] { state.withLock { $0.skippedEvents } }

    private static func refuse(_ count: Int, in collection: Int, state: inout State) {
        let before = state.refusedObjects[collection, default: 0]
        state.refusedObjects[collection] = before + count
        if before == 0 {
            note("Kubernetes API: more than \(maximumObjectsPerCollection) objects in one watch; the rest are not kept (their addresses stay unnamed)", state: &state)
        }
    }

    private static func depart(_ object: KubernetesObject, name: Name, from collection: Int,
                               until: ContinuousClock.Instant, state: inout State) {
        let held = state.departed.values.reduce(0) { $0 + $1.count }
        guard held < maximumDeparted else { state.refusedDeparted += 1; return }
        state.departed[collection, default: [:]][name] = Departed(object: object, until: until)
    }

    private static func isPowerOfTen(_ number: Int) -> Bool {
        var value = number
        while value >= 10 && value % 10 == 0 { value /= 10 }
        return value == 1
    }

    /// The notices waiting, once.
    func takeNotices() -> [String] {
        state.withLock { state in
            defer { state.notices = []; state.droppedNotices = 0 }
            guard state.droppedNotices > 0 else { return state.notices }
            return state.notices + ["Kubernetes API: \(state.droppedNotices) more notices not shown"]
        }
    }

    /// True once every collection was listed at least once.
    var allListed: Bool {
        state.withLock { $0.listed.count == $0.live.count }
    }

    /// The objects to build a directory from, when something changed since the last call or
    /// a departed pod's grace ran out (it is then dropped); nil otherwise. Departed objects
    /// that a collection holds again are not repeated.
    func takeChanges(now: ContinuousClock.Instant) -> (live: [KubernetesObject], departed: [KubernetesObject])? {
        state.withLock { state in
            for (collection, names) in state.departed {
                let kept = names.filter { $0.value.until > now }
                if kept.count != names.count {
                    state.departed[collection] = kept
                    state.changed = true
                }
            }
            guard state.changed else { return nil }
            state.changed = false
            var liveNames: Set<Name> = []
            var live: [KubernetesObject] = []
            for collection in state.live {
                for (name, object) in collection.sorted(by: { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }) {
                    liveNames.insert(name)
                    live.append(object)
                }
            }
            var departed: [KubernetesObject] = []
            for (_, names) in state.departed.sorted(by: { $0.key < $1.key }) {
                for (name, entry) in names.sorted(by: { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) })
                where !liveNames.contains(name) {
                    departed.append(entry.object)
                }
            }
            return (live, departed)
        }
    }

    /// How many objects are held now: live per collection, departed in all.
    var counts: (live: [Int], departed: Int) {
        state.withLock { state in
            (state.live.map(\.count), state.departed.values.reduce(0) { $0 + $1.count })
        }
    }
}
