#if canImport(Glibc)
import Glibc
#endif

/// How many cores this process may use: the CPUs of its affinity mask, fewer when a cgroup
/// CPU quota allows less (a container limited to `cpu: 2` on a 64-core node sees 64 CPUs
/// and gets two cores' time). The default of `--threads`.
public enum AvailableCores {
    public static var count: Int {
        let cpus = affinityCount() ?? onlineCount()
        guard let quota = cgroupQuota(root: "/sys/fs/cgroup") else { return max(1, cpus) }
        return max(1, min(cpus, quota))
    }

    /// The cores a cgroup quota allows, rounded up: cgroup v2 `cpu.max` ("max 100000" or
    /// "200000 100000"), else v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none). Nil
    /// when there is no quota or it cannot be read. `root` is the cgroup mount (a test
    /// passes a directory of its own).
    public static func cgroupQuota(root: String) -> Int? {
        if let line = readLine(root + "/cpu.max") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else {
                return nil
            }
            return (quota + period - 1) / period
        }
        for directory in [root + "/cpu", root + "/cpu,cpuacct", root] {
            guard let quotaLine = readLine(directory + "/cpu.cfs_quota_us"),
                  let periodLine = readLine(directory + "/cpu.cfs_period_us") else { continue }
            guard let quota = Int(quotaLine), let period = Int(periodLine), quota > 0, period > 0 else { return nil }
            return (quota + period - 1) / period
        }
        return nil
    }

    /// The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status: what
    /// sched_getaffinity gives, which Swift's Glibc module does not export).
    private static func affinityCount() -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard line.hasPrefix("Cpus_allowed_list:") else { continue }
            return cpuListCount(String(line.dropFirst("Cpus_allowed_list:".count)))
        }
        return nil
    }

    /// The number of CPUs in a kernel CPU list ("0-3,8,10-11"); nil when it does not parse.
    public static func cpuListCount(_ list: String) -> Int? {
        var count = 0
        for part in list.trimmingCharacters(in: " \n\t").split(separator: ",") {
            let bounds = part.split(separator: "-")
            guard let first = bounds.first.flatMap({ Int($0) }) else { return nil }
            let last = bounds.count == 2 ? Int(bounds[1]) : first
            guard bounds.count <= 2, let last, last >= first else { return nil }
            count += last - first + 1
        }
        return count > 0 ? count : nil
    }

    private static func onlineCount() -> Int {
        Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// The first line of a small file, trimmed; nil when it cannot be read.
    private static func readLine(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return line.trimmingCharacters(in: " \n\t")
    }
}

private extension String {
    func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        var view = Substring(self)
        while let first = view.first, set.contains(first) { view.removeFirst() }
        while let last = view.last, set.contains(last) { view.removeLast() }
        return String(view)
    }
}
