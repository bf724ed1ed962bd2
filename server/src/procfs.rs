//! A process's resident memory and CPU time, from Linux's `/proc`: for `/metrics` and for the
//! load generators, which watch the server's process. Elsewhere these are `None`.

/// Which process to read: this one, or another by id.
#[derive(Debug, Clone, Copy)]
pub enum Process {
    Current,
    Id(u32),
}

impl Process {
    fn file(self, name: &str) -> Option<String> {
        let path = match self {
            Process::Current => format!("/proc/self/{name}"),
            Process::Id(pid) => format!("/proc/{pid}/{name}"),
        };
        std::fs::read_to_string(path).ok()
    }
}

/// Resident memory in bytes (`VmRSS`).
pub fn resident_bytes(process: Process) -> Option<u64> {
    parse_resident_bytes(&process.file("status")?)
}

/// User plus system CPU time, in clock ticks (100 a second on Linux).
pub fn cpu_ticks(process: Process) -> Option<u64> {
    parse_cpu_ticks(&process.file("stat")?)
}

fn parse_resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields() {
        assert_eq!(parse_resident_bytes("Name:\tkezdesu\nVmRSS:\t   2048 kB\n"), Some(2048 * 1024));
        assert_eq!(parse_resident_bytes("Name:\tkezdesu\n"), None);
        let stat = "42 (kez desu) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 4 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(10));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_has_memory() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes(Process::Current).is_some_and(|bytes| bytes > 0));
        }
    }
}
