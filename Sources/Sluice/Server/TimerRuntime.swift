/// Makes the concurrency runtime's timers ready before a server takes connections.
///
/// On Linux, `Task.sleep` runs on libdispatch, which opens the descriptors its timers need
/// (an epoll instance, an eventfd, a timerfd) on first use, and crashes the process
/// (`DISPATCH_INTERNAL_CRASH`, SIGILL) if it cannot. A server whose connections have used up
/// the process's descriptors, and whose first timer (a call's deadline, a backoff) comes only
/// then, would die of it: the abuse test that lifts the connection cap until accept fails
/// with EMFILE saw exactly that, now and then, on a loaded machine. One short sleep before
/// listening makes libdispatch open them while descriptors are free; they stay open for the
/// life of the process.
enum TimerRuntime {
    /// Sleeps once for a millisecond, the first time only; later calls return at once.
    static func prepare() async {
        await prepared.value
    }

    private static let prepared = Task<Void, Never> {
        try? await Task.sleep(for: .milliseconds(1))
    }
}
