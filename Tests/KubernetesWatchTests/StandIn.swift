import Foundation
import Testing
@testable import KubernetesWatch

/// The loopback HTTPS stand-in for the API server (scripts/lib/kube-apiserver-standin.py),
/// started for one test with its own CA and state folder, driven through command files.
final class StandIn {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/lib/kube-apiserver-standin.py")

    let directory: URL
    let process: Process
    let port: Int
    private var commandNumber = 0

    /// Starts it serving `objects` (`{"pods":[...],"services":[...]}`), asking for `token`.
    init(objects: String = #"{"pods":[],"services":[]}"#, token: String = "s3cret", wrongCA: Bool = false) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-standin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let objectsFile = directory.appendingPathComponent("objects.json")
        try objects.write(to: objectsFile, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path, directory.path, "--objects", objectsFile.path, "--token", token]
            + (wrongCA ? ["--wrong-ca"] : [])
        process.standardOutput = FileHandle.nullDevice
        let errors = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let portFile = directory.appendingPathComponent("port")
        var found: Int?
        for _ in 0..<300 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8),
               let number = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                found = number
                break
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        guard let found else {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            kill(process.processIdentifier, SIGKILL)
            throw StandInError.didNotStart(text)
        }
        port = found
    }

    deinit {
        // SIGKILL: the test runner's threads block SIGTERM, and the child inherits the mask.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    var server: String { "https://127.0.0.1:\(port)" }
    var authorityPEM: [UInt8] { (try? Array(Data(contentsOf: directory.appendingPathComponent("certs/ca.pem")))) ?? [] }
    var kubeconfig: String { directory.appendingPathComponent("kubeconfig").path }

    /// Longest wait for the stand-in to apply a command (it polls every 50 ms; 2 cores
    /// shared with AddressSanitizer and the whole suite can hold it off for seconds).
    static let commandTimeout = Duration.seconds(30)

    /// Sends one command (written atomically into the spool folder) and returns once the
    /// stand-in applied it (it removes the file after applying); throws if it did not
    /// within `commandTimeout` or logged it as a bad command.
    func command(_ json: String) throws {
        commandNumber += 1
        let spool = directory.appendingPathComponent("commands")
        let name = String(format: "%06d", commandNumber)
        let temporary = spool.appendingPathComponent(name + ".tmp")
        try json.write(to: temporary, atomically: false, encoding: .utf8)
        let final = spool.appendingPathComponent(name + ".json")
        try FileManager.default.moveItem(at: temporary, to: final)
        let deadline = ContinuousClock.now + Self.commandTimeout
        while FileManager.default.fileExists(atPath: final.path) {
            guard process.isRunning, ContinuousClock.now < deadline else { throw StandInError.commandNotApplied(json) }
            usleep(10_000)
        }
        if let bad = eventLog.split(separator: "\n").first(where: { $0.hasPrefix("bad command \(name).json") }) {
            throw StandInError.badCommand(String(bad))
        }
    }

    func event(_ type: String, _ resource: String, _ object: String) throws {
        try command(#"{"op":"event","resource":"\#(resource)","type":"\#(type)","object":\#(object)}"#)
    }

    /// The requests it answered (and TLS handshakes it failed), in order.
    var requests: [[String: Any]] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("requests.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The HTTP requests it answered, without the TLS handshakes: under load the client can
    /// give up a handshake at its connect timeout and connect again, which sends no request.
    var httpRequests: [[String: Any]] { requests.filter { $0["method"] != nil } }

    /// Its lines about events sent.
    var eventLog: String {
        (try? String(contentsOf: directory.appendingPathComponent("events.log"), encoding: .utf8)) ?? ""
    }

    /// The requests for `path`: lists (no `watch`) or watches.
    func requests(path: String, watch: Bool) -> [[String: Any]] {
        requests.filter { request in
            let query = request["query"] as? [String: String] ?? [:]
            return request["path"] as? String == path && (query["watch"] != nil) == watch
        }
    }
}

enum StandInError: Error {
    case didNotStart(String)
    case commandNotApplied(String)
    case badCommand(String)
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 15, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Pod objects as the API sends them.
enum Objects {
    static func pod(_ namespace: String, _ name: String, ip: String, node: String, labels: String = "{}",
                    phase: String = "Running") -> String {
        #"{"metadata":{"name":"\#(name)","namespace":"\#(namespace)","labels":\#(labels)},"spec":{"nodeName":"\#(node)"},"status":{"phase":"\#(phase)","podIP":"\#(ip)","podIPs":[{"ip":"\#(ip)"}],"hostIP":"172.18.0.10"}}"#
    }

    static func service(_ namespace: String, _ name: String, clusterIP: String, selector: String) -> String {
        #"{"metadata":{"name":"\#(name)","namespace":"\#(namespace)"},"spec":{"clusterIP":"\#(clusterIP)","clusterIPs":["\#(clusterIP)"],"ports":[{"name":"dns","port":53,"protocol":"UDP"}],"selector":\#(selector)}}"#
    }

    /// node-a's web pod, node-b's pod (not this node's), CoreDNS on node-b, the kube-dns Service.
    static let cluster = """
        {"pods":[\(pod("shop", "web-1", ip: "10.244.1.10", node: "node-a")),
                 \(pod("shop", "api-9", ip: "10.244.2.10", node: "node-b")),
                 \(pod("kube-system", "coredns-5d78c9869d-abcde", ip: "10.244.2.53", node: "node-b", labels: #"{"k8s-app":"kube-dns"}"#))],
         "services":[\(service("kube-system", "kube-dns", clusterIP: "10.96.0.10", selector: #"{"k8s-app":"kube-dns"}"#))]}
        """
}

/// Runs a test's body on a thread of its own: while other suites' synchronous tests hold the
/// shared cooperative pool (two threads on two cores), the waits here still wake on time.
func onOwnThread<T>(_ body: () async throws -> T) async throws -> T {
    let executor = DedicatedExecutor(name: "dnstrail-test")
    defer { executor.stop() }
    return try await withTaskExecutorPreference(executor) { try await body() }
}
