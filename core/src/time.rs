//! Timestamps: RFC 3339 / xsd:dateTime parsing and the fixed-width UTC format
//! scimkit writes (`2024-01-31T12:00:00.123Z`), which sorts lexicographically in
//! time order so stores can index and compare it as text.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parse an RFC 3339 timestamp (xsd:dateTime with an offset or `Z`).
pub fn parse(s: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(s, &Rfc3339)
}

/// Format as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The current time in the fixed-width format.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_utc() {
        let t = parse("2011-05-13T06:42:34.5+02:00").unwrap();
        assert_eq!(format(t), "2011-05-13T04:42:34.500Z");
        assert!(parse("2011-05-13").is_err());
        assert!(now().ends_with('Z') && now().len() == 24);
    }
}
