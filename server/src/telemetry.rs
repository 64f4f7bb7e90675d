//! Structured logs on stderr (tracing): text or JSON lines.
//!
//! Lines are formatted on the thread that logs and written to stderr by a
//! background thread (`tracing-appender`'s non-blocking writer), many per
//! `write`: a request does not wait for a system call to log its line. The
//! writer is not lossy — when its queue is full, the logging thread waits —
//! and everything queued is written when the returned guard drops.

use std::io::IsTerminal as _;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::Error;
use crate::cli::LogFormat;

/// Install the global subscriber. Keep the guard until the process ends: lines
/// still queued are written when it drops.
pub(crate) fn init(format: LogFormat, filter: &str) -> Result<WorkerGuard, Error> {
    let filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid --log filter {filter:?}: {e}"))?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("scimkit-stderr")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    }
    .map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(guard)
}
