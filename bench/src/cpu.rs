//! CPU time of the processes in a measurement, from /proc: how the machine's two cores were
//! shared between the service, the load generator and PostgreSQL.

use std::path::Path;

/// Clock ticks a second of /proc's times (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// Fields of /proc/<pid>/stat after the command name: state is [0], utime [11], stime [12],
/// cutime [13], cstime [14], ppid [1].
fn stat_fields(path: &Path) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(path).ok()?;
    let after = text.rsplit_once(')')?.1;
    Some(
        after
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0))
            .collect(),
    )
}

fn field(fields: &[u64], i: usize) -> u64 {
    fields.get(i).copied().unwrap_or(0)
}

/// CPU microseconds so far of a process, with its reaped children when asked.
pub fn process_micros(pid: u32, with_children: bool) -> u64 {
    let Some(f) = stat_fields(&Path::new("/proc").join(pid.to_string()).join("stat")) else {
        return 0;
    };
    let mut ticks = field(&f, 11) + field(&f, 12);
    if with_children {
        ticks += field(&f, 13) + field(&f, 14);
    }
    ticks * 1_000_000 / ticks_per_second()
}

/// CPU microseconds so far of a PostgreSQL cluster: the postmaster, the backends it reaped,
/// and the ones alive now.
pub fn cluster_micros(postmaster: u32) -> u64 {
    let mut total = process_micros(postmaster, true);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.filter_map(Result::ok) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(f) = stat_fields(&entry.path().join("stat"))
                && u32::try_from(field(&f, 1)).ok() == Some(postmaster)
            {
                total += process_micros(pid, false);
            }
        }
    }
    total
}

/// CPU microseconds so far of this process (the load generator) and of its reaped children
/// (pgbench).
pub fn own_micros() -> (u64, u64) {
    let Some(f) = stat_fields(Path::new("/proc/self/stat")) else {
        return (0, 0);
    };
    let tps = ticks_per_second();
    (
        (field(&f, 11) + field(&f, 12)) * 1_000_000 / tps,
        (field(&f, 13) + field(&f, 14)) * 1_000_000 / tps,
    )
}
