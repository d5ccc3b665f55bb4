//! Line formats: a registry of formats, detection, and one parser per
//! format.
//!
//! A format parser turns one line (without its terminator) into a borrowed
//! [`Record`] or says why it could not ([`Malformed`]); see
//! [`crate::record`] for that contract. Parsers never allocate per line and
//! never panic, whatever the bytes. A new input format is a new file here
//! that fills a `Record`, plus one line in [`FORMATS`]'s registry; nothing
//! downstream changes. Siblings do not import one another: what they share
//! lives in [`crate::lex`] or here.
//!
//! A format is known everywhere by its [`FormatKind`], a handle on its
//! [`FormatSpec`]: the stable name (`--format`, states, JSON reports), how
//! detection recognises it, and how its parser is built. Nothing outside
//! this module names a format's parser type.

mod detect;
mod foreign;
mod wrap;

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

pub use custom::LogFormat;
pub use detect::{Layout, detect, detect_layout};
pub use foreign::{Foreign, recognise};
pub use ndjson::{Field, FieldOverrides, LatencyUnit};

pub use wrap::{UnwrapBuf, Unwrapped, Wrapper};

use crate::record::{Malformed, OverrideUse, Record};

/// Declares the format files, the registry [`FORMATS`] and the parser
/// dispatch: one entry per file, `module: ParserType => [SPEC, …]`, its
/// specs in registry order. See [`FORMATS`].
macro_rules! registry {
    ($(#[$doc:meta])* $($module:ident: $parser:ident => [$($spec:ident),+ $(,)?]),+ $(,)?) => {
        $(mod $module;)+
        $(pub use $module::$parser;)+

        $(#[$doc])*
        pub static FORMATS: &[&FormatSpec] = &[$($(&$module::$spec),+),+];

        /// A parser of one of the registered types.
        #[derive(Debug)]
        #[allow(clippy::enum_variant_names)]
        enum AnyParser {
            $($parser($parser),)+
        }

        $(impl From<$parser> for LineParser {
            fn from(parser: $parser) -> LineParser {
                LineParser(AnyParser::$parser(parser))
            }
        })+

        impl LineParser {
            /// Runs `job` with the parser, as its own type: the one
            /// dispatch is here, so a job that loops over lines (the line
            /// scanner) runs a loop compiled for each parser type, with no
            /// dispatch per line.
            pub fn with<J: WithParser>(&mut self, job: J) -> J::Output {
                match &mut self.0 {
                    $(AnyParser::$parser(parser) => job.run(parser),)+
                }
            }

            /// `(name, use)` of every NDJSON field override the parser
            /// looked for; empty for other formats.
            pub fn override_uses(&self) -> Vec<(String, OverrideUse)> {
                match &self.0 {
                    $(AnyParser::$parser(parser) => ParseLine::override_uses(parser),)+
                }
            }
        }
    };
}

registry! {
    /// Every input format, in the order `--format` lists them and detection
    /// credits a line to (see [`detect`]).
    ///
    /// # Adding a format
    ///
    /// 1. Write `src/format/<name>.rs`: a parser type that implements
    ///    [`ParseLine`] (one per worker thread; no allocation per line, no
    ///    panic on any bytes), and a `pub(super) static` [`FormatSpec`]
    ///    naming it, saying how detection recognises it ([`Detect`]) and
    ///    how its parser is built ([`Build`]). Import only `super::…`,
    ///    [`crate::lex`] and [`crate::record`], never a sibling.
    /// 2. Add its line below: `<name>: <Parser> => [<SPEC>],`.
    ///
    /// That is all: `--format` offers it, detection tries it, the scanner
    /// builds and runs its parser, and states and reports carry its name.
    /// The name is part of the state schema: never rename one.
    ///
    /// Detection ranks (see [`Detect::Lines`]): ndjson 0, haproxy 1,
    /// common 2, combined 3 (the fallback).
    ndjson: NdjsonParser => [NDJSON],
    access: AccessParser => [COMBINED, COMMON],
    w3c: W3cParser => [W3C],
    haproxy: HaproxyParser => [HAPROXY],
    custom: CustomParser => [CUSTOM],
}

/// What the registry knows of a format.
#[derive(Debug)]
pub struct FormatSpec {
    /// The stable name: the `--format` value, and `format` in states and
    /// JSON reports. Lower case; never renamed.
    pub name: &'static str,
    /// What the format is, in a few words (`--help` shows it).
    pub help: &'static str,
    /// How detection recognises the format.
    pub detect: Detect,
    /// How its parser is built.
    pub build: Build,
    /// For a format whose lines depend on a directive before them (W3C's
    /// `#Fields:`): the last such directive in some bytes, which the next
    /// block of the input starts under (blocks are parsed in parallel).
    pub last_directive: Option<LastDirective>,
}

/// Finds the last directive in some bytes: see
/// [`FormatSpec::last_directive`].
pub type LastDirective = fn(&[u8]) -> Option<&[u8]>;

/// How detection recognises a format from the first non-blank lines of an
/// input (see [`detect`]).
#[derive(Debug)]
pub enum Detect {
    /// Never detected; only chosen by hand.
    Never,
    /// A line for which this returns true settles detection at once (W3C's
    /// `#Fields:`): the first sample line that is one decides.
    Marker(fn(&[u8]) -> bool),
    /// Counted: the format reads some of the sample lines.
    Lines {
        /// Which of the sample lines read as this format, one flag per
        /// line. A line counts for the first format, in registry order,
        /// that reads it.
        reads: fn(&[&[u8]]) -> Vec<bool>,
        /// Where the format stands when the counts are weighed, lowest
        /// first: a format wins when it read more lines than all formats of
        /// a higher rank together. The highest rank is the fallback, for an
        /// input where nothing else wins. Ranks are unique.
        rank: u8,
        /// When no sample line reads as any format: an input whose first
        /// non-blank byte is this one is read as this format (its lines
        /// then show up as malformed, with samples).
        first_byte: Option<u8>,
    },
}

/// How a format's parser is built.
#[derive(Debug)]
pub enum Build {
    /// From the NDJSON field overrides (formats other than NDJSON ignore
    /// them). `--format` offers these formats.
    Fields(fn(&FieldOverrides) -> LineParser),
    /// From a layout given on the command line (`--log-format`); such a
    /// format is never detected, and a detected kind of it reads as the
    /// fallback.
    Layout(fn(&LogFormat) -> LineParser),
}

/// A format of the registry: a handle on its [`FormatSpec`], compared and
/// hashed by name. Its name is what states, reports and `--format` use.
#[derive(Clone, Copy)]
pub struct FormatKind(&'static FormatSpec);

impl FormatKind {
    /// Every format, in registry order.
    pub fn all() -> impl Iterator<Item = FormatKind> {
        FORMATS.iter().map(|&spec| FormatKind(spec))
    }

    /// The formats `--format` offers, in registry order.
    pub fn selectable() -> impl Iterator<Item = FormatKind> {
        FormatKind::all().filter(|kind| matches!(kind.0.build, Build::Fields(_)))
    }

    /// The formats detection can return, in registry order.
    pub fn detectable() -> impl Iterator<Item = FormatKind> {
        FormatKind::all().filter(|kind| !matches!(kind.0.detect, Detect::Never))
    }

    /// The format detection falls back to: the counted format of the
    /// highest rank.
    pub fn fallback() -> FormatKind {
        let rank = |kind: &FormatKind| match kind.0.detect {
            Detect::Lines { rank, .. } => Some(rank),
            Detect::Never | Detect::Marker(_) => None,
        };
        FormatKind::all().filter(|kind| rank(kind).is_some()).max_by_key(rank).unwrap_or(FormatKind(&access::COMBINED))
    }

    /// The format of this name; `None` for a name no format has.
    pub fn named(name: &str) -> Option<FormatKind> {
        FormatKind::all().find(|kind| kind.name() == name)
    }

    /// The stable name (see [`FormatSpec::name`]).
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// What the format is, in a few words.
    pub fn help(self) -> &'static str {
        self.0.help
    }

    /// What the registry knows of the format.
    pub fn spec(self) -> &'static FormatSpec {
        self.0
    }

    /// Whether the format reads a layout given on the command line
    /// (`--log-format`) rather than one of its own.
    pub fn takes_layout(self) -> bool {
        matches!(self.0.build, Build::Layout(_))
    }

    /// The last directive in `data` that lines after it depend on (see
    /// [`FormatSpec::last_directive`]); `None` for formats without
    /// directives.
    pub fn last_directive(self, data: &[u8]) -> Option<&[u8]> {
        self.0.last_directive.and_then(|last| last(data))
    }
}

impl PartialEq for FormatKind {
    fn eq(&self, other: &FormatKind) -> bool {
        std::ptr::eq(self.0, other.0) || self.0.name == other.0.name
    }
}

impl Eq for FormatKind {}

impl Hash for FormatKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl fmt::Debug for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The line format to read inputs as: a format of the registry, with the
/// layout of one that takes it (`--log-format`). A format that takes a
/// layout cannot be built without one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    kind: FormatKind,
    layout: Option<LogFormat>,
}

impl Format {
    /// A layout given with `--log-format`.
    pub fn custom(layout: LogFormat) -> Format {
        Format { kind: FormatKind(&custom::CUSTOM), layout: Some(layout) }
    }

    /// The format of a detected or named kind; a kind that takes a layout
    /// is never detected, so it reads as the [fallback](FormatKind::fallback).
    pub fn from_kind(kind: FormatKind) -> Format {
        let kind = if kind.takes_layout() { FormatKind::fallback() } else { kind };
        Format { kind, layout: None }
    }

    /// Which format this is.
    pub fn kind(&self) -> FormatKind {
        self.kind
    }

    /// A parser for this format; `fields` names the NDJSON keys.
    pub fn parser(&self, fields: &FieldOverrides) -> LineParser {
        match (&self.kind.0.build, &self.layout) {
            (Build::Fields(build), _) => build(fields),
            (Build::Layout(build), Some(layout)) => build(layout),
            // Never: only `custom` gives a layout kind, with its layout
            // (the fallback is built from fields: a test holds it).
            (Build::Layout(_), None) => Format::from_kind(FormatKind::fallback()).parser(fields),
        }
    }
}

/// A parser for one format, with its per-thread state. Build one per
/// worker with [`Format::parser`], or from a parser type with `into()`.
#[derive(Debug)]
pub struct LineParser(AnyParser);

/// What every format parser does. The line scanner runs its loop once per
/// parser type (see [`LineParser::with`]), so the call is not dispatched
/// per line.
pub trait ParseLine {
    /// Parses one line without its terminator. `full` asks for every field;
    /// without it a parser fills in only time, status and latency (the rest
    /// matters only for lines with an error body) and may stop early. The
    /// fields go into `record`, which should start out empty; after an error
    /// it holds whatever was read before it.
    fn parse_line<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed>;

    /// Whether `line` is a directive of the format (a W3C `#` line), taken
    /// in by the parser rather than counted as a request.
    fn directive(&mut self, _line: &[u8]) -> bool {
        false
    }

    /// Takes the directive in effect where a block starts, found by
    /// [`FormatSpec::last_directive`] in the bytes before it.
    fn resume(&mut self, _directive: &[u8]) {}

    /// `(name, use)` of every NDJSON field override looked for.
    fn override_uses(&self) -> Vec<(String, OverrideUse)> {
        Vec::new()
    }

    /// The value of `field` on `line` (a line this parser parsed), for
    /// fields the record does not carry (`--by`). Asked only of lines with
    /// an error body, so it may walk the line again. `None` when the line
    /// lacks it or the format has no such field.
    fn lookup<'a>(&mut self, _line: &'a [u8], _field: FieldRef<'_>) -> Option<Cow<'a, [u8]>> {
        None
    }

    /// [`ParseLine::lookup`] of several dotted paths: `found[i]` gets the
    /// value of `paths[i]`. A parser that can find them all in one walk
    /// (NDJSON) does.
    fn lookup_paths<'a>(&mut self, line: &'a [u8], paths: &[&str], found: &mut [Option<Cow<'a, [u8]>>]) {
        for (path, slot) in paths.iter().zip(found.iter_mut()) {
            *slot = self.lookup(line, FieldRef::Path(path));
        }
    }
}

/// A field asked of a line by name, beyond its record (`--by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRef<'n> {
    /// A dotted path into an NDJSON object (`user.name`, `upstream`).
    Path(&'n str),
    /// A variable of an access-log layout, without its `$` (`host`,
    /// `remote_user`).
    Variable(&'n str),
}

/// Work done with a parser of any type: see [`LineParser::with`].
pub trait WithParser {
    /// What the work gives.
    type Output;

    /// Does the work with `parser`.
    fn run<P: ParseLine>(self, parser: &mut P) -> Self::Output;
}

/// Parses one line with any parser.
struct ParseOne<'r, 'a> {
    line: &'a [u8],
    full: bool,
    record: &'r mut Record<'a>,
}

impl WithParser for ParseOne<'_, '_> {
    type Output = Result<(), Malformed>;

    fn run<P: ParseLine>(self, parser: &mut P) -> Self::Output {
        parser.parse_line(self.line, self.full, self.record)
    }
}

impl LineParser {
    /// Parses one line; see [`ParseLine::parse_line`]. A field is invalid
    /// only if no other key gave it a value ([`settle_invalid`]).
    pub fn parse<'a>(&mut self, line: &'a [u8], full: bool, record: &mut Record<'a>) -> Result<(), Malformed> {
        self.with(ParseOne { line, full, record: &mut *record })?;
        settle_invalid(record);
        Ok(())
    }
}

/// A field is invalid only if no other key of the line gave it a value.
pub fn settle_invalid(record: &mut Record<'_>) {
    record.invalid.time &= record.time.is_none();
    record.invalid.status &= record.status.is_none();
    record.invalid.latency &= record.latency_us.is_none();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lower_case_and_stable() {
        let names: Vec<&str> = FormatKind::all().map(FormatKind::name).collect();
        // These names are in states and reports: never rename one.
        assert_eq!(names, ["ndjson", "combined", "common", "w3c", "haproxy", "custom"]);
        for name in &names {
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{name}");
            assert_eq!(FormatKind::named(name).map(FormatKind::name), Some(*name));
        }
        assert_eq!(FormatKind::named("auto"), None);
    }

    #[test]
    fn selectable_and_detectable_formats() {
        let names = |kinds: &mut dyn Iterator<Item = FormatKind>| kinds.map(FormatKind::name).collect::<Vec<_>>();
        assert_eq!(names(&mut FormatKind::selectable()), ["ndjson", "combined", "common", "w3c", "haproxy"]);
        assert_eq!(names(&mut FormatKind::detectable()), ["ndjson", "combined", "common", "w3c", "haproxy"]);
        assert_eq!(FormatKind::fallback().name(), "combined");
        // `Format::parser` builds the fallback for a layout kind without one.
        assert!(!FormatKind::fallback().takes_layout());
        assert!(FormatKind::named("w3c").is_some_and(|w3c| w3c.last_directive(b"#Fields: date\n").is_some()));
    }

    #[test]
    fn ranks_are_unique() {
        let mut ranks: Vec<u8> = FORMATS
            .iter()
            .filter_map(|spec| match spec.detect {
                Detect::Lines { rank, .. } => Some(rank),
                Detect::Never | Detect::Marker(_) => None,
            })
            .collect();
        let counted = ranks.len();
        ranks.sort_unstable();
        ranks.dedup();
        assert_eq!(ranks.len(), counted);
    }

    #[test]
    fn a_layout_kind_reads_as_the_fallback_unless_given_its_layout() {
        let custom = FormatKind::named("custom").unwrap();
        assert!(custom.takes_layout());
        assert_eq!(Format::from_kind(custom).kind(), FormatKind::fallback());
        let layout = LogFormat::parse("$remote_addr [$time_local] $status").unwrap();
        let format = Format::custom(layout);
        assert_eq!(format.kind(), custom);
        let mut record = Record::default();
        let line = b"1.2.3.4 [10/Oct/2000:13:55:36 -0700] 503";
        format.parser(&FieldOverrides::default()).parse(line, false, &mut record).unwrap();
        assert_eq!(record.status, Some(503));
    }

    /// Starts a parser under a W3C `#Fields:` directive.
    struct Resume;

    impl WithParser for Resume {
        type Output = ();

        fn run<P: ParseLine>(self, parser: &mut P) {
            parser.resume(b"#Fields: date time sc-status time-taken");
        }
    }

    #[test]
    fn every_built_parser_parses_its_own_lines() {
        let lines: [(&str, &[u8]); 5] = [
            ("ndjson", br#"{"status":404,"request_time":0.25}"#),
            ("combined", b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 404 1 \"-\" \"ua\" 0.25"),
            ("common", b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 404 1 0.25"),
            ("haproxy", b"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/250 404 2750 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\""),
            ("w3c", b"2026-11-27 10:00:00 404 250"),
        ];
        for (name, line) in lines {
            let mut parser = Format::from_kind(FormatKind::named(name).unwrap()).parser(&FieldOverrides::default());
            // Columns for W3C; the other formats have no directives.
            parser.with(Resume);
            let mut record = Record::default();
            parser.parse(line, true, &mut record).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!((record.status, record.latency_us), (Some(404), Some(250_000)), "{name}");
        }
    }
}
