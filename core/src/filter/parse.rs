//! Hand-written recursive-descent parser for filters (RFC 7644 §3.4.2.2) and PATCH
//! paths (§3.5.2), with byte spans in errors and a nesting limit.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER      ; and binds tighter than or
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! PATH      = attrPath / valuePath [subAttr]           ; PATCH
//! ```
//!
//! Keywords and literals are case-insensitive (ABNF strings are).

use super::error::{FilterError, FilterErrorKind as K};
use super::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;
/// The deepest nesting of parentheses, `not` and `[…]` accepted.
pub const MAX_DEPTH: usize = 32;

/// Parse a filter with the default limits ([`MAX_LEN`], [`MAX_DEPTH`]).
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    parse_with_limits(input, MAX_LEN, MAX_DEPTH)
}

/// Parse a filter with explicit length and depth limits.
pub fn parse_with_limits(
    input: &str,
    max_len: usize,
    max_depth: usize,
) -> Result<Filter, FilterError> {
    if input.len() > max_len {
        return Err(FilterError::new(K::TooLong(max_len), input, 0..0));
    }
    let mut p = Parser {
        src: input,
        pos: 0,
        depth: 0,
        max_depth,
    };
    p.skip_ws();
    if p.at_end() {
        return Err(FilterError::new(K::Empty, input, 0..0));
    }
    let f = p.filter(false)?;
    p.skip_ws();
    if !p.at_end() {
        let span = p.word_span();
        return Err(p.err(K::ExpectedLogical, span));
    }
    Ok(f)
}

/// Parse a bare attribute path (`userName`, `name.givenName`,
/// `urn:…:enterprise:2.0:User:department`). A bare schema URN (no attribute after
/// it, e.g. `urn:…:enterprise:2.0:User`) gives `Ok(None)`.
pub fn parse_attr_path(input: &str) -> Result<Option<AttrPath>, FilterError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(FilterError::new(K::ExpectedAttrPath, input, 0..0));
    }
    if s.len() > MAX_LEN {
        return Err(FilterError::new(K::TooLong(MAX_LEN), input, 0..0));
    }
    if let Some(bad) = s.find(|c: char| !is_path_char(c)) {
        let c = s[bad..].chars().next().map_or(1, char::len_utf8);
        return Err(FilterError::new(K::BadAttrPath, s, bad..bad + c));
    }
    split_attr_path(s, 0, s)
}

/// Parse a PATCH path: `attrPath` or `valuePath [subAttr]`, e.g.
/// `emails[type eq "work"].value` or `members[value eq "2819c223"]`.
pub fn parse_value_path(input: &str) -> Result<PatchPath, FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError::new(K::TooLong(MAX_LEN), input, 0..0));
    }
    let mut p = Parser {
        src: input,
        pos: 0,
        depth: 0,
        max_depth: MAX_DEPTH,
    };
    p.skip_ws();
    if p.at_end() {
        return Err(FilterError::new(K::Empty, input, 0..0));
    }
    let start = p.pos;
    let word = p.path_word();
    let path = split_attr_path(word, start, input)?;
    let Some(attr) = path else {
        // A bare extension URN as a path: the whole extension object.
        return Ok(PatchPath {
            attr: AttrPath::new(Some(word), "", None),
            filter: None,
            sub_attr: None,
        });
    };
    let mut out = PatchPath {
        attr,
        filter: None,
        sub_attr: None,
    };
    if p.peek() == Some(b'[') {
        if out.attr.sub_attr.is_some() {
            return Err(p.err(K::NestedValuePath, p.pos..p.pos + 1));
        }
        p.pos += 1;
        p.enter()?;
        let inner = p.filter(true)?;
        p.depth -= 1;
        p.skip_ws();
        p.expect(b']')?;
        out.filter = Some(inner);
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let s = p.pos;
            let sub = p.path_word();
            if sub.is_empty() || !is_attr_name(sub) {
                return Err(p.err(K::BadAttrPath, s..p.pos.max(s + 1)));
            }
            out.sub_attr = Some(sub.to_owned());
        }
    }
    p.skip_ws();
    if !p.at_end() {
        let span = p.word_span();
        return Err(p.err(K::Trailing, span));
    }
    Ok(out)
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '$')
}

fn is_attr_name(s: &str) -> bool {
    crate::schema::is_valid_attr_name(s)
}

/// Split `word` (found at byte `offset` of `src`) into an [`AttrPath`].
fn split_attr_path(word: &str, offset: usize, src: &str) -> Result<Option<AttrPath>, FilterError> {
    let bad = || FilterError::new(K::BadAttrPath, src, offset..offset + word.len().max(1));
    if word.is_empty() {
        return Err(FilterError::new(K::ExpectedAttrPath, src, offset..offset));
    }
    let (uri, rest) = if word.len() > 4 && word[..4].eq_ignore_ascii_case("urn:") {
        // The URI is everything up to the last ':' (URNs contain dots, e.g. "2.0").
        let colon = word.rfind(':').expect("invariant: starts with urn:");
        let rest = &word[colon + 1..];
        if rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$') {
            return Err(bad());
        }
        // A bare schema URN ends in a schema name that starts with a capital letter
        // ("…:2.0:User"); attribute names in the RFC schemas start lower-case. A bare
        // URN has no attribute part: report it as such.
        if is_schema_urn(word) {
            return Ok(None);
        }
        (Some(&word[..colon]), rest)
    } else {
        if word.contains(':') {
            return Err(bad());
        }
        (None, word)
    };
    let mut parts = rest.split('.');
    let name = parts.next().unwrap_or("");
    let sub = parts.next();
    if parts.next().is_some() || !is_attr_name(name) || sub.is_some_and(|s| !is_attr_name(s)) {
        return Err(bad());
    }
    Ok(Some(AttrPath {
        uri: uri.map(str::to_owned),
        name: name.to_owned(),
        sub_attr: sub.map(str::to_owned),
    }))
}

/// Whether a `urn:` word names a schema rather than an attribute in one: schema
/// URNs end in `…:2.0:User`, `…:2.0:Group` or a custom `…:Name` after a version
/// segment. The heuristic: the segment before the last is a version (`\d+(\.\d+)*`)
/// and the last starts with an upper-case letter.
fn is_schema_urn(word: &str) -> bool {
    let mut segs = word.rsplit(':');
    let last = segs.next().unwrap_or("");
    let before = segs.next().unwrap_or("");
    let is_version = !before.is_empty()
        && before
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    is_version && last.starts_with(|c: char| c.is_ascii_uppercase()) && !last.contains('.')
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, kind: K, span: std::ops::Range<usize>) -> FilterError {
        FilterError::new(kind, self.src, span)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            // The opening character was just consumed: point at it.
            let at = self.pos.saturating_sub(1);
            return Err(self.err(K::TooDeep(self.max_depth), at..at + 1));
        }
        Ok(())
    }

    fn expect(&mut self, c: u8) -> Result<(), FilterError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            let span = self.word_span();
            Err(self.err(K::Expected(c as char), span))
        }
    }

    /// The span of the "word" at the cursor, for error messages: a run of
    /// non-space characters, at least one character (or empty at the end).
    fn word_span(&self) -> std::ops::Range<usize> {
        let rest = &self.src[self.pos..];
        let len = match rest.chars().next() {
            None => 0,
            Some(c) if "()[]".contains(c) => 1,
            Some(_) => rest
                .find(|c: char| c.is_whitespace() || "()[]".contains(c))
                .unwrap_or(rest.len()),
        };
        self.pos..self.pos + len
    }

    /// Consume a run of attribute-path characters.
    fn path_word(&mut self) -> &'a str {
        let start = self.pos;
        let rest = &self.src[start..];
        let len = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
        self.pos += len;
        &self.src[start..start + len]
    }

    /// If the next word is `kw` (case-insensitive) followed by a delimiter, consume it.
    fn keyword(&mut self, kw: &str) -> bool {
        let rest = &self.src.as_bytes()[self.pos..];
        if rest.len() >= kw.len()
            && rest[..kw.len()].eq_ignore_ascii_case(kw.as_bytes())
            && rest.get(kw.len()).is_none_or(|b| {
                !b.is_ascii_alphanumeric() && !matches!(b, b'-' | b'_' | b':' | b'.' | b'$')
            })
        {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    /// `or`-level expression. `in_brackets`: inside a value filter, where nested
    /// value paths are not allowed.
    fn filter(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(in_brackets)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.pos > save && self.keyword("or") {
                self.require_ws()?;
                let right = self.and_expr(in_brackets)?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn and_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(in_brackets)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.pos > save && self.keyword("and") {
                self.require_ws()?;
                let right = self.unary(in_brackets)?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn require_ws(&mut self) -> Result<(), FilterError> {
        let save = self.pos;
        self.skip_ws();
        if self.pos == save && self.peek() != Some(b'(') {
            let span = self.word_span();
            return Err(self.err(K::ExpectedAttrPath, span));
        }
        Ok(())
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        self.skip_ws();
        let start = self.pos;
        if self.keyword("not") {
            self.skip_ws();
            if self.peek() != Some(b'(') {
                let span = self.word_span();
                return Err(self.err(K::Expected('('), span));
            }
            self.pos += 1;
            self.enter()?;
            let inner = self.filter(in_brackets)?;
            self.skip_ws();
            self.expect(b')')?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.pos = start;
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.enter()?;
            let inner = self.filter(in_brackets)?;
            self.skip_ws();
            self.expect(b')')?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attr_expr(in_brackets)
    }

    fn attr_expr(&mut self, in_brackets: bool) -> Result<Filter, FilterError> {
        let start = self.pos;
        let word = self.path_word();
        if word.is_empty() {
            let span = self.word_span();
            return Err(self.err(K::ExpectedAttrPath, span));
        }
        let path = split_attr_path(word, start, self.src)?
            .ok_or_else(|| self.err(K::BadAttrPath, start..self.pos))?;
        if self.peek() == Some(b'[') {
            if in_brackets || path.sub_attr.is_some() {
                return Err(self.err(K::NestedValuePath, self.pos..self.pos + 1));
            }
            self.pos += 1;
            self.enter()?;
            let inner = self.filter(true)?;
            self.skip_ws();
            self.expect(b']')?;
            self.depth -= 1;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let save = self.pos;
        self.skip_ws();
        if self.pos == save {
            let span = self.word_span();
            return Err(self.err(K::ExpectedOperator, span));
        }
        if self.keyword("pr") {
            return Ok(Filter::Present(path));
        }
        let op_start = self.pos;
        let op_word = self.path_word();
        let Some(op) = CompareOp::parse(op_word).filter(|_| !op_word.is_empty()) else {
            self.pos = op_start;
            let span = self.word_span();
            return Err(self.err(K::ExpectedOperator, span));
        };
        let save = self.pos;
        self.skip_ws();
        if self.pos == save {
            let span = self.word_span();
            return Err(self.err(K::ExpectedValue, span));
        }
        let value = self.comp_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn comp_value(&mut self) -> Result<CompValue, FilterError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                if self.keyword("true") {
                    Ok(CompValue::Bool(true))
                } else if self.keyword("false") {
                    Ok(CompValue::Bool(false))
                } else if self.keyword("null") {
                    Ok(CompValue::Null)
                } else {
                    let span = self.word_span();
                    Err(self.err(K::ExpectedValue, span))
                }
            }
        }
    }

    fn string(&mut self) -> Result<CompValue, FilterError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.err(K::BadString, start..self.src.len())),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let lit = &self.src[start..=i];
        let s: String =
            serde_json::from_str(lit).map_err(|_| self.err(K::BadString, start..i + 1))?;
        self.pos = i + 1;
        Ok(CompValue::Str(s))
    }

    fn number(&mut self) -> Result<CompValue, FilterError> {
        let start = self.pos;
        let rest = &self.src[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let lit = &rest[..len];
        let n: serde_json::Number = serde_json::from_str(lit)
            .ok()
            .filter(|_| !lit.is_empty())
            .ok_or_else(|| self.err(K::BadNumber, start..start + len.max(1)))?;
        self.pos += len;
        Ok(CompValue::Num(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Filter {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    fn cmp(path: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare(parse_attr_path(path).unwrap().unwrap(), op, v)
    }

    fn st(s: &str) -> CompValue {
        CompValue::Str(s.to_owned())
    }

    #[test]
    fn simple_comparisons() {
        assert_eq!(
            p(r#"userName eq "bjensen""#),
            cmp("userName", CompareOp::Eq, st("bjensen"))
        );
        assert_eq!(
            p(r#"userName EQ "x""#),
            cmp("userName", CompareOp::Eq, st("x"))
        );
        assert_eq!(
            p(r#"name.familyName co "O'Malley""#),
            cmp("name.familyName", CompareOp::Co, st("O'Malley"))
        );
        assert_eq!(p("title pr"), Filter::Present(AttrPath::simple("title")));
        assert_eq!(
            p("active eq TRUE"),
            cmp("active", CompareOp::Eq, CompValue::Bool(true))
        );
        assert_eq!(p("x eq null"), cmp("x", CompareOp::Eq, CompValue::Null));
        assert_eq!(
            p("n ge -1.5e3"),
            cmp(
                "n",
                CompareOp::Ge,
                CompValue::Num(serde_json::from_str("-1.5e3").unwrap())
            )
        );
    }

    #[test]
    fn urn_qualified_paths_keep_dots_in_the_urn() {
        let f = p(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "J""#);
        let Filter::Compare(path, ..) = f else {
            panic!()
        };
        assert_eq!(
            path.uri.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(path.name, "name");
        assert_eq!(path.sub_attr.as_deref(), Some("familyName"));
        let f = p(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
        );
        let Filter::Compare(path, ..) = f else {
            panic!()
        };
        assert_eq!(path.name, "employeeNumber");
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let f = p(r#"a eq "1" or b eq "2" and c eq "3""#);
        assert_eq!(
            f,
            Filter::Or(
                Box::new(cmp("a", CompareOp::Eq, st("1"))),
                Box::new(Filter::And(
                    Box::new(cmp("b", CompareOp::Eq, st("2"))),
                    Box::new(cmp("c", CompareOp::Eq, st("3")))
                ))
            )
        );
    }

    #[test]
    fn grouping_and_not() {
        let f = p(r#"(a eq "1" or b eq "2") and not (c pr)"#);
        assert_eq!(f.to_string(), r#"(a eq "1" or b eq "2") and not (c pr)"#);
    }

    #[test]
    fn value_paths() {
        let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
        assert!(matches!(f, Filter::ValuePath(ref a, _) if a.name == "emails"));
        let f = p(r#"id eq "g" and members[value eq "u"]"#);
        assert_eq!(f.to_string(), r#"id eq "g" and members[value eq "u"]"#);
    }

    #[test]
    fn rfc_7644_examples_round_trip() {
        for s in [
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            r#"a eq "x\"y\\z""#,
            r#"a eq "1" and (b eq "2" and c eq "3")"#,
            r#"a eq "1" or (b eq "2" or c eq "3")"#,
        ] {
            let f = p(s);
            assert_eq!(f.to_string(), s, "canonical print of {s}");
            assert_eq!(p(&f.to_string()), f, "round trip of {s}");
        }
    }

    #[test]
    fn error_messages_name_the_column() {
        assert_eq!(
            err(r#"userName eqq "x""#),
            "expected a comparison operator at column 10, found `eqq`"
        );
        assert_eq!(
            err(r#"userName eq"#),
            "expected a comparison value at column 12, found the end of the input"
        );
        assert_eq!(
            err(r#"userName eq "x"#),
            "invalid string literal at column 13, found `\"x`"
        );
        assert_eq!(
            err(r#"userName eq "x" andd b pr"#),
            "expected `and`, `or` or the end of the filter at column 17, found `andd`"
        );
        assert_eq!(err(""), "the filter is empty");
        assert_eq!(err("   "), "the filter is empty");
        assert_eq!(
            err(r#"(a pr"#),
            "expected `)` at column 6, found the end of the input"
        );
        assert_eq!(
            err(r#"a eq bareword"#),
            "expected a comparison value at column 6, found `bareword`"
        );
        assert_eq!(
            err(r#"emails[type[x eq "1"]]"#),
            "a value filter `[...]` is not allowed here at column 12, found `[`"
        );
        assert_eq!(
            err(r#"a.b.c pr"#),
            "invalid attribute path at column 1, found `a.b.c`"
        );
        assert_eq!(
            err(r#"1a pr"#),
            "invalid attribute path at column 1, found `1a`"
        );
        assert_eq!(
            err(r#"a eq 1..2"#),
            "invalid number at column 6, found `1..2`"
        );
        assert_eq!(err(r#"not a pr"#), "expected `(` at column 5, found `a`");
        assert_eq!(
            err(r#"é eq "x""#),
            "expected an attribute path at column 1, found `é`"
        );
        assert_eq!(
            err(r#"a eq "é" b"#),
            "expected `and`, `or` or the end of the filter at column 10, found `b`"
        );
    }

    #[test]
    fn nesting_and_length_limits() {
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            parse(&deep).unwrap_err().to_string(),
            "the filter nests deeper than 32 levels at column 33"
        );
        let ok = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
        assert!(parse(&ok).is_ok());
        let long = format!("a eq \"{}\"", "x".repeat(MAX_LEN));
        assert_eq!(
            parse(&long).unwrap_err().to_string(),
            "the filter is longer than 16384 bytes"
        );
        // A long chain of `and` is not nesting.
        let chain = vec!["a pr"; 500].join(" and ");
        assert!(parse(&chain).is_ok());
    }

    #[test]
    fn patch_paths() {
        let pp = parse_value_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(pp.attr, AttrPath::simple("emails"));
        assert_eq!(pp.sub_attr.as_deref(), Some("value"));
        assert_eq!(pp.to_string(), r#"emails[type eq "work"].value"#);
        let pp = parse_value_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
            .unwrap();
        assert!(pp.filter.is_some() && pp.sub_attr.is_none());
        let pp =
            parse_value_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
                .unwrap();
        assert_eq!(pp.attr.name, "manager");
        let pp =
            parse_value_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
        assert_eq!(pp.attr.name, "");
        assert_eq!(
            parse_value_path(r#"emails[type eq "work"] x"#)
                .unwrap_err()
                .to_string(),
            "unexpected input after the end at column 24, found `x`"
        );
        assert_eq!(
            parse_value_path(r#"name.givenName[a pr]"#)
                .unwrap_err()
                .to_string(),
            "a value filter `[...]` is not allowed here at column 15, found `[`"
        );
        assert!(parse_value_path("").is_err());
    }

    #[test]
    fn bare_paths() {
        assert_eq!(
            parse_attr_path("name.givenName")
                .unwrap()
                .unwrap()
                .to_string(),
            "name.givenName"
        );
        assert_eq!(
            parse_attr_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap(),
            None
        );
        assert!(parse_attr_path("a b").is_err());
        assert!(parse_attr_path("").is_err());
    }
}
