#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Attribution
import NIOCore

/// One watched collection (`/api/v1/pods` with a field or label selector, `/api/v1/services`):
/// list, then watch from the list's resourceVersion; resume a dropped or ended watch from
/// the last version seen (bookmarks included); list again on 410 Gone (an HTTP 410 or a
/// watch ERROR event with code 410); after a failure wait with capped exponential backoff.
struct CollectionWatch: Sendable {
    /// Its index in `WatchedObjects`.
    var index: Int
    /// `/api/v1/pods`.
    var path: String
    /// The kind its items are (`Pod`), for objects that do not say.
    var kind: String
    /// `fieldSelector`, `labelSelector`.
    var selectors: [(String, String)]
    /// For notices: `pods on node-a`, `Services`.
    var label: String

    /// How a watch ended without an error.
    enum WatchEnd {
        /// The server closed it (its `timeoutSeconds`): watch again from the last version.
        case ended
        /// 410 Gone: the version is too old; list again.
        case gone(String)
    }

    /// Lists and watches until the task is cancelled.
    func run(client: APIClient, store: WatchedObjects, timing: WatchTiming) async {
        var resourceVersion: String?
        var backoff = Backoff(initial: timing.initialBackoff, maximum: timing.maximumBackoff)
        var lastFailure: String?
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    resourceVersion = try await list(client: client, store: store, timing: timing)
                    backoff.reset()
                }
                var delivered = false
                let end = try await watch(client: client, store: store, timing: timing,
                                          resourceVersion: &resourceVersion, delivered: &delivered)
                if delivered { backoff.reset() }
                if let failure = lastFailure {
                    store.note("Kubernetes API: \(label): watching again after: \(failure)")
                    lastFailure = nil
                }
                switch end {
                case .gone(let status):
                    store.note("Kubernetes API: \(label): watch expired (\(status)), listing again")
                    resourceVersion = nil
                    // Gone again at once, with nothing in between: not a tight loop of lists.
                    if !delivered { do { try await Task.sleep(for: backoff.next()) } catch { return } }
                case .ended where !delivered:
                    // Ended at once with nothing in it: not a tight loop against the server.
                    do { try await Task.sleep(for: backoff.next()) } catch { return }
                case .ended:
                    break
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                if case APIClientError.status(410, _) = error, resourceVersion != nil {
                    // The watch's version is too old: list again at once (a list's own 410,
                    // an expired `continue`, waits like any failure).
                    store.note("Kubernetes API: \(label): \(error), listing again")
                    resourceVersion = nil
                    continue
                }
                let delay = backoff.next()
                let text = Self.describe(error)
                if text != lastFailure {
                    store.note("Kubernetes API: \(label): \(text); trying again in \(Self.seconds(delay)) (and with backoff up to \(Self.seconds(timing.maximumBackoff)))")
                    lastFailure = text
                }
                do { try await Task.sleep(for: delay) } catch { return }
            }
        }
    }

    /// Every page of the list; replaces the collection's objects; returns the list's version.
    func list(client: APIClient, store: WatchedObjects, timing: WatchTiming) async throws -> String? {
        var objects: [KubernetesObject] = []
        var continueToken: String?
        var version: String?
        repeat {
            var query = selectors + [("limit", String(timing.listPageSize))]
            if let continueToken { query.append(("continue", continueToken)) }
            let response = try await client.get(url: client.url(path: path, query: query),
                                                deadline: .now() + timing.listTimeout)
            let bytes = try await APIClient.collect(response.body, limit: APIClient.maximumListBytes)
            guard response.status == 200 else { throw Self.statusError(response.status, bytes) }
            let page: KubernetesObjectList
            do {
                page = try JSONDecoder().decode(KubernetesObjectList.self, from: Data(bytes))
            } catch {
                throw WatchFailure.unreadableList
            }
            objects += page.items.map { $0.assuming(kind: kind) }
            version = page.resourceVersion
            continueToken = page.continueToken
        } while continueToken != nil
        store.replace(index, with: objects, now: .now)
        return version
    }

    /// One watch request, applied event by event until the server ends it.
    func watch(
        client: APIClient, store: WatchedObjects, timing: WatchTiming,
        resourceVersion: inout String?, delivered: inout Bool
    ) async throws -> WatchEnd {
        let seconds = Int.random(in: timing.watchSeconds)
        var query = selectors + [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(seconds))]
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        let response = try await client.get(url: client.url(path: path, query: query),
                                            deadline: .now() + .seconds(Int64(seconds)) + timing.listTimeout)
        guard response.status == 200 else {
            let bytes = try await APIClient.collect(response.body, limit: APIClient.maximumEventBytes)
            throw Self.statusError(response.status, bytes)
        }
        var splitter = LineSplitter(limit: APIClient.maximumEventBytes)
        for try await buffer in response.body {
            for line in try splitter.lines(adding: buffer.readableBytesView) {
                guard let event = WatchEvent.decode(line) else {
                    store.skippedEvent(in: index, label: label)
                    continue
                }
                switch event {
                case .added(let object), .modified(let object), .deleted(let object):
                    if let version = object.resourceVersion { resourceVersion = version }
                    store.apply(event.assuming(kind: kind), to: index, now: .now)
                    delivered = true
                case .bookmark(let version):
                    if let version { resourceVersion = version }
                    delivered = true
                case .error(let status):
                    if status.isGone { return .gone(status.summary) }
                    throw WatchFailure.errorEvent(status.summary)
                }
            }
        }
        if splitter.unfinishedCount > 0 { throw WatchFailure.cutMidEvent }
        return .ended
    }

    static func statusError(_ code: Int, _ body: [UInt8]) -> APIClientError {
        let status = APIStatus.decode(body)
        return .status(code: code, message: status?.message.map { String(oneLine($0).prefix(300)) } ?? "")
    }

    /// One line for a failure: the HTTP status, a TLS or connection error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? APIClientError { return error.description }
        if let error = error as? WatchFailure { return error.description }
        if let error = error as? KubernetesWatchError { return error.description }
        let text = oneLine(String(describing: error))
        // NIOSSL's own text carries BoringSSL's error stack and a source path: say what it means.
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS handshake failed: the server's certificate does not verify against the CA given (CERTIFICATE_VERIFY_FAILED)"
        }
        if text.contains("failedToValidateHostname") {
            return "TLS handshake failed: the server's certificate is not for this address"
        }
        return String(text.prefix(300))
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}

/// Failures of a list or watch besides an HTTP status.
enum WatchFailure: Error, CustomStringConvertible {
    case unreadableList
    case errorEvent(String)
    case cutMidEvent

    var description: String {
        switch self {
        case .unreadableList: "the list response is not a Kubernetes list"
        case .errorEvent(let status): "the watch ended with an error: \(status)"
        case .cutMidEvent: "the watch stream was cut in the middle of an event"
        }
    }
}

extension WatchEvent {
    /// The event with its object read as `kind` when it does not say.
    func assuming(kind: String) -> WatchEvent {
        switch self {
        case .added(let object): .added(object.assuming(kind: kind))
        case .modified(let object): .modified(object.assuming(kind: kind))
        case .deleted(let object): .deleted(object.assuming(kind: kind))
        case .bookmark, .error: self
        }
    }
}

/// Capped exponential backoff with jitter: `initial`, twice that, ... up to `maximum`,
/// each delay between 80 % and 100 % of its step.
struct Backoff {
    let initial: Duration
    let maximum: Duration
    private var step: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        step = initial
    }

    mutating func next() -> Duration {
        let delay = step * Double.random(in: 0.8...1.0)
        step = min(step * 2, maximum)
        return delay
    }

    mutating func reset() {
        step = initial
    }
}
