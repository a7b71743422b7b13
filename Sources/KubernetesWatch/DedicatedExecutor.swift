import Foundation

/// A task executor with a thread of its own: the watches and the directory builder run on
/// it, so they go on while Swift's shared cooperative pool (as many threads as cores) is
/// busy with something that blocks, and they never take a thread from it.
@available(macOS 15.0, *)
final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    /// Jobs waiting to run, oldest first (guarded by `condition`).
    private var jobs: [UnownedJob] = []
    private var stopping = false

    /// Starts the thread, named `name`.
    init(name: String) {
        let thread = Thread { [self] in runJobs() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs waiting have run.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            guard !jobs.isEmpty else {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
