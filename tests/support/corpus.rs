//! Synthetic log corpora with exact ground truth.
//!
//! [`generate`] writes API-gateway NDJSON or nginx access-log traffic and
//! returns, computed independently of `cts-logscan`, what a correct scan must
//! report: line accounting, status counts, exact nearest-rank latency
//! percentiles, and per error code the count, statuses, mismatches with the
//! documented status, latency and first/last time.
//!
//! The traffic has every body shape (nested object, reversed keys with
//! spaces, escaped JSON string, `code`+`message`, nginx `\x22` escaping,
//! `\uXXXX` messages), codes outside the CTS catalogue (including the legacy
//! lower-case `cts.0003`), status mismatches, phantom mentions of
//! `error_code` in URLs and user agents, shuffled NDJSON key order, nested
//! objects reusing top-level key names, blank lines, malformed lines, and
//! malformed lines that still carry a readable error body.
//!
//! Shared by `examples/gen_corpus.rs` and the integration tests.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// Which log to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// API-gateway NDJSON.
    Ndjson,
    /// nginx combined + `$request_time $upstream_response_time $request_id "$resp_body"`.
    Nginx,
}

/// Exact percentiles in microseconds (nearest rank: the value at rank
/// `ceil(p/100 * n)` of the sorted values).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// What a correct scan reports for one code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeTruth {
    /// Requests with this code.
    pub count: u64,
    /// Malformed lines with a body of this code (not requests).
    pub in_malformed: u64,
    pub in_catalog: bool,
    pub statuses: BTreeMap<String, u64>,
    pub status_mismatches: u64,
    pub latency_us: Option<Percentiles>,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// Lines per minute (`ms / 60_000` → count), of lines with a time.
    pub per_minute: BTreeMap<i64, u64>,
}

/// What a correct scan reports for the whole corpus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub bytes: u64,
    pub lines: u64,
    pub requests: u64,
    pub blank: u64,
    pub malformed: u64,
    /// Requests with an error body.
    pub error_bodies: u64,
    /// Malformed lines with an error body.
    pub malformed_bodies: u64,
    pub statuses: BTreeMap<String, u64>,
    pub latency_all_us: Option<Percentiles>,
    pub latency_without_error_us: Option<Percentiles>,
    pub first_time_ms: Option<i64>,
    pub last_time_ms: Option<i64>,
    /// Requests per minute (`ms / 60_000` → count).
    pub requests_per_minute: BTreeMap<i64, u64>,
    pub codes: BTreeMap<String, CodeTruth>,
}

/// Codes the generator uses: code, documented status (`None` = outside the
/// CTS catalogue), logged status, weight, message.
const CODES: &[(&str, Option<u16>, u16, u32, &str)] = &[
    ("CTS.0003", Some(400), 400, 30, "Invalid message body. The message body is empty or invalid."),
    ("CTS.0001", Some(400), 400, 8, "IAM or OBS exception, please check."),
    (
        "CTS.0002",
        Some(403),
        403,
        10,
        "The user fails the authentication or does not have permission to this operation.",
    ),
    ("CTS.0004", Some(500), 500, 6, "Data write exception."),
    ("CTS.0201", Some(400), 400, 5, "A management tracker has been created."),
    ("CTS.0205", Some(400), 400, 4, "Invalid message body. Tracker status is required."),
    ("CTS.0209", Some(400), 400, 3, "You cannot create different trackers to record the same type of operations."),
    ("CTS.0403", Some(404), 404, 4, "The notification does not exist."),
    ("CTS.0013", Some(403), 403, 2, "No permission, Please check roles."),
    ("APIGW.0301", None, 401, 8, "Incorrect IAM authentication information: decrypt token fail"),
    ("VPC.0514", None, 400, 2, "Quota exceeded."),
    ("cts.0003", None, 400, 1, "legacy numbering"),
    ("CTS.9999", None, 500, 1, "undocumented"),
];

/// 2026-11-27T00:00:00Z.
const START_MS: i64 = 1_795_737_600_000;

const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/v3/{p}/traces"),
    ("GET", "/v3/{p}/trackers"),
    ("POST", "/v3/{p}/tracker"),
    ("PUT", "/v3/{p}/tracker"),
    ("DELETE", "/v3/{p}/trackers"),
    ("GET", "/v3/{p}/quotas"),
    ("POST", "/v3/{p}/notifications"),
    ("GET", "/v1.0/{p}/user-resources"),
];

const PROJECTS: &[&str] =
    &["0a1b2c3d4e5f60718293a4b5c6d7e8f9", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "5d6e7f8091a2b3c4d5e6f708192a3b4c"];

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, per_10k: u64) -> bool {
        self.below(10_000) < per_10k
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Accumulates the truth while lines are written.
#[derive(Default)]
struct Tally {
    truth: Truth,
    all: Vec<u64>,
    ok: Vec<u64>,
    per_code: BTreeMap<String, Vec<u64>>,
}

/// One request as the generator decided it.
struct Request {
    time_ms: i64,
    status: u16,
    latency_us: u64,
    method: &'static str,
    uri: String,
    client: String,
    request_id: String,
    error: Option<(&'static str, String)>,
}

fn widen(first: &mut Option<i64>, last: &mut Option<i64>, t: i64) {
    *first = Some(first.map_or(t, |f| f.min(t)));
    *last = Some(last.map_or(t, |l| l.max(t)));
}

impl Tally {
    fn request(&mut self, req: &Request, logged_time_ms: i64) {
        let t = &mut self.truth;
        t.lines += 1;
        t.requests += 1;
        *t.statuses.entry(req.status.to_string()).or_default() += 1;
        widen(&mut t.first_time_ms, &mut t.last_time_ms, logged_time_ms);
        *t.requests_per_minute.entry(logged_time_ms.div_euclid(60_000)).or_default() += 1;
        self.all.push(req.latency_us);
        match &req.error {
            None => self.ok.push(req.latency_us),
            Some((code, _)) => {
                t.error_bodies += 1;
                let documented = CODES.iter().find(|c| c.0 == *code).and_then(|c| c.1);
                let stats = t.codes.entry(code.to_string()).or_default();
                stats.count += 1;
                stats.in_catalog = documented.is_some();
                *stats.statuses.entry(req.status.to_string()).or_default() += 1;
                if documented.is_some_and(|d| d != req.status) {
                    stats.status_mismatches += 1;
                }
                widen(&mut stats.first_seen_ms, &mut stats.last_seen_ms, logged_time_ms);
                *stats.per_minute.entry(logged_time_ms.div_euclid(60_000)).or_default() += 1;
                self.per_code.entry(code.to_string()).or_default().push(req.latency_us);
            }
        }
    }

    fn malformed(&mut self, code: Option<&str>) {
        self.truth.lines += 1;
        self.truth.malformed += 1;
        if let Some(code) = code {
            self.truth.malformed_bodies += 1;
            let stats = self.truth.codes.entry(code.to_string()).or_default();
            stats.in_malformed += 1;
            stats.in_catalog = CODES.iter().any(|c| c.0 == code && c.1.is_some());
        }
    }

    fn blank(&mut self) {
        self.truth.lines += 1;
        self.truth.blank += 1;
    }

    fn finish(mut self, bytes: u64) -> Truth {
        self.truth.bytes = bytes;
        self.truth.latency_all_us = percentiles(&mut self.all);
        self.truth.latency_without_error_us = percentiles(&mut self.ok);
        for (code, mut values) in self.per_code {
            self.truth.codes.get_mut(&code).expect("code counted").latency_us = percentiles(&mut values);
        }
        self.truth
    }
}

/// Exact nearest-rank percentiles.
pub fn percentiles(values: &mut [u64]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len() as u64;
    let at = |p: u64| values[((p * n).div_ceil(100).max(1) - 1) as usize];
    Some(Percentiles { count: n, p50: at(50), p90: at(90), p99: at(99), max: values[values.len() - 1] })
}

/// Writes about `target_bytes` of `flavor` traffic to `wtr` and returns the
/// ground truth. The same seed always writes the same bytes.
pub fn generate(flavor: Flavor, target_bytes: u64, seed: u64, wtr: &mut dyn Write) -> io::Result<Truth> {
    let mut rng = Rng(seed ^ 0x5EED);
    let mut tally = Tally::default();
    let mut written = 0u64;
    let mut now_ms = START_MS;
    let weights: u64 = CODES.iter().map(|c| u64::from(c.3)).sum();
    let mut line = String::with_capacity(1024);
    while written < target_bytes {
        line.clear();
        now_ms += rng.below(40) as i64;
        let roll = rng.below(10_000);
        if roll < 30 {
            line.push_str(if rng.chance(5000) { "" } else { "   " });
            tally.blank();
        } else if roll < 60 {
            let with_body = rng.chance(3000);
            let code = with_body.then(|| pick_code(&mut rng, weights).0);
            malformed_line(&mut line, flavor, code, &mut rng);
            tally.malformed(code);
        } else {
            let req = request(&mut rng, now_ms, roll < 60 + 600, weights, flavor);
            let logged_ms = match flavor {
                Flavor::Ndjson => {
                    ndjson_line(&mut line, &req, &mut rng);
                    req.time_ms
                }
                Flavor::Nginx => {
                    nginx_line(&mut line, &req, &mut rng);
                    req.time_ms / 1000 * 1000
                }
            };
            tally.request(&req, logged_ms);
        }
        line.push('\n');
        wtr.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    Ok(tally.finish(written))
}

fn pick_code(rng: &mut Rng, weights: u64) -> &'static (&'static str, Option<u16>, u16, u32, &'static str) {
    let mut target = rng.below(weights);
    for code in CODES {
        if target < u64::from(code.3) {
            return code;
        }
        target -= u64::from(code.3);
    }
    &CODES[0]
}

/// A request; nginx logs `$request_time` in milliseconds, so its latencies
/// are whole milliseconds, while NDJSON carries microseconds.
fn request(rng: &mut Rng, time_ms: i64, is_error: bool, weights: u64, flavor: Flavor) -> Request {
    let (method, path) = *rng.pick(ENDPOINTS);
    let project: &&str = rng.pick(PROJECTS);
    let mut uri = path.replace("{p}", project);
    if rng.chance(50) {
        uri.push_str("?error_code=CTS.0003&limit=10");
    } else if rng.chance(1000) {
        uri.push_str(&format!("?limit={}", rng.below(100)));
    }
    let tail = 1.0 / (1.0 - rng.unit() * 0.9995);
    let mut latency_us = ((2.0 + 8.0 * tail.powf(1.1)) * 1000.0) as u64;
    let (status, error) = if is_error {
        let &(code, documented, logged, _, message) = pick_code(rng, weights);
        latency_us = latency_us * 2 / 3;
        let status = if documented.is_some() && rng.chance(800) { *rng.pick(&[500u16, 502, 503]) } else { logged };
        let message = if rng.chance(1000) {
            "\u{8bf7}\u{6c42}\u{5931}\u{8d25} \"quoted\" {brace}".to_string()
        } else {
            message.to_string()
        };
        (status, Some((code, message)))
    } else {
        (*rng.pick(&[200u16, 200, 200, 200, 200, 201, 204, 304, 404, 502]), None)
    };
    if flavor == Flavor::Nginx {
        latency_us = latency_us / 1000 * 1000;
    }
    Request {
        time_ms,
        status,
        latency_us,
        method,
        uri,
        client: format!("10.{}.{}.{}", rng.below(4), rng.below(256), rng.below(256)),
        request_id: format!("{:016x}{:016x}", rng.next(), rng.next()),
        error,
    }
}

fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", sod / 3600, sod / 60 % 60, sod % 60, ms.rem_euclid(1000))
}

fn time_local(ms: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!("{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000", MONTHS[m as usize - 1], sod / 3600, sod / 60 % 60, sod % 60)
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// Seconds with millisecond digits, as nginx writes `$request_time`.
fn seconds_ms(us: u64) -> String {
    format!("{}.{:03}", us / 1_000_000, us / 1000 % 1000)
}

/// Seconds with microsecond digits.
fn seconds_us(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The error body as a JSON object, in one of the object shapes.
fn body_object(code: &str, message: &str, rng: &mut Rng) -> String {
    let msg = serde_json::to_string(message).expect("string");
    match rng.below(4) {
        0 => format!(r#"{{"error_code":"{code}","error_msg":{msg}}}"#),
        1 => format!(r#"{{ "error_msg" : {msg}, "error_code" : "{code}" }}"#),
        2 if !code.starts_with("CTS.") => format!(r#"{{"error":{{"code":"{code}","message":{msg}}}}}"#),
        _ => format!(r#"{{"error_code":"{code}","error_msg":{},"request_id":"x"}}"#, ascii_escaped(message)),
    }
}

/// A JSON string literal with every non-ASCII character as `\uXXXX`.
fn ascii_escaped(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

fn ndjson_line(line: &mut String, req: &Request, rng: &mut Rng) {
    let mut fields: Vec<String> = Vec::with_capacity(12);
    if rng.chance(9000) {
        fields.push(format!(r#""time":"{}""#, rfc3339(req.time_ms)));
    } else {
        fields.push(format!(r#""@timestamp":{}"#, req.time_ms));
    }
    fields.push(format!(r#""remote_addr":"{}""#, req.client));
    fields.push(format!(r#""request":"{} {} HTTP/1.1""#, req.method, req.uri));
    fields.push(format!(r#""status":{}"#, req.status));
    if rng.chance(8000) {
        fields.push(format!(r#""request_time":{}"#, seconds_us(req.latency_us)));
    } else {
        fields.push(format!(r#""latency_ms":"{}.{:03}""#, req.latency_us / 1000, req.latency_us % 1000));
    }
    fields.push(format!(r#""request_id":"{}""#, req.request_id));
    let ua = if rng.chance(100) { "probe error_code=CTS.0001" } else { "python-requests/2.31" };
    fields.push(format!(r#""http_user_agent":"{ua}""#));
    if rng.chance(500) {
        fields.push(r#""upstream":{"status":502,"request_time":9.999,"time":"2001-01-01T00:00:00Z"}"#.to_string());
    }
    if let Some((code, message)) = &req.error {
        let object = body_object(code, message, rng);
        fields.push(if rng.chance(3000) {
            format!(r#""resp_body":{}"#, serde_json::to_string(&object).expect("string"))
        } else {
            format!(r#""response":{object}"#)
        });
    }
    if rng.chance(2000) {
        let n = fields.len() as u64;
        for i in (1..n).rev() {
            fields.swap(i as usize, rng.below(i + 1) as usize);
        }
    }
    line.push('{');
    line.push_str(&fields.join(","));
    line.push('}');
}

/// nginx's default `escape`: `"`, `\`, control bytes and bytes ≥ 0x7f as `\xHH`.
fn nginx_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        match b {
            b'"' | b'\\' | 0..=0x1f | 0x7f..=0xff => out.push_str(&format!("\\x{b:02X}")),
            _ => out.push(b as char),
        }
    }
    out
}

fn nginx_line(line: &mut String, req: &Request, rng: &mut Rng) {
    let ua = if rng.chance(100) {
        nginx_escaped(r#"bot {"error_code":"CTS.0001"}"#)
    } else {
        "python-requests/2.31".to_string()
    };
    let upstream = match rng.below(10) {
        0 => "-".to_string(),
        1 => format!("0.001, {}", seconds_ms(req.latency_us * 3 / 4)),
        _ => seconds_ms(req.latency_us * 3 / 4),
    };
    let body = match &req.error {
        Some((code, message)) => nginx_escaped(&body_object(code, message, rng)),
        None => "-".to_string(),
    };
    line.push_str(&format!(
        r#"{} - - [{}] "{} {} HTTP/1.1" {} {} "-" "{ua}" {} {upstream} {} "{body}""#,
        req.client,
        time_local(req.time_ms),
        req.method,
        req.uri,
        req.status,
        200 + rng.below(4000),
        seconds_ms(req.latency_us),
        req.request_id,
    ));
}

fn malformed_line(line: &mut String, flavor: Flavor, code: Option<&str>, rng: &mut Rng) {
    let body = code.map(|c| body_object(c, "cut short", rng));
    match (flavor, body) {
        (Flavor::Ndjson, Some(body)) => {
            line.push_str(&format!(r#"{{"time":"2026-11-27T00:00:00Z","response":{body},"status":4"#))
        }
        (Flavor::Ndjson, None) => line.push_str(r#"{"time":"2026-11-27T00:00:00Z","status":200,"request_time":0.0"#),
        (Flavor::Nginx, Some(body)) => {
            line.push_str(&format!(r#"10.0.0.1 - - [27/Nov/2026:00:00 "GET / HTTP/1.1" "{}""#, nginx_escaped(&body)))
        }
        (Flavor::Nginx, None) => line.push_str("upstream timed out (110: Connection timed out) while reading"),
    }
}
