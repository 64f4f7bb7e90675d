//! Filter and path parse errors with byte spans.

use std::fmt;
use std::ops::Range;

/// What went wrong while parsing a filter or a PATCH path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// The input is empty (or only white space).
    Empty,
    /// The input is longer than the limit (in bytes).
    TooLong(usize),
    /// Parentheses, `not` and brackets nest deeper than the limit.
    TooDeep(usize),
    /// An attribute path was expected.
    ExpectedAttrPath,
    /// A comparison operator (`eq`, `ne`, …) or `pr` was expected.
    ExpectedOperator,
    /// A comparison value (string, number, true, false, null) was expected.
    ExpectedValue,
    /// `and`, `or`, `)` or `]` or the end was expected.
    ExpectedLogical,
    /// A specific character was expected.
    Expected(char),
    /// A string literal is not terminated or has a bad escape.
    BadString,
    /// A number literal is malformed.
    BadNumber,
    /// An attribute path is malformed (bad characters, empty parts, too many dots).
    BadAttrPath,
    /// A value filter `[…]` where none is allowed (nested, or after a sub-attribute).
    NestedValuePath,
    /// Input was left over after a complete filter or path.
    Trailing,
}

/// A parse error: what went wrong and where (a byte range of the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    kind: FilterErrorKind,
    span: Range<usize>,
    found: String,
    column: usize,
}

impl FilterError {
    pub(crate) fn new(kind: FilterErrorKind, input: &str, span: Range<usize>) -> Self {
        let start = span.start.min(input.len());
        let end = span.end.clamp(start, input.len());
        let found = input.get(start..end).unwrap_or("").to_owned();
        let column = input.get(..start).map_or(start, |s| s.chars().count()) + 1;
        Self {
            kind,
            span: start..end,
            found,
            column,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &FilterErrorKind {
        &self.kind
    }

    /// The byte range of the input the error points at (empty at the end of input).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The 1-based column (in characters) where the error starts.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The input rendered with a caret line under the span, for logs and CLIs.
    pub fn render(&self, input: &str) -> String {
        let width = self.found.chars().count().max(1);
        format!(
            "{input}\n{}{}\n{self}",
            " ".repeat(self.column - 1),
            "^".repeat(width)
        )
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            FilterErrorKind::Empty => return f.write_str("the filter is empty"),
            FilterErrorKind::TooLong(max) => {
                return write!(f, "the filter is longer than {max} bytes");
            }
            FilterErrorKind::TooDeep(max) => {
                return write!(
                    f,
                    "the filter nests deeper than {max} levels at column {}",
                    self.column
                );
            }
            FilterErrorKind::ExpectedAttrPath => "expected an attribute path",
            FilterErrorKind::ExpectedOperator => "expected a comparison operator",
            FilterErrorKind::ExpectedValue => "expected a comparison value",
            FilterErrorKind::ExpectedLogical => "expected `and`, `or` or the end of the filter",
            FilterErrorKind::Expected(c) => return self.write_found(f, &format!("expected `{c}`")),
            FilterErrorKind::BadString => "invalid string literal",
            FilterErrorKind::BadNumber => "invalid number",
            FilterErrorKind::BadAttrPath => "invalid attribute path",
            FilterErrorKind::NestedValuePath => "a value filter `[...]` is not allowed here",
            FilterErrorKind::Trailing => "unexpected input after the end",
        };
        self.write_found(f, what)
    }
}

impl FilterError {
    fn write_found(&self, f: &mut fmt::Formatter<'_>, what: &str) -> fmt::Result {
        if self.found.is_empty() {
            write!(
                f,
                "{what} at column {}, found the end of the input",
                self.column
            )
        } else {
            write!(
                f,
                "{what} at column {}, found `{}`",
                self.column, self.found
            )
        }
    }
}

impl std::error::Error for FilterError {}
