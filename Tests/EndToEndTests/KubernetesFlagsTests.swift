import DNSTrailTestSupport
import Foundation
import Testing

/// `live --kubernetes | --kubeconfig FILE [--node NAME]` as a user runs it: unusable
/// credentials and conflicting flags end with one line before any capture.
struct KubernetesFlagsTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try runProcess(CLITests.binary, arguments, in: Paths.root)
    }

    @Test func outsideAPodKubernetesSaysSoInOneLine() throws {
        try #require(ProcessInfo.processInfo.environment["KUBERNETES_SERVICE_HOST"] == nil, "runs outside a pod")
        let result = try run(["live", "-i", "lo", "--duration", "1", "--kubernetes"])
        #expect(result.status == 2)
        #expect(result.errors == "dnstrail: --kubernetes: not running in a pod (KUBERNETES_SERVICE_HOST is not set); use --kubeconfig FILE outside a cluster\n")
        #expect(result.output.isEmpty)
    }

    @Test func unreadableKubeconfigSaysWhyInOneLine() throws {
        let result = try run(["live", "-i", "lo", "--duration", "1", "--kubeconfig", "no-such-kubeconfig"])
        #expect(result.status == 2)
        #expect(result.errors == "dnstrail: --kubeconfig 'no-such-kubeconfig': cannot read 'no-such-kubeconfig': No such file or directory\n")
        let notYAML = try run(["live", "-i", "lo", "--duration", "1", "--kubeconfig", "README.md"])
        #expect(notYAML.status == 2)
        #expect(notYAML.errors.hasPrefix("dnstrail: --kubeconfig 'README.md': "))
        #expect(notYAML.errors.split(separator: "\n").count == 1)
    }

    @Test func conflictingFlagsAreRejected() throws {
        let both = try run(["live", "-i", "lo", "--kubernetes", "--kubeconfig", "x"])
        #expect(both.status == 64)
        #expect(both.errors.contains("--kubernetes and --kubeconfig: give one"))
        let nodeAlone = try run(["live", "-i", "lo", "--node", "node-a"])
        #expect(nodeAlone.status == 64)
        #expect(nodeAlone.errors.contains("--node needs --kubernetes or --kubeconfig"))
        let withPods = try run(["live", "-i", "lo", "--kubeconfig", "x", "--pods", "captures/k8s/egress-deny-cluster.json"])
        #expect(withPods.status == 2)
        #expect(withPods.errors == "dnstrail: --pods and --kubeconfig both name pods; give one\n")
    }
}
