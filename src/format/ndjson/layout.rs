//! A learned layout: the keys an NDJSON producer writes on every line, in
//! its order, so that a line is read against them instead of walked.
//!
//! Nearly every producer writes the same keys in the same order on every
//! line. The layout holds each key as the exact bytes `"name":`, learned
//! from a line the walk read whole, with the field it feeds looked up once.
//! A line is then read key by key: the bytes at the current position are
//! compared with the next expected key in one or two word compares, which
//! replaces finding the key's closing quote, checking the colon and hashing
//! the name. Values are skipped and checked exactly as the walk does.
//!
//! What makes this exact: an expected key matches only where the line holds
//! those very bytes, a string without quote or backslash inside followed by
//! a colon, so the walk would have found the same key, the same field and
//! the same value start. Anything else (another key, another order, an
//! escape, spaces, a nested value) hands the line to the walk at that key,
//! which reads the rest as it always does; what was read before stands, as
//! the walk would have read it in the same order.

use super::{Field, KeyTable};
use crate::lex::json::skip_string;

/// The most keys a layout holds; a line with more leaves the rest to the walk.
const MAX_KEYS: usize = 32;

/// The most keys expected at one position: producers that write `time` on
/// some lines and `@timestamp` on others, or one of two latency keys.
const MAX_ALTERNATIVES: usize = 4;

/// The longest `"name":` a layout holds: two 16-byte words.
const MAX_PATTERN: usize = 32;

/// After this many lines in a row that met a key the layout did not expect,
/// the layout is forgotten and learned anew;
/// doubled each time a layout earned fewer hits than that, so that a file
/// of ever-changing key orders does not pay for learning on every line.
const FORGET_AFTER: u32 = 8;

/// The most lines in a row that may miss before a layout is forgotten.
const MAX_FORGET_AFTER: u32 = 4096;

/// How many lines may each teach a new layout a key.
const YOUNG: u32 = 64;

/// Past [`YOUNG`], one line in this many that leaves the layout teaches it.
const LEARN_EVERY: u32 = 8;

/// One expected key.
#[derive(Clone, Copy, Debug)]
struct LayoutKey {
    /// `"name":`, little-endian, zero-padded to two words.
    pattern: [u128; 2],
    /// Which bytes of the two words the pattern covers.
    mask: [u128; 2],
    /// The pattern's length in bytes.
    len: usize,
    /// What the key feeds, looked up when learned.
    field: Option<(Field, u8)>,
}

impl LayoutKey {
    fn new(pattern: &[u8], field: Option<(Field, u8)>) -> LayoutKey {
        let mut bytes = [0u8; MAX_PATTERN];
        bytes[..pattern.len()].copy_from_slice(pattern);
        let word = |half: &[u8]| u128::from_le_bytes(half.try_into().expect("16 bytes"));
        let covered = |from: usize| match pattern.len().saturating_sub(from) {
            0 => 0,
            n if n >= 16 => u128::MAX,
            n => (1u128 << (8 * n)) - 1,
        };
        LayoutKey {
            pattern: [word(&bytes[..16]), word(&bytes[16..])],
            mask: [covered(0), covered(16)],
            len: pattern.len(),
            field,
        }
    }

    /// Where the value starts when `line[pos..]` begins with this key.
    #[inline(always)]
    fn value_start(&self, line: &[u8], pos: usize) -> Option<usize> {
        let matched = match line.get(pos..pos + MAX_PATTERN) {
            Some(window) => self.matches(window),
            // Near the end of the line: the rest, zero-padded, when the
            // pattern fits in it.
            None => {
                let rest = line.get(pos..).filter(|rest| rest.len() >= self.len)?;
                let mut window = [0u8; MAX_PATTERN];
                window[..rest.len()].copy_from_slice(rest);
                self.matches(&window)
            }
        };
        matched.then_some(pos + self.len)
    }

    /// Whether `window`, 32 bytes, starts with the pattern.
    #[inline(always)]
    fn matches(&self, window: &[u8]) -> bool {
        let word = |half: &[u8]| u128::from_le_bytes(half.try_into().expect("16 bytes"));
        let (first, second) = (word(&window[..16]), word(&window[16..MAX_PATTERN]));
        ((first ^ self.pattern[0]) & self.mask[0]) | ((second ^ self.pattern[1]) & self.mask[1]) == 0
    }
}

/// Whether a string or a literal starts at `line[pos]` (no space before
/// it, no object or array): a value the layout reads in place.
#[inline(always)]
pub(super) fn starts_scalar(line: &[u8], pos: usize) -> bool {
    !matches!(line.get(pos), None | Some(b'{' | b'[' | b' ' | b'\t' | b'\r' | b'\n'))
}

/// The keys expected at one position of the line: the first learned, then
/// alternatives, each with the lines it matched.
#[derive(Clone, Copy, Debug)]
struct Position {
    keys: [LayoutKey; MAX_ALTERNATIVES],
    count: usize,
    /// Lines each alternative matched (the first key's are not counted: it
    /// is never replaced).
    matched: [u32; MAX_ALTERNATIVES],
}

impl Position {
    /// Where a new alternative goes: a free slot, else the alternative
    /// that matched fewest lines (a rare order must not keep out a key
    /// many lines use).
    fn slot_for_new(&self) -> usize {
        if self.count < MAX_ALTERNATIVES {
            return self.count;
        }
        (1..MAX_ALTERNATIVES).min_by_key(|&slot| self.matched[slot]).unwrap_or(1)
    }
}

/// What the layout expects at a position of a line.
pub(super) enum Expected {
    /// An expected key is there: its value starts here, and feeds this.
    Value(usize, Option<(Field, u8)>),
    /// Another key, or no key, is there.
    Missed,
    /// The layout has no more positions.
    RanOut,
}

/// The keys expected on the next line, and when to learn them anew.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    positions: Vec<Position>,
    /// Lines in a row that met a key the layout did not expect.
    misses: u32,
    /// Lines read without a miss since the layout was last forgotten.
    hits: u64,
    /// Misses in a row that make the layout be forgotten.
    forget_after: u32,
    /// Lines that could have taught the layout a key since it was last
    /// forgotten.
    chances: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Layout { positions: Vec::new(), misses: 0, hits: 0, forget_after: FORGET_AFTER, chances: 0 }
    }
}

impl Layout {
    /// What is expected at the `index`th key of `line`, which starts at `pos`.
    #[inline(always)]
    pub(super) fn expect(&mut self, index: usize, line: &[u8], pos: usize) -> Expected {
        let Some(position) = self.positions.get_mut(index) else { return Expected::RanOut };
        if let Some(value_start) = position.keys[0].value_start(line, pos) {
            return Expected::Value(value_start, position.keys[0].field);
        }
        for slot in 1..position.count {
            if let Some(value_start) = position.keys[slot].value_start(line, pos) {
                position.matched[slot] = position.matched[slot].saturating_add(1);
                return Expected::Value(value_start, position.keys[slot].field);
            }
        }
        Expected::Missed
    }

    /// Learns the key at `line[pos]`, where the walk takes over at the
    /// `index`th key, as expected there: another key at that position (in
    /// place of the alternative that matched fewest lines when there is no
    /// room), or a new last position. Only a key that can be matched in
    /// place is learned: no escape in its name, a pattern of at most two
    /// words, and written compactly (`"name":value`) with a string or
    /// literal value.
    ///
    /// A young layout may learn from every line; after [`YOUNG`] chances,
    /// from one line in [`LEARN_EVERY`]: the lines that still leave it are
    /// mostly shuffled orders or nested values, which teach nothing that
    /// lasts, and a key many lines use still gets in within a few dozen.
    #[inline(always)]
    pub(super) fn learn(&mut self, index: usize, line: &[u8], pos: usize, table: &KeyTable) {
        self.chances = self.chances.saturating_add(1);
        if self.chances <= YOUNG || self.chances.is_multiple_of(LEARN_EVERY) {
            self.learn_key(index, line, pos, table);
        }
    }

    #[cold]
    #[inline(never)]
    fn learn_key(&mut self, index: usize, line: &[u8], pos: usize, table: &KeyTable) {
        let room = self.positions.get(index).is_some() || (index == self.positions.len() && index < MAX_KEYS);
        if !room || line.get(pos) != Some(&b'"') {
            return;
        }
        let Some(key_end) = skip_string(line, pos) else { return };
        let (name, pattern_end) = (pos + 1..key_end - 1, key_end + 1);
        if line.get(key_end) != Some(&b':')
            || pattern_end - pos > MAX_PATTERN
            || line[name.clone()].contains(&b'\\')
            || !starts_scalar(line, pattern_end)
        {
            return;
        }
        let key = LayoutKey::new(&line[pos..pattern_end], table.lookup(line, name.start, name.end));
        match self.positions.get_mut(index) {
            Some(position) => {
                let slot = position.slot_for_new();
                (position.keys[slot], position.matched[slot]) = (key, 0);
                position.count = position.count.max(slot + 1);
            }
            None => {
                self.positions.push(Position { keys: [key; MAX_ALTERNATIVES], count: 1, matched: [0; MAX_ALTERNATIVES] })
            }
        }
    }

    /// Notes how a line went: `missed` when it met a key the layout did
    /// not expect. Too many misses in a row forget the layout.
    #[inline(always)]
    pub(super) fn note(&mut self, missed: bool) {
        if !missed {
            self.misses = 0;
            self.hits += 1;
            return;
        }
        self.misses += 1;
        if self.misses >= self.forget_after {
            self.forget();
        }
    }

    #[cold]
    fn forget(&mut self) {
        self.forget_after = if self.hits < u64::from(self.forget_after) {
            (self.forget_after * 2).min(MAX_FORGET_AFTER)
        } else {
            FORGET_AFTER
        };
        self.positions.clear();
        self.misses = 0;
        self.hits = 0;
        self.chances = 0;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::NdjsonParser;
    use super::*;
    use crate::record::{Malformed, Record};

    /// Real lines: gateways, ECS and OpenTelemetry, common shapes, CTS
    /// traces, and the generator's lines with a body in a string.
    fn real_lines() -> Vec<&'static str> {
        let files = [
            include_str!("../../../fixtures/ndjson/gateway.ndjson"),
            include_str!("../../../fixtures/ndjson/ecs_otel.ndjson"),
            include_str!("../../../fixtures/ndjson/common_shapes.ndjson"),
            include_str!("../../../fixtures/ndjson/app_and_requests.ndjson"),
            include_str!("../../../fixtures/traces/operators.ndjson"),
            // Spaces and CRLF, which the layout leaves to the walk.
            concat!(
                r#"{"time": "2026-11-27T00:00:00Z", "status": 200, "request_time": 0.1 }"#,
                "\n",
                "{\"time\":\"2026-11-27T00:00:00Z\",\"status\":200,\"request_time\":0.1}\r\n",
                r#"{"time":"2026-11-27T00:00:00Z","status":200 ,"request_time":0.1	}"#,
                "\n",
                r#"{"time":"2026-11-27T00:00:00Z","status":200 }"#,
            ),
            concat!(
                r#"{"time":"2026-11-27T00:00:00.758Z","remote_addr":"10.1.251.171","request":"POST /v3/9f8e/tracker HTTP/1.1","status":400,"request_time":0.032756,"request_id":"5fa6","http_user_agent":"python-requests/2.31","resp_body":"{\"error_code\":\"CTS.0003\",\"error_msg\":\"Invalid message body.\"}"}"#,
                "\n",
                r#"{"time":"2026-11-27T00:00:00.036Z","remote_addr":"10.1.235.33","request":"PUT /v3/9f8e/tracker HTTP/1.1","status":204,"latency_ms":"10.204","request_id":"3817","http_user_agent":"python-requests/2.31"}"#,
            ),
        ];
        files.iter().flat_map(|text| text.split('\n')).filter(|line| !line.is_empty()).collect()
    }

    /// One change to a line: what malformed input looks like.
    #[derive(Clone, Debug)]
    enum Mutation {
        Keep,
        Delete(usize),
        Insert(usize, u8),
        Replace(usize, u8),
        Truncate(usize),
        /// What follows a line glued to the next.
        Append(u8),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let byte = prop::sample::select(b"\"\\{}[],: \tax0-.e".to_vec());
        prop_oneof![
            4 => Just(Mutation::Keep),
            1 => any::<usize>().prop_map(Mutation::Delete),
            1 => (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Insert(at, b)),
            1 => (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Replace(at, b)),
            1 => any::<usize>().prop_map(Mutation::Truncate),
            1 => byte.clone().prop_map(Mutation::Append),
        ]
    }

    fn mutate(line: &str, mutations: &[Mutation]) -> Vec<u8> {
        let mut bytes = line.as_bytes().to_vec();
        for mutation in mutations {
            let len = bytes.len();
            if len == 0 {
                break;
            }
            match *mutation {
                Mutation::Keep => {}
                Mutation::Delete(at) => drop(bytes.remove(at % len)),
                Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
                Mutation::Replace(at, b) => bytes[at % len] = b,
                Mutation::Truncate(at) => bytes.truncate(at % len),
                Mutation::Append(b) => bytes.push(b),
            }
        }
        bytes
    }

    proptest! {
        /// One parser that learns layouts and reads lines against them
        /// gives, line after line, what a fresh parser (no layout: the walk
        /// alone) gives: the same result, malformed kind included, and the
        /// same record, in summary and full reads.
        #[test]
        fn the_layout_reads_every_line_as_the_walk_does(
            steps in proptest::collection::vec(
                (any::<prop::sample::Index>(), proptest::collection::vec(mutation(), 1..4), any::<bool>(), 1..4usize),
                1..120,
            )
        ) {
            let lines = real_lines();
            let mut learning = NdjsonParser::default();
            // Each line given one to three times in a row, so that layouts
            // are learned whole before a changed line meets them.
            for (pick, changes, full, times) in &steps {
                let line = mutate(pick.get::<&str>(&lines), changes);
                for _ in 0..*times {
                    let (mut fast, mut walked) = (Record::default(), Record::default());
                    let fast_result = learning.parse(&line, *full, &mut fast);
                    let walked_result = NdjsonParser::default().walk(&line, *full, &mut walked);
                    prop_assert_eq!(fast_result, walked_result, "{}", String::from_utf8_lossy(&line));
                    prop_assert_eq!(fast, walked, "{}", String::from_utf8_lossy(&line));
                }
            }
        }
    }

    #[test]
    fn lines_of_one_layout_are_read_against_it() {
        let plain = r#"{"time":"2026-11-27T00:00:00Z","status":204,"request_time":0.01,"request_id":"a1"}"#;
        let with_body = r#"{"time":"2026-11-27T00:00:01Z","status":400,"request_time":0.02,"request_id":"a2","response":{"error_code":"CTS.0003"}}"#;
        let other_time = r#"{"@timestamp":"2026-11-27T00:00:02Z","status":200,"latency_ms":3,"request_id":"a3"}"#;
        let mut parser = NdjsonParser::default();
        // One key learned per line until the layout holds the line.
        for line in [plain; 4] {
            parser.parse(line.as_bytes(), false, &mut Record::default()).unwrap();
        }
        assert_eq!(parser.layout.positions.len(), 4);
        let hits = parser.layout.hits;
        for line in [plain, with_body].iter().cycle().take(10) {
            parser.parse(line.as_bytes(), false, &mut Record::default()).unwrap();
        }
        // A line that goes on past the layout with a nested value is no
        // miss, and the nested key is not learned.
        assert_eq!(parser.layout.positions.len(), 4);
        assert_eq!((parser.layout.misses, parser.layout.hits), (0, hits + 10));
        // Another time key and another latency key: alternatives, learned
        // one per line, after which the line is read whole.
        let mut record = Record::default();
        parser.parse(other_time.as_bytes(), false, &mut record).unwrap();
        assert_eq!((record.status, record.latency_us, parser.layout.misses), (Some(200), Some(3000), 1));
        parser.parse(other_time.as_bytes(), false, &mut Record::default()).unwrap();
        parser.parse(other_time.as_bytes(), false, &mut Record::default()).unwrap();
        assert_eq!(parser.layout.positions.iter().map(|p| p.count).collect::<Vec<_>>(), [2, 1, 2, 1]);
        assert_eq!(parser.layout.misses, 0);
    }

    #[test]
    fn what_follows_a_closing_brace_after_a_space_is_checked() {
        let line = r#"{"time":"2026-11-27T00:00:00Z","status":200}"#;
        let mut parser = NdjsonParser::default();
        for _ in 0..4 {
            parser.parse(line.as_bytes(), false, &mut Record::default()).unwrap();
        }
        for (broken, kind) in [
            (r#"{"time":"2026-11-27T00:00:00Z","status":200 }x"#, Malformed::InvalidJson),
            (r#"{"time":"2026-11-27T00:00:00Z","status":200 ,}"#, Malformed::InvalidJson),
            (r#"{"time":"2026-11-27T00:00:00Z","status":200 "#, Malformed::Truncated),
            (r#"{"time":"2026-11-27T00:00:00Z","status":"#, Malformed::Truncated),
            (r#"{"time":"2026-11-27T00:00:00Z","status":,"#, Malformed::InvalidJson),
        ] {
            assert_eq!(parser.parse(broken.as_bytes(), false, &mut Record::default()), Err(kind), "{broken}");
        }
        assert_eq!(parser.parse(br#"{"time":"2026-11-27T00:00:00Z","status":200 } "#, false, &mut Record::default()), Ok(()));
    }

    #[test]
    fn only_keys_that_can_be_matched_in_place_are_learned() {
        let table = KeyTable::new(super::super::BUILTIN_KEYS);
        let mut layout = Layout::default();
        let line = br#"{"time":"2026-11-27T10:00:00Z","a\"b":1,"x": 1,"response":{"status":200},"status":200}"#;
        layout.learn(0, line, 1, &table);
        assert_eq!(layout.positions.len(), 1);
        assert_eq!(layout.positions[0].keys[0].field, Some((Field::Time, 0)));
        for (key, why) in [("\"a\\", "an escape"), ("\"x\"", "a space"), ("\"response\"", "a nested value")] {
            let pos = line.windows(key.len()).position(|w| w == key.as_bytes()).unwrap();
            layout.learn(1, line, pos, &table);
            assert_eq!(layout.positions.len(), 1, "{why}");
        }
        let status = line.windows(9).rposition(|w| w == b"\"status\":").unwrap();
        layout.learn(3, line, status, &table);
        assert_eq!(layout.positions.len(), 1, "positions are learned in order");
        layout.learn(1, line, status, &table);
        assert_eq!(layout.positions[1].keys[0].field, Some((Field::Status, 0)));
    }

    #[test]
    fn a_grown_layout_learns_from_one_line_in_eight() {
        let table = KeyTable::new(super::super::BUILTIN_KEYS);
        let mut layout = Layout::default();
        let line = br#"{"a":1,"b":2}"#;
        layout.learn(0, line, 1, &table);
        for _ in 1..YOUNG {
            layout.learn(1, line, 1, &table);
        }
        assert_eq!(layout.positions[1].count, MAX_ALTERNATIVES, "a young layout learns every time");
        layout.positions[1].count = 1;
        let mut learned = 0;
        for _ in 0..LEARN_EVERY * 2 {
            let before = layout.positions[1].count;
            layout.learn(1, line, 1, &table);
            learned += usize::from(layout.positions[1].count > before);
        }
        assert_eq!(learned, 2);
    }

    #[test]
    fn a_layout_that_keeps_missing_is_forgotten_less_often() {
        let mut layout = Layout::default();
        let table = KeyTable::new(super::super::BUILTIN_KEYS);
        layout.learn(0, br#"{"a":1}"#, 1, &table);
        for _ in 0..FORGET_AFTER {
            assert_eq!(layout.positions.len(), 1);
            layout.note(true);
        }
        assert!(layout.positions.is_empty());
        assert_eq!(layout.forget_after, FORGET_AFTER * 2, "no hits: wait twice as long");
        for _ in 0..FORGET_AFTER * 2 {
            layout.note(false);
        }
        for _ in 0..FORGET_AFTER * 2 {
            layout.note(true);
        }
        assert_eq!(layout.forget_after, FORGET_AFTER, "it earned its keep: back to the start");
    }

    #[test]
    fn a_key_matches_only_its_own_bytes() {
        let key = LayoutKey::new(br#""status":"#, None);
        let line = br#"{"status":200,"request_time":0.1,"padding to make the line long":1}"#;
        assert_eq!(key.value_start(line, 1), Some(10));
        assert_eq!(key.value_start(line, 14), None);
        // Near the end, where two words do not fit.
        assert_eq!(key.value_start(br#"{"status":1}"#, 1), Some(10));
        assert_eq!(key.value_start(br#"{"statu":1}"#, 1), None);
        assert_eq!(key.value_start(br#"{"status""#, 1), None);
        // Longer than one word.
        let long = LayoutKey::new(br#""http_user_agent":"#, None);
        let line = br#"{"http_user_agent":"curl/8.0","padding to make it long":true}"#;
        assert_eq!(long.value_start(line, 1), Some(19));
        assert_eq!(long.value_start(br#"{"http_user_agenT":"curl/8.0","padding to make it long":true}"#, 1), None);
    }
}
