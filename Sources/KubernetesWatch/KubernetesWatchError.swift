/// Why the API server cannot be used: bad credentials or kubeconfig, a refused request.
/// `description` is one line.
public enum KubernetesWatchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not in a pod: no KUBERNETES_SERVICE_HOST, or the service account files are missing.
    case notInCluster(reason: String)
    /// The kubeconfig file cannot be read or used.
    case kubeconfig(path: String, reason: String)
    /// A certificate, key or token that cannot be read or parsed.
    case credentials(reason: String)

    /// The reason alone, without the prefix naming the flag or the kind of failure.
    public var reason: String {
        switch self {
        case .notInCluster(let reason), .kubeconfig(_, let reason), .credentials(let reason): reason
        }
    }

    public var description: String {
        switch self {
        case .notInCluster(let reason): "--kubernetes: not running in a pod (\(reason)); use --kubeconfig FILE outside a cluster"
        case .kubeconfig(let path, let reason): "--kubeconfig '\(path)': \(reason)"
        case .credentials(let reason): "Kubernetes credentials: \(reason)"
        }
    }
}
