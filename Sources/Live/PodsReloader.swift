#if canImport(Glibc)
import Glibc
#endif
import Attribution
import Foundation
import PacketDecoding
import Synchronization
import WireCore

/// Keeps the `--pods` names current over a long run: the files are re-read when one of
/// them changes (device, inode, size or modification time, checked at most every
/// `checkInterval`: a `kubectl get ... > file` rewrite or an atomic rename) and on request
/// (SIGHUP). Reading runs on a thread of its own, so a 60 MB file never stalls the capture;
/// the capture thread picks up the result with `takeResult`. A file that fails to read
/// (half written, gone) leaves the previous names in place, with a notice; it is tried
/// again when it changes again or on the next SIGHUP. Standard input (`-`) is read once.
public final class PodsReloader: Sendable {
    public static let checkInterval = Duration.seconds(2)

    /// What a file looked like when it was last read: any change means "read it again".
    struct Signature: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    /// The outcome of one reload, for the capture thread.
    public enum Outcome: Sendable {
        case reloaded(ClusterDirectory)
        case failed(String)
    }

    private struct State {
        var signatures: [Signature?]
        var reading = false
        var outcome: Outcome?
        var lastCheck = Timestamp(nanoseconds: .min)
    }

    public let paths: [String]
    /// Addresses given with `--dns-server`, added to every reloaded directory.
    public let dnsServers: [IPAddress]
    private let state: Mutex<State>

    /// Watches `paths` (as read at start: their current state is the baseline).
    public init(paths: [String], dnsServers: [IPAddress]) {
        self.paths = paths.filter { $0 != "-" }
        self.dnsServers = dnsServers
        state = Mutex(State(signatures: self.paths.map(Self.signature)))
    }

    /// True when there is a file to watch.
    public var isWatching: Bool { !paths.isEmpty }

    /// Starts a reload on its own thread when a file changed since it was last read (looked
    /// at most every `checkInterval`), or at once when `force` (SIGHUP); does nothing while
    /// one is running.
    public func check(now: Timestamp, force: Bool = false) {
        guard isWatching else { return }
        let watched = paths
        let start: [Signature?]? = state.withLock { state in
            guard !state.reading else { return nil }
            guard force || now >= state.lastCheck + Self.checkInterval || now < state.lastCheck else { return nil }
            state.lastCheck = now
            let current = watched.map(Self.signature)
            guard force || current != state.signatures else { return nil }
            state.reading = true
            state.signatures = current
            return current
        }
        guard start != nil else { return }
        let dnsServers = dnsServers
        let thread = Thread { [self] in
            let outcome: Outcome
            do throws(AttributionError) {
                var directory = try ClusterDirectory.load(paths: watched)
                for server in dnsServers { directory.addDNSServer(server) }
                outcome = .reloaded(directory)
            } catch {
                outcome = .failed(error.description)
            }
            self.state.withLock { state in
                state.outcome = outcome
                state.reading = false
            }
        }
        thread.start()
    }

    /// The outcome of the last reload, once (nil while none finished since the last call).
    public func takeResult() -> Outcome? {
        state.withLock { state in
            defer { state.outcome = nil }
            return state.outcome
        }
    }

    /// The file's identity, size and modification time; nil when it cannot be looked at.
    static func signature(_ path: String) -> Signature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Signature(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                         modifiedSeconds: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }
}
