//! Rendering of the built-in catalogue: `cts-logscan codes` and
//! `cts-logscan explain CODE`.

use std::io::{self, Write};

use crate::catalog::{CodeInfo, Edition};

/// Writes the whole catalogue, as a table or as a JSON array.
///
/// # Errors
///
/// Whatever writing to `wtr` returns.
pub fn render_codes(codes: &[CodeInfo], json: bool, wtr: &mut dyn Write) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *wtr, codes)?;
        return writeln!(wtr);
    }
    writeln!(wtr, "{:<10} {:<6} {:<10} MESSAGE", "CODE", "STATUS", "EDITION")?;
    for info in codes {
        let edition = match info.edition {
            Edition::Documented => "documented",
            Edition::Newer => "newer",
        };
        writeln!(wtr, "{:<10} {:<6} {:<10} {}", info.code, info.http_status, edition, info.message)?;
    }
    Ok(())
}

/// Writes everything known about one code.
///
/// # Errors
///
/// Whatever writing to `wtr` returns.
pub fn render_explain(info: &CodeInfo, json: bool, wtr: &mut dyn Write) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *wtr, info)?;
        return writeln!(wtr);
    }
    let or_unknown = |text: String| {
        if text.is_empty() {
            "not given in the documentation edition this catalogue was built from".to_owned()
        } else {
            text
        }
    };
    writeln!(wtr, "{}  (HTTP {})", info.code, info.http_status)?;
    writeln!(wtr, "message:     {}", info.message)?;
    writeln!(wtr, "description: {}", or_unknown(info.description_text()))?;
    writeln!(wtr, "solution:    {}", or_unknown(info.solution_text()))?;
    if info.edition == Edition::Newer {
        writeln!(wtr, "note:        added by a newer edition of the CTS error-code documentation")?;
    }
    Ok(())
}
