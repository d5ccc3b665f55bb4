//! `-F --serve`: the real binary following a file and serving it, read by
//! a plain HTTP client (a `TcpStream`), scraped by a real Prometheus,
//! checked by promtool and shown in headless Chromium. Nothing waits on
//! wall time alone: each test polls until the figures it expects arrive,
//! with generous timeouts.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(60);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cts-logscan")
}

/// A follower serving one log file.
struct Served {
    child: Child,
    addr: String,
    log: PathBuf,
    stderr: PathBuf,
    dir: tempfile::TempDir,
}

impl Served {
    /// `cts-logscan -F LOG --serve 127.0.0.1:0 ARGS` on an empty log.
    fn start(args: &[&str]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.ndjson");
        fs::write(&log, "").unwrap();
        Served::spawn(dir, log, args)
    }

    /// Stops it (SIGTERM) and starts it again on the same log with `args`.
    fn restart(mut self, args: &[&str]) -> Served {
        self.stop();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Served::spawn(dir, self.log.clone(), args)
    }

    fn spawn(dir: tempfile::TempDir, log: PathBuf, args: &[&str]) -> Served {
        let stderr = dir.path().join(format!("stderr-{}", fs::read_dir(dir.path()).unwrap().count()));
        let child = Command::new(bin())
            .args(["-F", log.to_str().unwrap(), "--serve", "127.0.0.1:0", "--interval", "100ms"])
            .args(["--poll-interval", "50ms", "-o", dir.path().join("final.json").to_str().unwrap()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let addr = loop {
            let text = fs::read_to_string(&stderr).unwrap_or_default();
            if let Some(rest) = text.split("serving on http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
            assert!(started.elapsed() < PATIENCE, "the server did not say where it listens: {text}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Served { child, addr, log, stderr, dir }
    }

    /// SIGTERM, then waits for it to exit 0.
    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(self.child.wait().unwrap().success(), "{}", self.stderr());
    }

    fn append(&self, text: &str) {
        fs::OpenOptions::new().append(true).open(&self.log).unwrap().write_all(text.as_bytes()).unwrap();
    }

    fn get(&self, path: &str) -> Response {
        get(&self.addr, path, &[])
    }

    /// The snapshot, once `done` holds for it.
    fn snapshot_when(&self, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let response = self.get("/api/snapshot");
            if response.status == 200 {
                let snapshot: Value = serde_json::from_str(&response.body).unwrap();
                if done(&snapshot) {
                    return snapshot;
                }
            }
            assert!(started.elapsed() < PATIENCE, "no snapshot as expected: {}", response.body);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response.
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// `GET path` on a fresh connection, with `headers`.
fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, headers)
}

fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { unchunk(body) } else { body.to_owned() };
    Response { status, head: head.to_owned(), body }
}

fn unchunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

/// `promtool check metrics` accepts `text`.
pub fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("this test needs promtool (apt-get install prometheus); ./test.sh installs it");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.trim().is_empty(), "promtool: {said}\n{text}");
}

/// A request line with an error body of `code`, answered in `ms`; without
/// a time, it counts at its arrival (in the live windows).
fn error_line(code: &str, ms: u32, uri: &str) -> String {
    format!(
        "{{\"status\":400,\"request_time\":{}.{:03},\"uri\":\"{uri}\",\"remote_addr\":\"10.0.0.{}\",\"response\":{{\"error_code\":\"{code}\",\"error_msg\":\"bad\"}}}}\n",
        ms / 1000,
        ms % 1000,
        ms % 200
    )
}

fn ok_line() -> &'static str {
    "{\"status\":200,\"request_time\":0.010,\"uri\":\"/v3/p1/traces\"}\n"
}

/// The value of the sample `series` (name and labels) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn every_endpoint_answers_and_metrics_count_what_was_appended() {
    let served = Served::start(&[]);
    // CTS.0004 answered in 20 ms, 40 ms and 3 s; one request without error.
    let lines = [error_line("CTS.0004", 20, "/v3/p1/tracker"), error_line("CTS.0004", 40, "/v3/p1/tracker")];
    served.append(&format!("{}{}{}{}", lines[0], lines[1], error_line("CTS.0004", 3000, "/v3/p1/tracker"), ok_line()));
    served.snapshot_when(|s| s["since_start"]["requests"] == 4);
    let metrics = served.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = &metrics.body;
    let bucket =
        |le: &str| sample(text, &format!("cts_logscan_latency_seconds_bucket{{code=\"CTS.0004\",le=\"{le}\"}}"));
    assert_eq!(sample(text, "cts_logscan_error_bodies_total{code=\"CTS.0004\",in_catalog=\"true\"}"), Some(3.0));
    assert_eq!(sample(text, "cts_logscan_requests_total{status=\"200\"}"), Some(1.0));
    assert_eq!((bucket("0.01"), bucket("0.025"), bucket("0.05")), (Some(0.0), Some(1.0), Some(2.0)));
    assert_eq!((bucket("2.5"), bucket("5"), bucket("+Inf")), (Some(2.0), Some(3.0), Some(3.0)));
    let sum = sample(text, "cts_logscan_latency_seconds_sum{code=\"CTS.0004\"}").unwrap();
    assert!((sum - 3.06).abs() < 3.06 * 0.001, "{sum}");
    assert_eq!(sample(text, "cts_logscan_request_latency_seconds_count"), Some(4.0));
    assert_eq!(sample(text, "cts_logscan_window_error_bodies{code=\"CTS.0004\",window=\"1m\"}"), Some(3.0));
    assert_eq!(sample(text, "cts_logscan_error_rate{window=\"5m\"}"), Some(0.75));
    assert!(text.contains("cts_logscan_input_state{input=\""), "{text}");
    promtool_accepts(text);
    // OpenMetrics when asked for: counter families named without _total.
    let open = get(&served.addr, "/metrics", &[("Accept", "application/openmetrics-text; version=1.0.0")]);
    assert!(open.header("content-type").unwrap().starts_with("application/openmetrics-text; version=1.0.0"));
    assert!(open.body.ends_with("# EOF\n") && open.body.contains("# TYPE cts_logscan_error_bodies counter\n"));
    assert_eq!(served.get("/healthz").status, 200);
    let report = served.get("/report.html");
    assert!(report.status == 200 && report.body.contains("CTS.0004"), "{}", report.status);
    let page = served.get("/");
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").unwrap().contains("default-src 'none'"));
    // One self-contained page: no script, style, font or image from
    // elsewhere (the only URL in it is the SVG namespace).
    for fetch in ["src=", "href=", "url(", "@import", "fetch(\"http", "//fonts"] {
        assert!(!page.body.contains(fetch), "the page loads {fetch}");
    }
    let catalog: Value = serde_json::from_str(&served.get("/api/catalog").body).unwrap();
    assert!(catalog.as_array().unwrap().iter().any(|c| c["code"] == "CTS.0004"));
    // Read-only.
    assert_eq!(request(&served.addr, "POST", "/metrics", &[("Content-Length", "0")]).status, 405);
    assert_eq!(served.get("/nothing").status, 404);
}

#[test]
fn with_a_checkpoint_the_counters_go_on_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("live.cp");
    let args = ["--checkpoint", checkpoint.to_str().unwrap()];
    let served = Served::start(&args);
    served.append(&(1..=3).map(|ms| error_line("CTS.0004", ms, "/v3/p1/tracker")).collect::<String>());
    served.snapshot_when(|s| s["since_start"]["error_bodies"] == 3);
    // Restarted with another filter: the counters count what was read.
    let served = served.restart(&[args[0], args[1], "--status", "4xx"]);
    served.append(&(1..=2).map(|ms| error_line("CTS.0004", ms, "/v3/p1/tracker")).collect::<String>());
    served.snapshot_when(|s| s["since_start"]["error_bodies"] == 2);
    let counted = |served: &Served| {
        sample(&served.get("/metrics").body, "cts_logscan_error_bodies_total{code=\"CTS.0004\",in_catalog=\"true\"}")
    };
    // The snapshot and the report are this run's; the counters go on.
    let started = Instant::now();
    while counted(&served) != Some(5.0) {
        assert!(started.elapsed() < PATIENCE, "counters: {:?}", counted(&served));
        std::thread::sleep(Duration::from_millis(50));
    }
    promtool_accepts(&served.get("/metrics").body);
    assert!(!served.stderr().contains("starts its counters at 0"), "{}", served.stderr());
}

#[test]
fn the_event_stream_sends_each_snapshot_to_a_plain_client() {
    let served = Served::start(&[]);
    let mut stream = TcpStream::connect(&served.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(stream, "GET /api/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", served.addr).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let mut head = String::new();
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
    }
    assert!(head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
    // Snapshots come as `event: snapshot` / `data: JSON` (in HTTP chunks).
    let mut next_snapshot = || -> Value {
        let started = Instant::now();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
            if let Some(json) = line.strip_prefix("data: ") {
                return serde_json::from_str(json.trim_end()).unwrap();
            }
            assert!(started.elapsed() < PATIENCE, "no snapshot on the stream");
        }
    };
    assert_eq!(next_snapshot()["snapshot_version"], 1);
    served.append(&error_line("CTS.0003", 5, "/v3/p1/tracker"));
    let started = Instant::now();
    while next_snapshot()["since_start"]["error_bodies"] != 1 {
        assert!(started.elapsed() < PATIENCE, "the appended line never reached the stream");
    }
}

#[test]
fn a_token_guards_every_endpoint_and_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    fs::write(&token_file, "s3cret+Token/1=\n").unwrap();
    let served = Served::start(&["--serve-token", &format!("@{}", token_file.display())]);
    for path in ["/metrics", "/api/snapshot", "/api/events", "/", "/report.html", "/api/catalog"] {
        let refused = served.get(path);
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        assert_eq!(get(&served.addr, path, &[("Authorization", "Bearer s3cret+Token/2=")]).status, 401, "{path}");
    }
    assert_eq!(get(&served.addr, "/metrics", &[("Authorization", "Bearer s3cret+Token/1=")]).status, 200);
    assert_eq!(get(&served.addr, "/metrics", &[("Authorization", "bearer s3cret+Token/1=")]).status, 200);
    assert_eq!(served.get(&format!("/metrics?token={}", percent_encoded("s3cret+Token/1="))).status, 200);
    assert_eq!(served.get("/metrics?token=s3cret%2BToken%2F1").status, 401);
    // Probes cannot send a token: /healthz tells only whether it follows.
    assert_eq!(served.get("/healthz").status, 200);
    assert!(!served.stderr().contains("s3cret"), "{}", served.stderr());
    // Beyond loopback only with a token, and the refusal says so.
    let refused =
        Command::new(bin()).args(["-F", served.log.to_str().unwrap(), "--serve", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--serve-token"));
    // --serve needs --follow.
    let alone = Command::new(bin()).args([served.log.to_str().unwrap(), "--serve", ":0"]).output().unwrap();
    assert_eq!(alone.status.code(), Some(2));
    drop(served);
    assert!(dir.path().exists());
}

#[test]
fn clients_that_never_read_or_never_ask_do_not_stall_the_reader() {
    let served = Served::start(&[]);
    // Event streams that are never read, and a connection that sends
    // nothing.
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(&served.addr).unwrap();
        write!(stream, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        idle.push(stream);
    }
    idle.push(TcpStream::connect(&served.addr).unwrap());
    let batch: String = (0..1000).map(|i| error_line("CTS.0004", 1 + i % 900, "/v3/p1/tracker")).collect();
    for _ in 0..20 {
        served.append(&batch);
    }
    let snapshot = served.snapshot_when(|s| s["since_start"]["requests"] == 20_000);
    assert_eq!(snapshot["since_start"]["error_bodies"], 20_000);
    drop(idle);
}

#[test]
fn series_stay_bounded_with_100_000_endpoints_and_clients() {
    let served = Served::start(&["--metrics-top", "3"]);
    let lines: String = (0..100_000).map(|i| error_line("CTS.0004", 20, &format!("/v3/p1/res-{i}"))).collect();
    let lines = lines.replace("10.0.0.", "10.9.");
    served.append(&lines);
    served.snapshot_when(|s| s["since_start"]["requests"] == 100_000);
    let text = served.get("/metrics").body;
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(series < 100, "{series} series:\n{text}");
    // Three endpoints and the rest: every line is counted once.
    let by_endpoint: f64 = text
        .lines()
        .filter(|l| l.starts_with("cts_logscan_error_bodies_by_endpoint{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(by_endpoint, 100_000.0);
    promtool_accepts(&text);
    let status = fs::read_to_string(format!("/proc/{}/status", served.child.id())).unwrap();
    let peak_kib: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB").parse().unwrap();
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn log_text_stays_text_in_every_endpoint() {
    let served = Served::start(&["--metrics-top", "2"]);
    // A URI, a client and a message with quotes, backslashes, a newline,
    // markup and terminal escapes.
    let hostile = r#"x\"y\\z\n</script><img src=x onerror=alert(1)>\u001b[2J"#;
    served.append(&format!(
        "{{\"status\":400,\"request_time\":0.1,\"uri\":\"/v3/{hostile}\",\"remote_addr\":\"{hostile}\",\"response\":{{\"error_code\":\"CTS.0004\",\"error_msg\":\"{hostile}\"}}}}\n"
    ));
    served.snapshot_when(|s| s["since_start"]["error_bodies"] == 1);
    let raw = served.get("/api/snapshot").body;
    assert!(!raw.bytes().any(|b| b < 0x20), "a control character in {raw:?}");
    let metrics = served.get("/metrics").body;
    assert!(!metrics.contains('\u{1b}') && metrics.contains("</script>"), "{metrics}");
    promtool_accepts(&metrics);
    let report = served.get("/report.html").body;
    assert!(!report.contains("<img src=x") && !report.contains('\u{1b}'), "{report}");
    // In the browser: the text is shown as text, no element is made of it.
    let dom = chromium(&served, 1400, "hostile", &[]).1;
    assert!(dom.contains("CTS.0004"), "the code is not shown:\n{dom}");
    assert!(!dom.contains("<img src=\"x\"") && !dom.contains("<img src=x"), "{dom}");
}

/// A free port on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `query` in a URL's query string.
fn percent_encoded(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A real Prometheus scraping `target` every second.
struct Prometheus {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: cts\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .expect("this test needs Prometheus (apt-get install prometheus); ./test.sh installs it");
        Prometheus { child, addr, _dir: dir }
    }

    /// The value of the instant `query`, once there is one.
    fn value(&self, query: &str, done: impl Fn(f64) -> bool) -> f64 {
        let started = Instant::now();
        loop {
            if let Ok(stream) = TcpStream::connect(&self.addr) {
                drop(stream);
                let response = get(&self.addr, &format!("/api/v1/query?query={}", percent_encoded(query)), &[]);
                let answer: Value = serde_json::from_str(&response.body).unwrap_or_default();
                let value = answer["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse().ok());
                if let Some(value) = value.filter(|&v| done(v)) {
                    return value;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(120), "Prometheus never answered {query}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_exact_counts_and_a_p99_in_the_right_bucket() {
    let served = Served::start(&[]);
    let prometheus = Prometheus::start(&served.addr);
    // CTS.0004 answered in 1 ms … 100 ms: the exact p99 (nearest rank) is
    // 99 ms, in the bucket (50 ms, 100 ms].
    let lines: String = (1..=100).map(|ms| error_line("CTS.0004", ms, "/v3/p1/tracker")).collect();
    served.append(&lines);
    served.snapshot_when(|s| s["since_start"]["error_bodies"] == 100);
    let count = prometheus.value("sum(cts_logscan_error_bodies_total{code=\"CTS.0004\"})", |v| v == 100.0);
    assert_eq!(count, 100.0);
    let p99 = prometheus
        .value("histogram_quantile(0.99, sum by (le) (cts_logscan_latency_seconds_bucket{code=\"CTS.0004\"}))", |_| {
            true
        });
    assert!(p99 > 0.05 && p99 <= 0.1, "p99 {p99} s is not in the bucket of 99 ms");
}

/// Loads the dashboard of `served` in headless Chromium `width` pixels
/// wide; returns the screenshot's path and the DOM once the page ran.
fn chromium(served: &Served, width: u32, name: &str, query: &[&str]) -> (PathBuf, String) {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("this test needs Chromium (apt-get install chromium); ./test.sh installs it");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    fs::create_dir_all(&shots).unwrap();
    let png = shots.join(format!("{name}-{width}.png"));
    let url = format!("http://{}/{}", served.addr, query.join(""));
    let run = |what: &str| {
        let output = Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"])
            .args(["--disable-background-networking", "--disable-component-update", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", served.dir.path().join(format!("profile-{name}-{width}")).display()))
            .arg(format!("--window-size={width},900"))
            .arg("--timeout=3000")
            .arg(what)
            .arg(&url)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(&format!("--screenshot={}", png.display()));
    let dom = run("--dump-dom");
    (png, dom)
}

#[test]
fn the_dashboard_shows_what_was_appended_in_a_browser() {
    let served = Served::start(&["--alert", "CTS.0004>2/1m"]);
    served.append(&(1..=3).map(|ms| error_line("CTS.0004", ms, "/v3/p1/tracker")).collect::<String>());
    served.snapshot_when(|s| s["since_start"]["error_bodies"] == 3 && s["alerts"][0]["state"] == "firing");
    let metrics = served.get("/metrics").body;
    assert_eq!(sample(&metrics, "cts_logscan_alert_firing{rule=\"CTS.0004>2/1m\"}"), Some(1.0), "{metrics}");
    let (first, dom) = chromium(&served, 1400, "before", &[]);
    assert!(dom.contains("CTS.0004"), "{dom}");
    assert!(dom.contains("3 error bodies"), "{dom}");
    assert!(dom.contains(">firing<") && dom.contains("CTS.0004&gt;2/1m: 3 over 1m"), "{dom}");
    served.append(&(1..=4).map(|ms| error_line("CTS.0209", ms, "/v3/p1/quotas")).collect::<String>());
    served.snapshot_when(|s| s["since_start"]["error_bodies"] == 7);
    let (second, dom) = chromium(&served, 800, "after", &[]);
    assert!(dom.contains("CTS.0209") && dom.contains("7 error bodies"), "{dom}");
    assert!(fs::metadata(first).unwrap().len() > 10_000 && fs::metadata(second).unwrap().len() > 10_000);
}
