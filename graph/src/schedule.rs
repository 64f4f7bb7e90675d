//! When a host runs the sync: [`Schedule`] (parsed from `"nightly"`,
//! `"every 30m"`, …) and [`Scheduler`], which computes the next run time.
//!
//! The crate runs nothing by itself: a host (the `scimkit serve` command, a cron
//! job, a worker thread) asks the scheduler when the next run is due and calls
//! [`crate::run_sync`] then. Times are UTC.
//!
//! ```
//! use scimkit_graph::{Schedule, Scheduler};
//! use time::macros::datetime;
//!
//! let schedule: Schedule = "daily at 03:15".parse()?;
//! let mut s = Scheduler::new(schedule);
//! let now = datetime!(2024-05-01 12:00 UTC);
//! assert_eq!(s.next_run(now), Some(datetime!(2024-05-02 03:15 UTC)));
//! s.record_run(datetime!(2024-05-02 03:15 UTC));
//! assert_eq!(s.next_run(datetime!(2024-05-02 03:16 UTC)), Some(datetime!(2024-05-03 03:15 UTC)));
//! # Ok::<(), scimkit_graph::ScheduleError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, Time};

/// The shortest interval `every …` accepts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// How often the sync runs.
///
/// Parsed from (case-insensitively): `manual` (or `off`, `never`), `hourly`,
/// `nightly` (every day at 02:00 UTC), `daily` (00:00 UTC), `nightly at HH:MM`,
/// `daily at HH:MM`, `every <n><unit>` / `every <n> <unit>` with the units `s`,
/// `m`, `h`, `d` (or `seconds`, `minutes`, `hours`, `days`), at least one
/// minute. `Display` prints the canonical form, which parses back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Schedule {
    /// Only when asked (a `sync run` command, an admin's button).
    #[default]
    Manual,
    /// At a fixed interval after the previous run.
    Every(Duration),
    /// Once a day at this UTC time.
    Daily {
        /// 0–23.
        hour: u8,
        /// 0–59.
        minute: u8,
    },
}

/// A schedule string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule {input:?}: {reason}")]
pub struct ScheduleError {
    input: String,
    reason: &'static str,
}

impl Schedule {
    /// "nightly": every day at 02:00 UTC.
    pub const NIGHTLY: Schedule = Schedule::Daily { hour: 2, minute: 0 };

    /// The next run time, given the previous run (if any) and the current time;
    /// `None` for [`Schedule::Manual`]. A run that was missed (the host was down)
    /// is due at once — never more than one catch-up run.
    pub fn next_after(
        &self,
        last_run: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        match *self {
            Schedule::Manual => None,
            Schedule::Every(d) => Some(match last_run {
                None => now,
                Some(l) => (l + d).max(now),
            }),
            Schedule::Daily { hour, minute } => {
                let at = Time::from_hms(hour, minute, 0).ok()?;
                let from = last_run.unwrap_or(now);
                let mut t = from.replace_time(at);
                // With a previous run: strictly after it; without: at or after now.
                if (last_run.is_some() && t <= from) || (last_run.is_none() && t < from) {
                    t += Duration::from_secs(86_400);
                }
                Some(if last_run.is_some() && t < now {
                    now
                } else {
                    t
                })
            }
        }
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| ScheduleError {
            input: input.to_owned(),
            reason,
        };
        let s = input.trim().to_ascii_lowercase();
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["manual"] | ["off"] | ["never"] => Ok(Schedule::Manual),
            ["hourly"] => Ok(Schedule::Every(Duration::from_secs(3600))),
            ["nightly"] => Ok(Schedule::NIGHTLY),
            ["daily"] => Ok(Schedule::Daily { hour: 0, minute: 0 }),
            ["nightly" | "daily", "at", hm] => {
                let (h, m) = hm.split_once(':').ok_or(err("expected HH:MM"))?;
                let hour: u8 = h.parse().map_err(|_| err("expected HH:MM"))?;
                let minute: u8 = m.parse().map_err(|_| err("expected HH:MM"))?;
                if hour > 23 || minute > 59 || m.len() != 2 {
                    return Err(err("expected HH:MM between 00:00 and 23:59"));
                }
                Ok(Schedule::Daily { hour, minute })
            }
            ["every", rest @ ..] if !rest.is_empty() && rest.len() <= 2 => {
                let joined = rest.concat();
                let split = joined
                    .find(|c: char| !c.is_ascii_digit())
                    .ok_or(err("missing unit (s, m, h or d)"))?;
                let (n, unit) = joined.split_at(split);
                let n: u64 = n.parse().map_err(|_| err("expected a number"))?;
                let secs = match unit {
                    "s" | "sec" | "secs" | "second" | "seconds" => 1,
                    "m" | "min" | "mins" | "minute" | "minutes" => 60,
                    "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
                    "d" | "day" | "days" => 86_400,
                    _ => return Err(err("unknown unit (use s, m, h or d)")),
                };
                let d = Duration::from_secs(n.checked_mul(secs).ok_or(err("too long"))?);
                if d < MIN_INTERVAL {
                    return Err(err("the interval must be at least one minute"));
                }
                Ok(Schedule::Every(d))
            }
            _ => Err(err(
                "expected manual, hourly, nightly, daily [at HH:MM] or every <n><s|m|h|d>",
            )),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Schedule::Manual => f.write_str("manual"),
            Schedule::Every(d) => {
                let s = d.as_secs();
                match s {
                    _ if s % 86_400 == 0 => write!(f, "every {}d", s / 86_400),
                    _ if s % 3600 == 0 => write!(f, "every {}h", s / 3600),
                    _ if s % 60 == 0 => write!(f, "every {}m", s / 60),
                    _ => write!(f, "every {s}s"),
                }
            }
            Schedule::Daily { hour, minute } => write!(f, "daily at {hour:02}:{minute:02}"),
        }
    }
}

impl TryFrom<String> for Schedule {
    type Error = ScheduleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Schedule> for String {
    fn from(s: Schedule) -> Self {
        s.to_string()
    }
}

/// Computes when the next run is due from a [`Schedule`] and the last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    schedule: Schedule,
    last_run: Option<OffsetDateTime>,
}

impl Scheduler {
    /// A scheduler that has not run yet.
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            last_run: None,
        }
    }

    /// A scheduler resuming after a run at `last_run` (e.g.
    /// [`crate::SyncState::last_run_time`] after a restart).
    pub fn resume(schedule: Schedule, last_run: Option<OffsetDateTime>) -> Self {
        Self { schedule, last_run }
    }

    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The last recorded run.
    pub fn last_run(&self) -> Option<OffsetDateTime> {
        self.last_run
    }

    /// When the next run is due; `None` for a manual schedule.
    pub fn next_run(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.schedule.next_after(self.last_run, now)
    }

    /// Whether a run is due at `now`.
    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        self.next_run(now).is_some_and(|t| t <= now)
    }

    /// How long to wait from `now` until the next run (zero when due); `None` for
    /// a manual schedule.
    pub fn until_next(&self, now: OffsetDateTime) -> Option<Duration> {
        let t = self.next_run(now)?;
        Some(Duration::try_from(t - now).unwrap_or(Duration::ZERO))
    }

    /// Record a run (started) at `at`; the next run is computed from it.
    pub fn record_run(&mut self, at: OffsetDateTime) {
        self.last_run = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("manual", Schedule::Manual),
            ("OFF", Schedule::Manual),
            ("nightly", Schedule::NIGHTLY),
            ("hourly", Schedule::Every(Duration::from_secs(3600))),
            ("daily", Schedule::Daily { hour: 0, minute: 0 }),
            (
                "nightly at 03:30",
                Schedule::Daily {
                    hour: 3,
                    minute: 30,
                },
            ),
            (
                "daily at 23:59",
                Schedule::Daily {
                    hour: 23,
                    minute: 59,
                },
            ),
            ("every 30m", Schedule::Every(Duration::from_secs(1800))),
            (
                "every 30 minutes",
                Schedule::Every(Duration::from_secs(1800)),
            ),
            ("every 2h", Schedule::Every(Duration::from_secs(7200))),
            ("every 1d", Schedule::Every(Duration::from_secs(86_400))),
            ("every 90s", Schedule::Every(Duration::from_secs(90))),
        ];
        for (s, want) in cases {
            let got: Schedule = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(got, want, "{s}");
            assert_eq!(
                got.to_string().parse::<Schedule>().unwrap(),
                got,
                "round trip of {s}"
            );
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            (
                "every 30",
                "invalid schedule \"every 30\": missing unit (s, m, h or d)",
            ),
            (
                "every 10s",
                "invalid schedule \"every 10s\": the interval must be at least one minute",
            ),
            (
                "every 5 fortnights",
                "invalid schedule \"every 5 fortnights\": unknown unit (use s, m, h or d)",
            ),
            (
                "daily at 24:00",
                "invalid schedule \"daily at 24:00\": expected HH:MM between 00:00 and 23:59",
            ),
            (
                "weekly",
                "invalid schedule \"weekly\": expected manual, hourly, nightly, daily [at HH:MM] or every <n><s|m|h|d>",
            ),
        ];
        for (s, msg) in cases {
            assert_eq!(s.parse::<Schedule>().unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn interval_runs_at_once_then_after_the_interval() {
        let mut s = Scheduler::new("every 30m".parse().unwrap());
        let t0 = datetime!(2024-05-01 10:00 UTC);
        assert!(s.is_due(t0));
        s.record_run(t0);
        assert_eq!(s.next_run(t0), Some(datetime!(2024-05-01 10:30 UTC)));
        assert_eq!(
            s.until_next(datetime!(2024-05-01 10:10 UTC)),
            Some(Duration::from_secs(1200))
        );
        assert!(!s.is_due(datetime!(2024-05-01 10:29 UTC)));
        // Missed for hours: due now, once.
        let late = datetime!(2024-05-01 15:00 UTC);
        assert_eq!(s.next_run(late), Some(late));
        assert_eq!(s.until_next(late), Some(Duration::ZERO));
    }

    #[test]
    fn nightly_waits_for_the_time_of_day_and_catches_up_once() {
        let s = Scheduler::new(Schedule::NIGHTLY);
        assert_eq!(
            s.next_run(datetime!(2024-05-01 01:00 UTC)),
            Some(datetime!(2024-05-01 02:00 UTC))
        );
        assert_eq!(
            s.next_run(datetime!(2024-05-01 12:00 UTC)),
            Some(datetime!(2024-05-02 02:00 UTC))
        );
        let s = Scheduler::resume(Schedule::NIGHTLY, Some(datetime!(2024-05-01 02:00 UTC)));
        assert_eq!(
            s.next_run(datetime!(2024-05-01 02:00:30 UTC)),
            Some(datetime!(2024-05-02 02:00 UTC))
        );
        // The host was down at 02:00 on the 2nd: due at once.
        let now = datetime!(2024-05-02 09:00 UTC);
        assert_eq!(s.next_run(now), Some(now));
        assert!(Scheduler::new(Schedule::Manual).next_run(now).is_none());
        assert!(!Scheduler::new(Schedule::Manual).is_due(now));
    }
}
