//! `docgrid-fuse overlay status`: files and bytes per migration state,
//! the failures with their reasons, the rate over the last minute and the
//! time left at that rate — read from the journal beside a running
//! overlay (nothing is changed).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::journal::{Journal, JournalError, SyncState};

/// The window the rate is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Files and bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Count {
    /// Files.
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

/// One failed file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    /// Its path relative to the lower directory.
    pub path: String,
    /// Why its last upload failed.
    pub reason: String,
    /// Failed uploads in a row.
    pub attempts: u32,
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// In the store as recorded.
    pub migrated: Count,
    /// Only in the lower directory.
    pub lower_only: Count,
    /// Changed since they were migrated.
    pub dirty: Count,
    /// Uploads under way.
    pub migrating: Count,
    /// Whose last upload failed.
    pub failed: Count,
    /// Lower-only, dirty, migrating and failed together.
    pub remaining: Count,
    /// Deletes and renames recorded as whiteouts (write-back).
    pub whiteouts: u64,
    /// Bytes per second migrated over the last minute.
    pub rate_bytes_per_s: f64,
    /// Seconds left at that rate (`None` while nothing is migrating).
    pub eta_s: Option<f64>,
    /// The failed files.
    pub failures: Vec<Failure>,
}

/// The report of the journal in `state_dir`.
pub fn report(state_dir: &Path) -> Result<Report, JournalError> {
    let j = Journal::open_read_only(state_dir)?;
    let sum = j.summary()?;
    let count = |s: SyncState| {
        let (files, bytes) = sum.of(s);
        Count { files, bytes }
    };
    let (lower_only, dirty, migrating, failed) = (
        count(SyncState::LowerOnly),
        count(SyncState::Dirty),
        count(SyncState::Migrating),
        count(SyncState::Failed),
    );
    let remaining = [lower_only, dirty, migrating, failed]
        .iter()
        .fold(Count::default(), |a, c| Count {
            files: a.files + c.files,
            bytes: a.bytes + c.bytes,
        });
    let rate = j.migrated_since(RATE_WINDOW)? as f64 / RATE_WINDOW.as_secs_f64();
    let eta_s = (rate > 0.0 && remaining.files > 0).then(|| remaining.bytes as f64 / rate);
    Ok(Report {
        migrated: count(SyncState::Migrated),
        lower_only,
        dirty,
        migrating,
        failed,
        remaining,
        whiteouts: sum.whiteouts,
        rate_bytes_per_s: rate,
        eta_s,
        failures: sum
            .failures
            .into_iter()
            .map(|(path, reason, attempts)| Failure {
                path,
                reason,
                attempts,
            })
            .collect(),
    })
}

impl Report {
    /// The report as `status` prints it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let rows = [
            ("migrated", self.migrated),
            ("lower-only", self.lower_only),
            ("dirty", self.dirty),
            ("migrating", self.migrating),
            ("failed", self.failed),
            ("remaining", self.remaining),
        ];
        for (name, c) in rows {
            out += &format!("{name:<11} {:>9} files {:>12}\n", c.files, bytes(c.bytes));
        }
        if self.whiteouts > 0 {
            out += &format!("whiteouts   {:>9}\n", self.whiteouts);
        }
        out += &format!(
            "rate        {}/s over the last minute",
            bytes(self.rate_bytes_per_s as u64)
        );
        match self.eta_s {
            _ if self.remaining.files == 0 => out += ", nothing left\n",
            Some(s) => out += &format!(", about {} left\n", duration(s)),
            None => out += ", no estimate (nothing migrated in the last minute)\n",
        }
        for f in &self.failures {
            out += &format!(
                "failed: {}: {} ({} attempts)\n",
                f.path, f.reason, f.attempts
            );
        }
        out
    }
}

/// `n` bytes for people (`1.5 MB`).
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `s` seconds for people (`3 min`).
fn duration(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
        assert_eq!(duration(30.0), "30 s");
        assert_eq!(duration(600.0), "10 min");
    }
}
