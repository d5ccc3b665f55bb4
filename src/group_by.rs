//! The fields error lines are grouped by, beyond the `--top` lists: each
//! `--by FIELD`, and for CTS traces who did it, which operation, on which
//! resource, from where and how.
//!
//! A field's value is looked up only on lines with an error body (and on
//! `incident` traces), after the line has parsed, so grouping costs the
//! lines without errors nothing.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::format::{FieldRef, ParseLine};
use crate::lex::json::decode_escapes;
use crate::lex::text::is_absent;
use crate::record::{FieldValue, Record, TraceRating};

/// How many `--by` fields a scan takes.
pub const MAX_BY: usize = 8;

/// A field to group error lines by, as `--by` names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ByField {
    name: String,
    kind: Kind,
}

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// One of the `--top` lists (`endpoint`, `project`, `client`,
    /// `source`): counted there already.
    Listed,
    /// Who: a CTS trace's user, else the access log's `$remote_user`.
    User,
    /// The HTTP status.
    Status,
    /// The HTTP method.
    Method,
    /// The user agent.
    UserAgent,
    /// A CTS trace's `trace_name`, with its `service_type`.
    Operation,
    /// A CTS trace's `resource_type`/`resource_name`.
    Resource,
    /// A CTS trace's `source_ip`; `system` when empty (system actions).
    SourceIp,
    /// A CTS trace's `trace_type`.
    TraceType,
    /// A dotted NDJSON path.
    Path,
    /// A log-format variable (`$host`).
    Variable,
}

/// The built-in names, and what each is.
const BUILT_IN: [(&str, Kind); 12] = [
    ("endpoint", Kind::Listed),
    ("project", Kind::Listed),
    ("client", Kind::Listed),
    ("source", Kind::Listed),
    ("user", Kind::User),
    ("status", Kind::Status),
    ("method", Kind::Method),
    ("user_agent", Kind::UserAgent),
    ("operation", Kind::Operation),
    ("resource", Kind::Resource),
    ("source_ip", Kind::SourceIp),
    ("trace_type", Kind::TraceType),
];

/// What every CTS trace's error lines are grouped by, with `--top`.
const TRACE_FIELDS: [(&str, Kind); 5] = [
    ("user", Kind::User),
    ("operation", Kind::Operation),
    ("resource", Kind::Resource),
    ("source_ip", Kind::SourceIp),
    ("trace_type", Kind::TraceType),
];

impl ByField {
    /// Reads a `--by` value: a built-in name (`user`, `status`, …), a
    /// `$variable` of the log layout, or a dotted NDJSON path.
    ///
    /// # Errors
    ///
    /// When the name is empty, or has spaces or control characters.
    pub fn parse(text: &str) -> Result<ByField, Error> {
        let bad = |reason: &str| Error::InvalidValue {
            value: text.to_owned(),
            expected: format!("is not a --by field: {reason}"),
        };
        if let Some(&(name, kind)) = BUILT_IN.iter().find(|(name, _)| *name == text) {
            return Ok(ByField { name: name.to_owned(), kind });
        }
        let (kind, body) = match text.strip_prefix('$') {
            Some(variable) => (Kind::Variable, variable.trim_start_matches('{').trim_end_matches('}')),
            None => (Kind::Path, text),
        };
        if body.is_empty() || body.split('.').any(str::is_empty) {
            return Err(bad(
                "give a built-in name (user, status, method, user_agent, operation, …), a dotted NDJSON path \
                 (user.name) or a $variable of the log layout ($host)",
            ));
        }
        if body.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("a field name has no spaces or control characters"));
        }
        if kind == Kind::Variable && !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("a $variable's name is letters, digits and _ ($host, $upstream_addr)"));
        }
        let name = if kind == Kind::Variable { format!("${body}") } else { body.to_owned() };
        Ok(ByField { name, kind })
    }

    /// The name reports show (`user`, `http.request.method`, `$host`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the `--top` lists count it already (`endpoint`, …).
    pub fn is_listed(&self) -> bool {
        self.kind == Kind::Listed
    }

    /// Its value on `line`, parsed into `record` by `parser`.
    pub fn value<'a, P: ParseLine>(
        &'a self,
        parser: &mut P,
        line: &'a [u8],
        record: &Record<'a>,
    ) -> Option<Cow<'a, [u8]>> {
        let path = |parser: &mut P, path: &str| parser.lookup(line, FieldRef::Path(path));
        let value = match self.kind {
            Kind::Listed => None,
            Kind::User => trace_user(parser, line).or_else(|| parser.lookup(line, FieldRef::Variable("remote_user"))),
            Kind::Status => record.status.map(|status| Cow::Owned(status.to_string().into_bytes())),
            Kind::Method => record.method.map(Cow::Borrowed),
            Kind::UserAgent => {
                first_of(parser, line, ["user_agent", "http_user_agent", "user_agent.original", "UserAgent"])
                    .or_else(|| parser.lookup(line, FieldRef::Variable("http_user_agent")))
            }
            Kind::Operation => record.operation.map(|operation| match record.service {
                Some(service) => {
                    Cow::Owned([&decode_escapes(operation)[..], b" (", &decode_escapes(service), b")"].concat())
                }
                None => decode_escapes(operation),
            }),
            Kind::Resource => {
                let mut found = [None, None];
                parser.lookup_paths(line, &["resource_type", "resource_name"], &mut found);
                match found {
                    [Some(kind), Some(name)] if !name.is_empty() => Some(Cow::Owned([&kind[..], b"/", &name].concat())),
                    [kind, _] => kind,
                }
            }
            Kind::SourceIp => {
                path(parser, "source_ip").map(|ip| if ip.is_empty() { Cow::Borrowed(&b"system"[..]) } else { ip })
            }
            Kind::TraceType => path(parser, "trace_type"),
            Kind::Path => path(parser, &self.name),
            Kind::Variable => parser.lookup(line, FieldRef::Variable(&self.name[1..])),
        };
        value.filter(|v| !is_absent(v))
    }
}

/// A CTS trace's user: `user` when it is a string; for an agency or a
/// federated user its `principal_urn`; else `user.name`, then
/// `user.user_name`.
fn trace_user<'a, P: ParseLine>(parser: &mut P, line: &'a [u8]) -> Option<Cow<'a, [u8]>> {
    let mut found = [None, None, None, None, None];
    parser.lookup_paths(line, &["user", "user.type", "user.principal_urn", "user.name", "user.user_name"], &mut found);
    let [user, kind, urn, name, user_name] = found;
    let assumed = kind.is_some_and(|kind| matches!(&kind[..], b"AssumedAgency" | b"ExternalUser"));
    match (user, urn) {
        (Some(user), _) => Some(user),
        (None, Some(urn)) if assumed => Some(urn),
        (None, urn) => name.or(user_name).or(urn),
    }
}

/// The value of the first of `paths` the line has, in one walk.
fn first_of<'a, P: ParseLine, const N: usize>(
    parser: &mut P,
    line: &'a [u8],
    paths: [&str; N],
) -> Option<Cow<'a, [u8]>> {
    let mut found: [Option<Cow<'a, [u8]>>; N] = std::array::from_fn(|_| None);
    parser.lookup_paths(line, &paths, &mut found);
    found.into_iter().flatten().next()
}

/// `by` as a scan keeps it: without `--top`'s own lists, each name once,
/// in name order (so that `--by a --by b` and `--by b --by a` are one
/// grouping).
pub fn canonical(by: &[ByField]) -> Vec<ByField> {
    let mut by: Vec<ByField> = by.iter().filter(|f| !f.is_listed()).cloned().collect();
    by.sort_by(|a, b| a.name.cmp(&b.name));
    by.dedup_by(|a, b| a.name == b.name);
    by
}

impl fmt::Display for ByField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl From<ByField> for String {
    fn from(field: ByField) -> String {
        field.name
    }
}

impl TryFrom<String> for ByField {
    type Error = Error;

    fn try_from(name: String) -> Result<ByField, Error> {
        ByField::parse(&name)
    }
}

/// The fields a scan looks up: on lines with an error body, the `--by`
/// fields and (with `--top`) a CTS trace's user, operation, resource,
/// source and type; on `incident` traces, the trace fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupBy {
    /// `--by`, in the order given, without the listed ones.
    by: Vec<ByField>,
    /// The trace fields `--by` did not name.
    trace: Vec<ByField>,
    /// Whether error lines are grouped (`--by` or `--top`).
    errors: bool,
}

impl GroupBy {
    /// Groups error lines by `by`, and by the trace fields too when
    /// `breakdowns` (`--top`) are kept.
    pub fn new(by: &[ByField], breakdowns: bool) -> GroupBy {
        let by = canonical(by);
        let trace = TRACE_FIELDS
            .iter()
            .filter(|(name, _)| !by.iter().any(|f| f.name == *name))
            .map(|&(name, kind)| ByField { name: name.to_owned(), kind })
            .collect();
        let errors = breakdowns || !by.is_empty();
        GroupBy { by, trace, errors }
    }

    /// Whether a line with an error body (`error`) or of this `record`
    /// has fields to look up.
    pub fn wants(&self, error: bool, record: &Record<'_>) -> bool {
        (error && self.errors) || record.rating == Some(TraceRating::Incident)
    }

    /// Appends the values of the fields `line` has to `out`: every `--by`
    /// field, and the trace fields when the line is a CTS trace.
    pub fn values<'a, P: ParseLine>(
        &'a self,
        parser: &mut P,
        line: &'a [u8],
        record: &Record<'a>,
        out: &mut Vec<FieldValue<'a>>,
    ) {
        let trace = if record.operation.is_some() { &self.trace[..] } else { &[] };
        for field in self.by.iter().chain(trace) {
            if let Some(value) = field.value(parser, line, record) {
                out.push(FieldValue { name: &field.name, value });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, FormatKind, LogFormat};

    fn values(format: Format, by: &[&str], traces: bool, line: &str) -> Vec<(String, String)> {
        let by: Vec<ByField> = by.iter().map(|name| ByField::parse(name).unwrap()).collect();
        let group = GroupBy::new(&by, traces);
        let mut parser = format.parser(&Default::default());
        let mut record = Record::default();
        let mut out = Vec::new();
        let line = line.as_bytes();
        parser.parse(line, true, &mut record).unwrap();
        parser.with(Values { group: &group, line, record: &record, out: &mut out });
        let mut found: Vec<(String, String)> =
            out.into_iter().map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned())).collect();
        found.sort();
        found
    }

    struct Values<'g, 'o, 'a> {
        group: &'g GroupBy,
        line: &'a [u8],
        record: &'o Record<'a>,
        out: &'o mut Vec<(String, Vec<u8>)>,
    }

    impl crate::format::WithParser for Values<'_, '_, '_> {
        type Output = ();

        fn run<P: ParseLine>(self, parser: &mut P) {
            let mut values = Vec::new();
            self.group.values(parser, self.line, self.record, &mut values);
            self.out.extend(values.into_iter().map(|v| (v.name.to_owned(), v.value.into_owned())));
        }
    }

    fn ndjson() -> Format {
        Format::from_kind(FormatKind::named("ndjson").unwrap())
    }

    /// `expected`, in the order [`values`] gives: by name.
    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn trace_fields_in_every_documented_shape() {
        let line = r#"{"trace_name":"createTracker","service_type":"CTS","resource_type":"tracker","resource_name":"system","source_ip":"","trace_type":"ConsoleAction","user":{"name":"alice","domain":{"name":"acme"}},"code":"400"}"#;
        assert_eq!(
            values(ndjson(), &[], true, line),
            pairs(&[
                ("user", "alice"),
                ("operation", "createTracker (CTS)"),
                ("resource", "tracker/system"),
                ("source_ip", "system"),
                ("trace_type", "ConsoleAction"),
            ])
        );
        let string_user = r#"{"code":"400","trace_name":"x","user":"bob","source_ip":"10.0.0.1"}"#;
        assert_eq!(
            values(ndjson(), &["user"], true, string_user),
            pairs(&[("user", "bob"), ("operation", "x"), ("source_ip", "10.0.0.1")])
        );
        let agency = r#"{"code":400,"trace_name":"x","user":{"type":"AssumedAgency","name":"acme/ops","principal_urn":"iam::d1:assumed-agency:ops/s1"}}"#;
        assert_eq!(
            values(ndjson(), &["user"], false, agency),
            pairs(&[("user", "iam::d1:assumed-agency:ops/s1"), ("operation", "x")])
        );
        let user_name = r#"{"code":"400","trace_name":"x","user":{"user_name":"carol"}}"#;
        assert_eq!(values(ndjson(), &["user"], false, user_name), pairs(&[("user", "carol"), ("operation", "x")]));
        // Not a trace: the trace fields are not looked up.
        assert_eq!(values(ndjson(), &[], true, r#"{"user":"dave","status":400}"#), pairs(&[]));
        let group = GroupBy::new(&[], false);
        let incident = Record { rating: Some(TraceRating::Incident), ..Record::default() };
        assert!(!group.wants(true, &Record::default()) && group.wants(false, &incident));
    }

    #[test]
    fn paths_variables_and_built_in_names() {
        let line =
            r#"{"status":400,"http":{"request":{"method":"PUT"}},"upstream":"10.0.0.9:80","user_agent":"curl/8"}"#;
        assert_eq!(
            values(
                ndjson(),
                &["http.request.method", "upstream", "status", "method", "user_agent", "endpoint", "missing"],
                false,
                line
            ),
            pairs(&[
                ("http.request.method", "PUT"),
                ("upstream", "10.0.0.9:80"),
                ("status", "400"),
                ("method", "PUT"),
                ("user_agent", "curl/8")
            ])
        );
        let layout =
            LogFormat::parse(r#"$host $remote_addr - $remote_user "$request" $status "$http_user_agent""#).unwrap();
        let line = r#"api.example.com 10.0.0.1 - alice "GET /v3/x HTTP/1.1" 403 "sdk/1""#;
        assert_eq!(
            values(Format::custom(layout), &["$host", "user", "user_agent", "${remote_addr}"], false, line),
            pairs(&[
                ("$host", "api.example.com"),
                ("user", "alice"),
                ("user_agent", "sdk/1"),
                ("$remote_addr", "10.0.0.1")
            ])
        );
        let vhost =
            r#"api.example.com:443 10.0.0.1 - bob [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 500 1 "-" "ua/2""#;
        let combined = Format::from_kind(FormatKind::named("combined").unwrap());
        assert_eq!(
            values(combined, &["$host", "user", "user_agent", "$http_referer"], false, vhost),
            pairs(&[("$host", "api.example.com"), ("user", "bob"), ("user_agent", "ua/2")])
        );
    }

    #[test]
    fn absent_values_are_no_values() {
        let line = r#"{"status":400,"upstream":"-","peer":"","node":null,"op":"x\u0041"}"#;
        assert_eq!(values(ndjson(), &["upstream", "peer", "node", "op"], false, line), pairs(&[("op", "xA")]));
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "$", "a..b", ".a", "a b", "${}", "${}x", "$a.b", "$$x"] {
            assert!(ByField::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ByField::parse("${host}").unwrap().name(), "$host");
    }
}
