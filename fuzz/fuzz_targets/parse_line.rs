//! Every line parser on arbitrary lines, with and without the full record.
#![no_main]

use cts_logscan::format::{AccessParser, CustomParser, LineParser, LogFormat, NdjsonParser};
use cts_logscan::record::Record;
use libfuzzer_sys::fuzz_target;

const MAIN: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rt=$request_time urt="$upstream_response_time" "$resp_body""#;

fuzz_target!(|line: &[u8]| {
    let format = LogFormat::parse(MAIN).expect("valid layout");
    let mut parsers = [
        LineParser::from(NdjsonParser::default()),
        LineParser::from(AccessParser::new(true)),
        LineParser::from(AccessParser::new(false)),
        LineParser::from(CustomParser::new(format)),
    ];
    for parser in &mut parsers {
        for full in [false, true] {
            let _ = parser.parse(line, full, &mut Record::default());
        }
    }
});
