import Foundation
import Pipeline
import Testing

/// The default of `--threads`: the CPUs this process may use, fewer under a cgroup quota.
@Suite struct AvailableCoresTests {
    func cgroup(_ files: [String: String]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-cgroup-\(UUID().uuidString)")
        for (path, text) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func cgroupV2QuotaIsRoundedUp() throws {
        for (line, cores) in [("200000 100000\n", 2), ("150000 100000\n", 2), ("50000 100000\n", 1), ("100000 100000", 1)] {
            let root = try cgroup(["cpu.max": line])
            defer { try? FileManager.default.removeItem(at: root) }
            #expect(AvailableCores.cgroupQuota(root: root.path) == cores, "\(line)")
        }
    }

    @Test func noQuotaOrUnreadableGivesNone() throws {
        let unlimited = try cgroup(["cpu.max": "max 100000\n"])
        defer { try? FileManager.default.removeItem(at: unlimited) }
        #expect(AvailableCores.cgroupQuota(root: unlimited.path) == nil)
        #expect(AvailableCores.cgroupQuota(root: "/nonexistent/cgroup") == nil)
        let garbage = try cgroup(["cpu.max": "lots\n"])
        defer { try? FileManager.default.removeItem(at: garbage) }
        #expect(AvailableCores.cgroupQuota(root: garbage.path) == nil)
    }

    @Test func cgroupV1QuotaIsRead() throws {
        let root = try cgroup(["cpu,cpuacct/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(AvailableCores.cgroupQuota(root: root.path) == 3)
        let none = try cgroup(["cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"])
        defer { try? FileManager.default.removeItem(at: none) }
        #expect(AvailableCores.cgroupQuota(root: none.path) == nil)
    }

    @Test func cpuListsAreCounted() {
        #expect(AvailableCores.cpuListCount("0-1") == 2)
        #expect(AvailableCores.cpuListCount("0-3,8,10-11\n") == 7)
        #expect(AvailableCores.cpuListCount("5") == 1)
        #expect(AvailableCores.cpuListCount("3-1") == nil)
        #expect(AvailableCores.cpuListCount("") == nil)
        #expect(AvailableCores.cpuListCount("a-b") == nil)
    }

    @Test func thisMachineHasAtLeastOne() {
        #expect(AvailableCores.count >= 1)
        #expect(AvailableCores.count <= ProcessInfo.processInfo.activeProcessorCount)
    }
}
