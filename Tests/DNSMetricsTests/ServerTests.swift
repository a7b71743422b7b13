import DNSMetrics
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The metrics server on loopback: GET /metrics answers the exposition text, anything else
/// 404, a taken port is a one-line error, and it stops.
struct ServerTests {
    static func get(_ port: UInt16, _ path: String) async throws -> (status: Int, contentType: String?, body: String) {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        request.timeoutInterval = ServerTests.patienceSeconds
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type"), String(decoding: data, as: UTF8.self))
    }

    /// How long a start, a request or a stop may take: the server's tasks run on the
    /// cooperative pool, which the rest of the suite (tshark and other processes waited for
    /// synchronously) can hold for a minute on two cores; alone, they take milliseconds.
    static let patienceSeconds = 300.0
    static let patience = Duration.seconds(patienceSeconds)

    /// Whether a GET on `port` fails within `patience` (the stop's tasks wait for the pool too).
    static func refusesWithinPatience(_ port: UInt16) async -> Bool {
        for _ in 0..<Int(patienceSeconds * 10) {
            do {
                _ = try await get(port, "/metrics")
            } catch {
                return true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func servesMetricsOnAnEphemeralPortAnd404Elsewhere() async throws {
        let metrics = LiveMetrics(version: "served")
        metrics.update(status: MetricsStatus(packets: 42, inFlight: 3))
        let address = try #require(MetricsAddress("127.0.0.1:0"))
        let server = try await MetricsServer.start(address: address, metrics: metrics, timeout: ServerTests.patience)
        #expect(server.port != 0)
        let scrape = try await ServerTests.get(server.port, "/metrics")
        #expect(scrape.status == 200)
        #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(scrape.body.contains("dnstrail_capture_packets_total 42\n"))
        #expect(scrape.body.contains(#"dnstrail_build_info{version="served"} 1.0"#))
        // A second scrape sees what changed in between.
        metrics.update(status: MetricsStatus(packets: 50, inFlight: 0))
        #expect(try await ServerTests.get(server.port, "/metrics").body.contains("dnstrail_capture_packets_total 50\n"))
        #expect(try await ServerTests.get(server.port, "/").status == 404)
        #expect(try await ServerTests.get(server.port, "/metrics/x").status == 404)
        await server.stop()
    }

    @Test func takenPortFailsWithOneLine() async throws {
        let metrics = LiveMetrics(version: "test")
        let first = try await MetricsServer.start(address: try #require(MetricsAddress("127.0.0.1:0")), metrics: metrics,
                                                    timeout: ServerTests.patience)
        let taken = try #require(MetricsAddress("127.0.0.1:\(first.port)"))
        await #expect {
            _ = try await MetricsServer.start(address: taken, metrics: metrics, timeout: ServerTests.patience)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("--metrics 127.0.0.1:\(first.port): bind") && text.contains("in use") && !text.contains("\n")
        }
        await first.stop()
    }

    @Test func stoppedServerRefusesConnections() async throws {
        let server = try await MetricsServer.start(address: try #require(MetricsAddress("127.0.0.1:0")),
                                                   metrics: LiveMetrics(version: "test"), timeout: ServerTests.patience)
        let port = server.port
        #expect(try await ServerTests.get(port, "/metrics").status == 200)
        await server.stop()
        #expect(await ServerTests.refusesWithinPatience(port))
    }

    /// The blocking start and stop the capture loop uses, from a thread of its own as the
    /// main thread is (never from a task of the cooperative pool, which they wait for).
    @Test func blockingStartAndStopFromAPlainThread() async throws {
        let metrics = LiveMetrics(version: "blocking")
        let server: MetricsServer = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try MetricsServer.start(address: MetricsAddress("127.0.0.1:0")!, metrics: metrics,
                                                                                timeout: ServerTests.patience))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        #expect(try await ServerTests.get(server.port, "/metrics").body.contains(#"version="blocking""#))
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                server.stop()
                continuation.resume()
            }
        }
        #expect(await ServerTests.refusesWithinPatience(server.port))
    }

    @Test func addressForms() {
        #expect(MetricsAddress("127.0.0.1:9153")?.description == "127.0.0.1:9153")
        #expect(MetricsAddress(":9153")?.host == .ipv4("0.0.0.0"))
        #expect(MetricsAddress("[::1]:9153")?.host == .ipv6("::1"))
        #expect(MetricsAddress("[::1]:9153")?.description == "[::1]:9153")
        for bad in ["9153", "localhost:9153", "127.0.0.1", "127.0.0.1:70000", "::1:9153", "[]:1", "1.2.3.4:x", ""] {
            #expect(MetricsAddress(bad) == nil, "\(bad)")
        }
    }
}
