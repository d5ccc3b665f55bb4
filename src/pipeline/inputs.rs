//! What the scan learns of each input from its blocks, the same way for a
//! batch scan, a followed input read poll after poll and a resumed run:
//! its layout (detected from its head, or given), the W3C columns in
//! effect from block to block, what kind of foreign log it looks like, and
//! at the end its summary.

use std::sync::Arc;

use crate::aggregate::MalformedOfFile;
use crate::format::{self, Foreign, FormatKind, Layout};
use crate::input::{Block, BlockContent, InputStats, Source};
use crate::state::InputSummary;

use super::BufferLayout;

/// The per-input facts of a scan, by input index.
#[derive(Debug, Default)]
pub struct InputLayouts {
    /// The format given on the command line, if any.
    fixed: Option<FormatKind>,
    inputs: Vec<Known>,
}

#[derive(Clone, Debug, Default)]
struct Known {
    layout: Option<Layout>,
    /// For W3C: the `#Fields:` directive in effect after the blocks so far.
    w3c_fields: Option<Arc<[u8]>>,
    looks_like: Option<Foreign>,
}

impl InputLayouts {
    /// Facts for `inputs` inputs, read as `fixed` when a format was given.
    pub fn new(inputs: usize, fixed: Option<FormatKind>) -> InputLayouts {
        let known = Known { layout: fixed.map(Layout::plain), ..Known::default() };
        InputLayouts { fixed, inputs: vec![known; inputs] }
    }

    /// Adds an input (one found while following); returns its index.
    pub fn push(&mut self) -> usize {
        self.inputs.push(Known { layout: self.fixed.map(Layout::plain), ..Known::default() });
        self.inputs.len() - 1
    }

    /// Takes note of `block` of input `file` (its head, its W3C columns)
    /// and returns the layout to scan its lines with, or `None` when the
    /// input is skipped for what it looks like (an nginx error log among
    /// access logs, unless its format was given).
    pub fn prepare(&mut self, file: usize, block: &Block) -> Option<BufferLayout> {
        if let Some(head) = &block.head {
            self.learn_layout(file, head);
            if block.resumed {
                self.learn_directive(file, head);
            }
        }
        let known = &mut self.inputs[file];
        let layout = known.layout.unwrap_or(Layout::plain(FormatKind::fallback()));
        let mut buffer = BufferLayout::of(layout);
        if let BlockContent::Lines(buf) = &block.content {
            // The directive (W3C's columns) in effect where the block
            // starts, and the one it leaves for the next; a format without
            // directives has none.
            buffer.w3c_fields = known.w3c_fields.clone();
            if let Some(fields) = layout.kind.last_directive(buf.as_slice()) {
                known.w3c_fields = Some(fields.into());
            }
        }
        (!self.skipped(file)).then_some(buffer)
    }

    /// Learns the layout of input `file` from its `head` (its first lines),
    /// for an input whose reading starts after them: the directive (W3C's
    /// columns) in effect is then the head's, unless the blocks read say
    /// otherwise.
    pub fn learn(&mut self, file: usize, head: &[u8]) {
        self.learn_layout(file, head);
        self.learn_directive(file, head);
    }

    fn learn_layout(&mut self, file: usize, head: &[u8]) {
        let known = &mut self.inputs[file];
        known.looks_like = format::recognise(head);
        let detected = format::detect_layout(head);
        // A given format still has its lines unwrapped.
        known.layout = Some(Layout { wrapper: detected.wrapper, kind: self.fixed.unwrap_or(detected.kind) });
    }

    fn learn_directive(&mut self, file: usize, head: &[u8]) {
        let known = &mut self.inputs[file];
        if let Some(fields) = known.layout.and_then(|layout| layout.kind.last_directive(head)) {
            known.w3c_fields = Some(fields.into());
        }
    }

    /// The layout of input `file`, when known.
    pub fn layout(&self, file: usize) -> Option<Layout> {
        self.inputs[file].layout
    }

    /// Whether input `file` is left out for what it looks like.
    pub fn skipped(&self, file: usize) -> bool {
        self.fixed.is_none() && self.inputs[file].looks_like.is_some_and(Foreign::is_skipped)
    }

    /// The summary of input `file`, `source`, from what its reads
    /// gathered (`stats`), the `lines` and `malformed` lines counted, and
    /// the error that stopped reading it, if any.
    pub fn summary(
        &self,
        file: usize,
        source: &Source,
        read: &InputStats,
        lines: u64,
        malformed: MalformedOfFile,
    ) -> InputSummary {
        let known = &self.inputs[file];
        let bytes = read.end - read.start;
        InputSummary {
            path: source.to_string(),
            format: known.layout.map(|l| l.kind).filter(|_| bytes > 0),
            wrapper: known.layout.and_then(|l| l.wrapper).filter(|_| bytes > 0),
            compression: read.compression,
            bytes,
            raw_bytes: read.raw_bytes.load(std::sync::atomic::Ordering::Relaxed),
            lines,
            malformed: malformed.lines,
            not_requests: malformed.not_requests,
            fingerprint: (bytes > 0).then(|| read.fingerprint.finish()),
            looks_like: known.looks_like,
            skipped: self.skipped(file),
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{BlockReader, ReaderOptions};
    use std::io::Write;

    fn blocks(text: &str, block_size: usize) -> Vec<Block> {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(text.as_bytes()).unwrap();
        let options = ReaderOptions { block_size, max_line_len: 1 << 20 };
        BlockReader::new(vec![Source::File(tmp.path().to_owned())], options).collect()
    }

    #[test]
    fn the_head_decides_the_layout_for_every_block_of_its_input() {
        let text = "{\"status\":200}\n".repeat(50);
        let mut layouts = InputLayouts::new(1, None);
        let kinds: Vec<FormatKind> =
            blocks(&text, 64).iter().map(|b| layouts.prepare(0, b).unwrap().layout.kind).collect();
        assert!(kinds.len() > 5 && kinds.iter().all(|k| k.name() == "ndjson"), "{kinds:?}");
    }

    #[test]
    fn w3c_columns_carry_from_block_to_block() {
        let text = format!(
            "#Fields: date time sc-status\n{}#Fields: date time cs-uri-stem sc-status\n{}",
            "2026-01-01 00:00:00 200\n".repeat(10),
            "2026-01-01 00:00:00 /a 200\n".repeat(10)
        );
        let mut layouts = InputLayouts::new(1, None);
        let fields: Vec<Option<String>> = blocks(&text, 32)
            .iter()
            .map(|b| layouts.prepare(0, b).unwrap().w3c_fields.map(|f| String::from_utf8_lossy(&f).into_owned()))
            .collect();
        assert_eq!(fields[0], None);
        assert_eq!(fields.last().unwrap().as_deref(), Some("#Fields: date time cs-uri-stem sc-status"));
    }

    #[test]
    fn an_nginx_error_log_is_skipped_unless_its_format_was_given() {
        let text = "2026/11/27 10:00:00 [error] 12#12: *1 open() failed\n".repeat(5);
        let block = &blocks(&text, 1 << 20)[0];
        let mut detected = InputLayouts::new(1, None);
        assert!(detected.prepare(0, block).is_none());
        let mut given = InputLayouts::new(1, FormatKind::named("combined"));
        assert!(given.prepare(0, block).is_some());
    }
}
