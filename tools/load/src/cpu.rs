//! CPU time of the whole machine during a run, read from `/proc/stat` (Linux only).
//!
//! The load tool, PostgreSQL and RabbitMQ share the machine's cores, so the busy time of all
//! cores together is the cost of a run. Unlike the rate, it leaves out the time that cores sat
//! idle waiting for each other, and it shows how far a run is from what the cores could do.
//! Time that the hypervisor gave to other guests (steal) is not busy time, and is reported
//! beside it. Other programs running meanwhile are counted too.

/// Cumulative clock ticks of all cores since boot.
#[derive(Clone, Copy, Debug)]
pub struct CpuTimes {
    busy: u64,
    steal: u64,
}

/// CPU time spent between two readings, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct CpuUse {
    pub busy_seconds: f64,
    pub steal_seconds: f64,
}

/// Reads the machine's CPU times, or `None` where `/proc/stat` is missing or unreadable.
pub fn read() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse(&stat)
}

/// Parses the first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal
/// guest guest_nice`. Guest time is already counted in user time.
fn parse(stat: &str) -> Option<CpuTimes> {
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = fields[..] else {
        return None;
    };
    Some(CpuTimes {
        busy: user + nice + system + irq + softirq,
        steal,
    })
}

impl CpuTimes {
    /// Returns the CPU time spent since `earlier`.
    pub fn since(self, earlier: CpuTimes) -> CpuUse {
        let seconds = |ticks: u64| ticks as f64 / clock_ticks_per_second();
        CpuUse {
            busy_seconds: seconds(self.busy.saturating_sub(earlier.busy)),
            steal_seconds: seconds(self.steal.saturating_sub(earlier.steal)),
        }
    }
}

/// Returns the unit of `/proc/stat` (USER_HZ) in ticks per second, 100 on common Linux builds.
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sums_busy_fields() {
        let stat = "cpu  100 5 30 900 7 2 3 11 0 0\ncpu0 50 2 15 450 3 1 1 5 0 0\n";
        let times = parse(stat).expect("times");
        assert_eq!(times.busy, 100 + 5 + 30 + 2 + 3);
        assert_eq!(times.steal, 11);
    }

    #[test]
    fn parse_rejects_other_text() {
        assert!(parse("intr 1 2 3\n").is_none());
        assert!(parse("cpu  1 2 3\n").is_none());
        assert!(parse("cpu  1 x 3 4 5 6 7 8\n").is_none());
    }

    #[test]
    fn since_counts_the_difference() {
        let earlier = CpuTimes {
            busy: 1_000,
            steal: 10,
        };
        let later = CpuTimes {
            busy: 1_000 + 250 * clock_ticks_per_second() as u64,
            steal: 10,
        };
        let used = later.since(earlier);
        assert_eq!(used.busy_seconds, 250.0);
        assert_eq!(used.steal_seconds, 0.0);
    }
}
