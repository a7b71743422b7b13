import ArgumentParser
import Foundation
import KubernetesWatch
import PacketDecoding

/// `live --kubernetes | --kubeconfig FILE [--node NAME]`: pod names from the API server.
struct KubernetesArguments: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Name pods from the API server, from inside a pod: the service account's token and CA, KUBERNETES_SERVICE_HOST/PORT. Watches this node's pods (--node), the DNS servers' pods and the Services as they change."))
    var kubernetes = false

    @Option(help: ArgumentHelp(
        "Name pods from the API server of this kubeconfig's current context (token or client certificate), watched as with --kubernetes.",
        valueName: "file"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp(
        "The node whose pods --kubernetes/--kubeconfig watch (default: $NODE_NAME; without either, every pod).",
        valueName: "name"))
    var node: String?

    func validate() throws {
        if kubernetes && kubeconfig != nil { throw ValidationError("--kubernetes and --kubeconfig: give one") }
        if node != nil && !kubernetes && kubeconfig == nil { throw ValidationError("--node needs --kubernetes or --kubeconfig") }
    }

    /// The watcher (not started), or nil without --kubernetes/--kubeconfig; one line and
    /// exit 2 when the credentials are unusable or --pods is given too.
    func watcher(podFiles: [String], dnsServers: [IPAddress]) throws -> KubernetesNameWatcher? {
        guard kubernetes || kubeconfig != nil else { return nil }
        guard podFiles.isEmpty else {
            printError("dnstrail: --pods and \(kubernetes ? "--kubernetes" : "--kubeconfig") both name pods; give one")
            throw ExitCode(2)
        }
        do throws(KubernetesWatchError) {
            let connection = if let kubeconfig {
                try APIServerConnection.kubeconfig(path: kubeconfig)
            } else {
                try APIServerConnection.inCluster()
            }
            let scope = WatchScope(node: node ?? ProcessInfo.processInfo.environment["NODE_NAME"])
            return try KubernetesNameWatcher(connection: connection, scope: scope, dnsServers: dnsServers)
        } catch {
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
    }
}
