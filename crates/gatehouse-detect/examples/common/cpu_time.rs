//! On-CPU time of the calling thread, shared by the throughput examples.

/// CPU time of this thread in nanoseconds (Linux schedstat), so that a busy shared machine does
/// not distort per-core numbers; `None` where schedstat is unavailable.
pub fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
