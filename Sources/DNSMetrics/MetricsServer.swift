import Dispatch
import FlyingFox
import FlyingSocks
import Foundation
import Synchronization

/// Where `--metrics` listens: `ADDR:PORT` with an IPv4 address, `[IPv6]:PORT`, or `:PORT`
/// for every IPv4 address. Port 0 asks the system for a free port (tests).
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Host: Sendable, Equatable {
        case ipv4(String)
        case ipv6(String)
    }

    public var host: Host
    public var port: UInt16

    /// Parses `127.0.0.1:9153`, `[::1]:9153` or `:9153`; nil for anything else.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        let address = String(text[..<colon])
        if address.isEmpty {
            host = .ipv4("0.0.0.0")
        } else if address.hasPrefix("["), address.hasSuffix("]"), address.count > 2 {
            let inner = String(address.dropFirst().dropLast())
            var probe = in6_addr()
            guard inet_pton(AF_INET6, inner, &probe) == 1 else { return nil }
            host = .ipv6(inner)
        } else {
            var probe = in_addr()
            guard inet_pton(AF_INET, address, &probe) == 1 else { return nil }
            host = .ipv4(address)
        }
        self.port = port
    }

    public var description: String {
        switch host {
        case .ipv4(let address): "\(address):\(port)"
        case .ipv6(let address): "[\(address)]:\(port)"
        }
    }
}

/// Why the metrics server could not start: one line for the user.
public struct MetricsServerError: Error, CustomStringConvertible {
    public var description: String
}

/// Serves `GET /metrics` (the text format of `LiveMetrics`) on its own tasks, so the capture
/// loop on the main thread never waits for a scrape; anything else is 404. `start` returns
/// once the socket listens (or fails with the reason: address in use, not local...).
public final class MetricsServer: Sendable {
    /// The address asked for, and the port actually bound (differs when port 0 was asked).
    public let address: MetricsAddress
    public let port: UInt16
    private let server: HTTPServer
    private let task: Task<Void, Never>

    /// Longest `start` waits for the socket to listen, in seconds.
    public static let startTimeout = 5

    private init(address: MetricsAddress, port: UInt16, server: HTTPServer, task: Task<Void, Never>) {
        self.address = address
        self.port = port
        self.server = server
        self.task = task
    }

    /// Binds `address` and serves `metrics` until `stop()`, returning once the socket
    /// listens. For the capture loop's thread (the main thread, never a task of the
    /// cooperative pool: it blocks until the server tasks, which run there, decide).
    public static func start(
        address: MetricsAddress, metrics: LiveMetrics, timeout: Duration = .seconds(startTimeout)
    ) throws(MetricsServerError) -> MetricsServer {
        let outcome = StartOutcome()
        Task.detached {
            do throws(MetricsServerError) {
                outcome.decide(.success(try await start(address: address, metrics: metrics, timeout: timeout)))
            } catch {
                outcome.decide(.failure(error))
            }
        }
        // The async start gives up after `timeout`; this wait is only a backstop.
        let backstop = DispatchTime.now() + .nanoseconds(Int(clamping: timeout.components.seconds * 1_000_000_000)) + .seconds(5)
        if outcome.decided.wait(timeout: backstop) == .timedOut {
            outcome.decide(.failure(MetricsServerError(description: "--metrics \(address): did not start listening")))
        }
        switch outcome.result.withLock({ $0 }) {
        case .success(let server)?: return server
        case .failure(let error)?: throw error
        case nil: throw MetricsServerError(description: "--metrics \(address): did not start listening")
        }
    }

    /// Binds `address` and serves `metrics` until `stop()`, returning once the socket listens
    /// (or failing with the reason: address in use, not an address of this host...).
    /// The server's tasks run on the cooperative pool, idle in `dnstrail live` (the capture
    /// runs on the main thread); where other work may hold the pool's threads (a test suite
    /// running in parallel), give a longer `timeout`.
    public static func start(
        address: MetricsAddress, metrics: LiveMetrics, timeout: Duration = .seconds(startTimeout)
    ) async throws(MetricsServerError) -> MetricsServer {
        let socketAddress: any SocketAddress
        do {
            switch address.host {
            case .ipv4(let ip): socketAddress = try sockaddr_in.inet(ip4: ip, port: address.port)
            case .ipv6(let ip): socketAddress = try sockaddr_in6.inet6(ip6: ip, port: address.port)
            }
        } catch {
            throw MetricsServerError(description: "--metrics \(address): not an address to listen on")
        }
        // FlyingFox logs to standard output by default: that is the report's (NDJSON's) stream.
        let server = HTTPServer(address: socketAddress, timeout: 15, logger: .disabled)
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(statusCode: .ok,
                         headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: Data(metrics.exposition().utf8))
        }
        let failure = Mutex<MetricsServerError?>(nil)
        let task = Task.detached {
            do {
                try await server.run()
            } catch {
                failure.withLock { $0 = MetricsServerError(description: "--metrics \(address): \(reason(error))") }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let error = failure.withLock({ $0 }) { throw error }
            switch await server.listeningAddress {
            case .ip4(_, let port)?, .ip6(_, let port)?:
                return MetricsServer(address: address, port: port, server: server, task: task)
            case .unix?, nil:
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        task.cancel()
        throw MetricsServerError(description: "--metrics \(address): did not start listening")
    }

    /// Closes the listening socket and the open connections. For the capture loop's thread
    /// (blocks up to 2 s; see the blocking `start`).
    public func stop() {
        let done = DispatchSemaphore(value: 0)
        Task.detached { [self] in
            await stop()
            done.signal()
        }
        _ = done.wait(timeout: .now() + 2)
    }

    /// Closes the listening socket and the open connections (each has half a second to finish).
    public func stop() async {
        await server.stop(timeout: 0.5)
        task.cancel()
    }

    /// How `start` ended, decided once by whichever comes first: listening, or failing.
    private final class StartOutcome: Sendable {
        let result = Mutex<Result<MetricsServer, MetricsServerError>?>(nil)
        let decided = DispatchSemaphore(value: 0)

        func decide(_ outcome: Result<MetricsServer, MetricsServerError>) {
            let first = result.withLock { current in
                guard current == nil else { return false }
                current = outcome
                return true
            }
            if first { decided.signal() }
        }
    }

    /// The reason of a socket error in words (FlyingFox's errors carry errno text).
    private static func reason(_ error: any Error) -> String {
        if let socketError = error as? SocketError, case .failed(let call, _, let message) = socketError {
            return "\(call.lowercased()): \(message)"
        }
        return "\(error)"
    }
}
