//! Structured logs on stderr (tracing): text or JSON lines.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::Error;
use crate::cli::LogFormat;

/// Install the global subscriber.
pub(crate) fn init(format: LogFormat, filter: &str) -> Result<(), Error> {
    let filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid --log filter {filter:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    }
    .map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(())
}
