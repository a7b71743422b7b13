import Attribution
import KubernetesWatch

/// A new directory (nil: the same as before) and notices, from a names source.
struct LiveNamesUpdate {
    var directory: ClusterDirectory?
    var notices: [String]
}

/// Where a live session's names come from besides `--pods` files: polled by the capture
/// thread every `EventStream.flushInterval`; must return at once (never waits on the network).
protocol LiveNamesSource: AnyObject {
    func takeNames() -> LiveNamesUpdate?
}

extension KubernetesNameWatcher: LiveNamesSource {
    func takeNames() -> LiveNamesUpdate? {
        takeUpdate().map { LiveNamesUpdate(directory: $0.directory, notices: $0.notices) }
    }
}

extension LiveSession {
    /// Names pods and Services from the API server (`--kubernetes`, `--kubeconfig`) as
    /// `watcher` publishes them; starts it. The capture does not wait for the first list.
    public func useNames(from watcher: KubernetesNameWatcher) {
        namesSource = watcher
        watcher.start()
    }
}
