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
use crate::lex::json::{skip_string, skip_value};

/// The most keys a layout holds; a line with more leaves the rest to the walk.
const MAX_KEYS: usize = 32;

/// The longest `"name":` a layout holds: two 16-byte words.
const MAX_PATTERN: usize = 32;

/// After this many lines in a row that left the layout at a key it did not
/// expect, the layout is learned again (doubled each time a learned layout
/// earned fewer hits than that, so a file of ever-changing key orders does
/// not pay for learning on every line).
const RELEARN_AFTER: u32 = 8;

/// The most lines in a row that may miss before a layout is learned again.
const MAX_RELEARN_AFTER: u32 = 4096;

/// One expected key.
#[derive(Clone, Copy, Debug)]
pub(super) struct LayoutKey {
    /// `"name":`, little-endian, zero-padded to two words.
    pattern: [u128; 2],
    /// Which bytes of the two words the pattern covers.
    mask: [u128; 2],
    /// The pattern's length in bytes.
    len: usize,
    /// What the key feeds, looked up when learned.
    pub(super) field: Option<(Field, u8)>,
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
    pub(super) fn value_start(&self, line: &[u8], pos: usize) -> Option<usize> {
        let matched = match line.get(pos..pos + MAX_PATTERN) {
            Some(window) => {
                let first = u128::from_le_bytes(window[..16].try_into().expect("16 bytes"));
                let second = u128::from_le_bytes(window[16..].try_into().expect("16 bytes"));
                ((first ^ self.pattern[0]) & self.mask[0]) | ((second ^ self.pattern[1]) & self.mask[1]) == 0
            }
            // Near the end of the line: byte by byte.
            None => {
                let mut bytes = [0u8; MAX_PATTERN];
                bytes[..16].copy_from_slice(&self.pattern[0].to_le_bytes());
                bytes[16..].copy_from_slice(&self.pattern[1].to_le_bytes());
                line.get(pos..pos + self.len) == Some(&bytes[..self.len])
            }
        };
        matched.then_some(pos + self.len)
    }
}

/// The keys expected on the next line, and when to learn them again.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    keys: Vec<LayoutKey>,
    /// Lines in a row that left the layout at an unexpected key.
    misses: u32,
    /// Lines read to the layout's end since it was learned.
    hits: u64,
    /// Misses in a row that make the layout be learned again.
    relearn_after: u32,
}

impl Default for Layout {
    fn default() -> Self {
        // Nothing learned yet: the first line read whole teaches it.
        Layout { keys: Vec::new(), misses: RELEARN_AFTER, hits: 0, relearn_after: RELEARN_AFTER }
    }
}

impl Layout {
    /// The `index`th expected key.
    #[inline(always)]
    pub(super) fn key(&self, index: usize) -> Option<&LayoutKey> {
        self.keys.get(index)
    }

    /// Notes how a line went: `read_to_end` when the line ended or the
    /// layout ran out before any key it did not expect.
    #[inline(always)]
    pub(super) fn note(&mut self, read_to_end: bool) {
        if read_to_end {
            self.misses = 0;
            self.hits += 1;
        } else {
            self.misses += 1;
        }
    }

    /// Whether enough lines missed that the next line read whole should
    /// teach the layout.
    #[inline(always)]
    pub(super) fn wants_to_learn(&self) -> bool {
        self.misses >= self.relearn_after
    }

    /// Learns the keys of `line`, a JSON object the walk has read without
    /// error, up to the first key that cannot be matched in place: one with
    /// an escape or a pattern longer than two words, one whose value is an
    /// object or array, or one not written compactly (`"name":value,`).
    pub(super) fn learn(&mut self, line: &[u8], table: &KeyTable) {
        if !self.keys.is_empty() {
            self.relearn_after = if self.hits < u64::from(self.relearn_after) {
                (self.relearn_after * 2).min(MAX_RELEARN_AFTER)
            } else {
                RELEARN_AFTER
            };
        }
        self.keys.clear();
        self.misses = 0;
        self.hits = 0;
        let Some(mut pos) = line.iter().position(|&b| b == b'{').map(|open| open + 1) else { return };
        while self.keys.len() < MAX_KEYS && line.get(pos) == Some(&b'"') {
            let Some(key_end) = skip_string(line, pos) else { return };
            let (name, pattern_end) = (pos + 1..key_end - 1, key_end + 1);
            if line.get(key_end) != Some(&b':') || pattern_end - pos > MAX_PATTERN || line[name.clone()].contains(&b'\\')
            {
                return;
            }
            if matches!(line.get(pattern_end), None | Some(b'{' | b'[' | b' ' | b'\t' | b'\r' | b'\n')) {
                return;
            }
            let Some(value_end) = skip_value(line, pattern_end) else { return };
            let field = table.lookup(line, name.start, name.end);
            self.keys.push(LayoutKey::new(&line[pos..pattern_end], field));
            match line.get(value_end) {
                Some(b',') => pos = value_end + 1,
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::NdjsonParser;
    use super::*;
    use crate::record::Record;

    /// Real lines: gateways, ECS and OpenTelemetry, common shapes, CTS
    /// traces, and the generator's lines with a body in a string.
    fn real_lines() -> Vec<&'static str> {
        let files = [
            include_str!("../../../fixtures/ndjson/gateway.ndjson"),
            include_str!("../../../fixtures/ndjson/ecs_otel.ndjson"),
            include_str!("../../../fixtures/ndjson/common_shapes.ndjson"),
            include_str!("../../../fixtures/ndjson/app_and_requests.ndjson"),
            include_str!("../../../fixtures/traces/operators.ndjson"),
            concat!(
                r#"{"time":"2026-11-27T00:00:00.758Z","remote_addr":"10.1.251.171","request":"POST /v3/9f8e/tracker HTTP/1.1","status":400,"request_time":0.032756,"request_id":"5fa6","http_user_agent":"python-requests/2.31","resp_body":"{\"error_code\":\"CTS.0003\",\"error_msg\":\"Invalid message body.\"}"}"#,
                "\n",
                r#"{"time":"2026-11-27T00:00:00.036Z","remote_addr":"10.1.235.33","request":"PUT /v3/9f8e/tracker HTTP/1.1","status":204,"latency_ms":"10.204","request_id":"3817","http_user_agent":"python-requests/2.31"}"#,
            ),
        ];
        files.iter().flat_map(|text| text.lines()).filter(|line| !line.is_empty()).collect()
    }

    /// One change to a line: what malformed input looks like.
    #[derive(Clone, Debug)]
    enum Mutation {
        Keep,
        Delete(usize),
        Insert(usize, u8),
        Replace(usize, u8),
        Truncate(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let byte = prop::sample::select(b"\"\\{}[],: \tax0-.e".to_vec());
        prop_oneof![
            4 => Just(Mutation::Keep),
            1 => any::<usize>().prop_map(Mutation::Delete),
            1 => (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Insert(at, b)),
            1 => (any::<usize>(), byte).prop_map(|(at, b)| Mutation::Replace(at, b)),
            1 => any::<usize>().prop_map(Mutation::Truncate),
        ]
    }

    fn mutate(line: &str, mutation: &Mutation) -> Vec<u8> {
        let mut bytes = line.as_bytes().to_vec();
        let len = bytes.len();
        match *mutation {
            Mutation::Keep => {}
            Mutation::Delete(at) => drop(bytes.remove(at % len)),
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Replace(at, b) => bytes[at % len] = b,
            Mutation::Truncate(at) => bytes.truncate(at % len),
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
            steps in proptest::collection::vec((any::<prop::sample::Index>(), mutation(), any::<bool>()), 1..120)
        ) {
            let lines = real_lines();
            let mut learning = NdjsonParser::default();
            for (pick, change, full) in &steps {
                let line = mutate(pick.get::<&str>(&lines), change);
                let (mut fast, mut walked) = (Record::default(), Record::default());
                let fast_result = learning.parse(&line, *full, &mut fast);
                let walked_result = NdjsonParser::default().parse(&line, *full, &mut walked);
                prop_assert_eq!(fast_result, walked_result, "{}", String::from_utf8_lossy(&line));
                prop_assert_eq!(fast, walked, "{}", String::from_utf8_lossy(&line));
            }
        }
    }

    #[test]
    fn lines_of_one_layout_are_read_against_it() {
        let plain = r#"{"time":"2026-11-27T00:00:00Z","status":204,"request_time":0.01,"request_id":"a1"}"#;
        let with_body = r#"{"time":"2026-11-27T00:00:01Z","status":400,"request_time":0.02,"request_id":"a2","response":{"error_code":"CTS.0003"}}"#;
        let other_order = r#"{"status":200,"time":"2026-11-27T00:00:02Z"}"#;
        let mut parser = NdjsonParser::default();
        for line in [plain, with_body].iter().cycle().take(10) {
            parser.parse(line.as_bytes(), false, &mut Record::default()).unwrap();
        }
        // Learned from the first line (four keys); the other line, with a
        // body in a fifth key, goes on where the layout ends: no miss.
        assert_eq!(parser.layout.keys.len(), 4);
        assert_eq!((parser.layout.misses, parser.layout.hits), (0, 9));
        let mut record = Record::default();
        parser.parse(other_order.as_bytes(), false, &mut record).unwrap();
        assert_eq!((record.status, parser.layout.misses), (Some(200), 1));
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

    #[test]
    fn learning_stops_where_a_key_cannot_be_matched_in_place() {
        let table = KeyTable::new(super::super::BUILTIN_KEYS);
        let mut layout = Layout::default();
        assert!(layout.wants_to_learn());
        layout.learn(br#"{"time":"2026-11-27T10:00:00Z","status":200,"a\"b":1,"c":2}"#, &table);
        assert_eq!(layout.keys.len(), 2);
        assert_eq!(layout.keys[1].field, Some((Field::Status, 0)));
        layout.learn(br#"{"x":1, "status":200}"#, &table);
        assert_eq!(layout.keys.len(), 1, "a space after the comma ends the layout");
        layout.learn(br#"{"x":1,"response":{"status":200},"y":2}"#, &table);
        assert_eq!(layout.keys.len(), 1, "a nested value ends the layout");
        layout.learn(br#"{"a":1,"b":"two"}"#, &table);
        assert_eq!(layout.keys.len(), 2);
    }

    #[test]
    fn a_layout_that_keeps_missing_is_learned_again_less_often() {
        let table = KeyTable::new(super::super::BUILTIN_KEYS);
        let mut layout = Layout::default();
        layout.learn(br#"{"a":1}"#, &table);
        for _ in 0..RELEARN_AFTER {
            assert!(!layout.wants_to_learn());
            layout.note(false);
        }
        assert!(layout.wants_to_learn());
        layout.learn(br#"{"b":1}"#, &table);
        assert_eq!(layout.relearn_after, RELEARN_AFTER * 2, "no hits: wait twice as long");
        for _ in 0..RELEARN_AFTER * 2 {
            layout.note(true);
        }
        layout.note(false);
        layout.learn(br#"{"c":1}"#, &table);
        assert_eq!(layout.relearn_after, RELEARN_AFTER, "it earned its keep: back to the start");
    }
}
