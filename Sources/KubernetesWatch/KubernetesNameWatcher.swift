import Attribution
import NIOCore
import PacketDecoding
import Synchronization

/// Which objects name the addresses a node's capture sees: the pods on this node, the DNS
/// servers' pods wherever they run, and every Service (ClusterIPs). Without a node, every pod.
public struct WatchScope: Sendable, Equatable {
    /// `spec.nodeName` of the pods to watch (`--node`, or NODE_NAME from the downward API).
    public var node: String?
    /// Label selectors of the DNS servers' pods (CoreDNS and kube-dns by their usual labels).
    public var dnsPodSelectors = ["k8s-app in (kube-dns,coredns)", "app.kubernetes.io/name=coredns"]

    public init(node: String?) {
        self.node = node.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The collections listed and watched, in the order the directory reads them.
    var collections: [CollectionWatch] {
        var result: [CollectionWatch] = []
        if let node {
            result.append(CollectionWatch(index: 0, path: "/api/v1/pods", kind: "Pod",
                                          selectors: [("fieldSelector", "spec.nodeName=\(node)")], label: "pods on node \(node)"))
            for selector in dnsPodSelectors {
                result.append(CollectionWatch(index: result.count, path: "/api/v1/pods", kind: "Pod",
                                              selectors: [("labelSelector", selector)], label: "DNS pods (\(selector))"))
            }
        } else {
            result.append(CollectionWatch(index: 0, path: "/api/v1/pods", kind: "Pod", selectors: [], label: "pods"))
        }
        result.append(CollectionWatch(index: result.count, path: "/api/v1/services", kind: "Service", selectors: [],
                                      label: "Services"))
        return result
    }
}

/// The timings of the watch; the defaults suit a real cluster, tests shorten them.
public struct WatchTiming: Sendable {
    /// How long a deleted pod keeps naming its address (late answers, queries at their deadline).
    public var deletionGrace = Duration.seconds(60)
    /// The first wait after a failure; it doubles up to `maximumBackoff`.
    public var initialBackoff = Duration.milliseconds(500)
    public var maximumBackoff = Duration.seconds(30)
    /// `timeoutSeconds` asked of each watch (picked at random in the range, as client-go
    /// does, so the nodes' watches do not all end at once).
    public var watchSeconds = 300...600
    /// Connecting (TCP and TLS) gives up after this.
    public var connectTimeout = TimeAmount.seconds(10)
    /// A list page's deadline, and the margin added to a watch's own.
    public var listTimeout = TimeAmount.seconds(60)
    /// `limit` of each list page.
    public var listPageSize = 500
    /// How often the builder looks for changes to publish (and for grace periods that ended).
    public var publishInterval = Duration.milliseconds(200)

    public init() {}
}

/// What changed since the live loop last looked: a new directory (pods and Services as
/// watched now, plus `--dns-server` addresses) and notices for the user.
public struct NamesUpdate: Sendable {
    public var directory: ClusterDirectory?
    public var notices: [String]
}

/// Keeps a `ClusterDirectory` current from the API server without ever blocking the
/// capture: each collection is listed and watched on a task of its own, a builder task
/// turns the watched objects into a new immutable directory at most every
/// `publishInterval`, and the capture thread takes the latest with `takeUpdate()` (a lock
/// held only to swap a value). Until the first lists arrive the capture goes on unnamed.
public final class KubernetesNameWatcher: Sendable {
    public let scope: WatchScope
    public let server: String
    private let client: APIClient
    private let store: WatchedObjects
    private let timing: WatchTiming
    private let dnsServers: [IPAddress]
    private let collections: [CollectionWatch]
    private let published: Mutex<Published>
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// The `DedicatedExecutor` the tasks run on (typed `AnyObject` for the availability check).
    private let executor: Mutex<AnyObject?> = Mutex(nil)

    private struct Published {
        var directory: ClusterDirectory?
        var fresh = false
        var announcedSync = false
        var builds = 0
    }

    /// Checks the credentials (CA, client certificate); starts nothing yet.
    public init(connection: APIServerConnection, scope: WatchScope, dnsServers: [IPAddress] = [],
                timing: WatchTiming = WatchTiming()) throws(KubernetesWatchError) {
        self.scope = scope
        server = connection.server
        self.timing = timing
        self.dnsServers = dnsServers
        collections = scope.collections
        store = WatchedObjects(collections: collections.count, deletionGrace: timing.deletionGrace)
        let longestWatch = Int64(timing.watchSeconds.upperBound)
        client = try APIClient(connection: connection, connectTimeout: timing.connectTimeout, readTimeout: .seconds(longestWatch) + timing.listTimeout)
        published = Mutex(Published())
    }

    /// Starts the watches and the builder (once), on a thread of their own.
    public func start() {
        tasks.withLock { tasks in
            guard tasks.isEmpty else { return }
            var jobs: [@Sendable () async -> Void] = []
            for collection in collections {
                let client = client, store = store, timing = timing
                jobs.append { await collection.run(client: client, store: store, timing: timing) }
            }
            jobs.append { [self] in await buildLoop() }
            if #available(macOS 15.0, *) {
                let dedicated = DedicatedExecutor(name: "dnstrail-kubernetes")
                executor.withLock { $0 = dedicated }
                tasks = jobs.map { job in Task(executorPreference: dedicated) { await job() } }
            } else {
                tasks = jobs.map { job in Task.detached { await job() } }
            }
        }
    }

    /// The latest directory and notices since the last call; nil when nothing is new.
    public func takeUpdate() -> NamesUpdate? {
        let notices = store.takeNotices()
        let directory: ClusterDirectory? = published.withLock { state in
            guard state.fresh else { return nil }
            state.fresh = false
            return state.directory
        }
        if directory == nil && notices.isEmpty { return nil }
        return NamesUpdate(directory: directory, notices: notices)
    }

    /// The directory published last (nil before the first list), for tests and status.
    public var currentDirectory: ClusterDirectory? { published.withLock { $0.directory } }

    /// Directories built so far.
    public var buildCount: Int { published.withLock { $0.builds } }

    /// Stops the watches and closes the connections.
    public func shutdown() async {
        let running = tasks.withLock { tasks in defer { tasks = [] }; return tasks }
        for task in running { task.cancel() }
        for task in running { await task.value }
        await client.shutdown()
        if #available(macOS 15.0, *) {
            let dedicated = executor.withLock { state in defer { state = nil }; return state }
            (dedicated as? DedicatedExecutor)?.stop()
        }
    }

    /// Stops from synchronous code (the CLI at the end of a run); waits at most `limit`.
    public func stop(waitingAtMost limit: Duration = .seconds(5)) {
        let done = Atomic<Bool>(false)
        Task.detached { [self] in
            await shutdown()
            done.store(true, ordering: .releasing)
        }
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while !done.load(ordering: .acquiring) && clock.now < deadline {
            usleepMilliseconds(10)
        }
    }

    private func buildLoop() async {
        while !Task.isCancelled {
            if let (live, departed) = store.takeChanges(now: .now) {
                var directory = ClusterDirectory(objects: live, departed: departed)
                for server in dnsServers { directory.addDNSServer(server) }
                let counts = store.counts
                let announce = store.allListed && published.withLock { state in
                    defer { state.announcedSync = true }
                    return !state.announcedSync
                }
                published.withLock { state in
                    state.directory = directory
                    state.fresh = true
                    state.builds += 1
                }
                if announce {
                    let sizes = zip(collections, counts.live).map { "\($0.1) \($0.0.label)" }.joined(separator: ", ")
                    store.note("Kubernetes API: watching \(server): \(sizes)")
                }
            }
            do { try await Task.sleep(for: timing.publishInterval) } catch { return }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

private func usleepMilliseconds(_ milliseconds: UInt32) {
    usleep(milliseconds * 1000)
}
