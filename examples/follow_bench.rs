//! Measures `cts-logscan --follow` (figures for BENCHMARKS.md, not a test):
//!
//! ```text
//! follow_bench latency   # append-to-snapshot latency, 20 appends
//! follow_bench idle      # CPU used in 20 s of following a file that does not grow
//! follow_bench rss       # RSS while 24 simulated hours at 5,000 lines/s go through stdin
//! follow_bench catchup FILE SINCE   # time to the first snapshot of `-F FILE --since SINCE`
//! follow_bench serve [SECONDS]       # --serve under 20k lines/s, 20 event streams, Prometheus (600 s)
//! ```
//!
//! The binary is `target/release/cts-logscan` unless `CTS_LOGSCAN` names
//! another. Process figures come from `/proc/PID/{stat,status}` (Linux).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> String {
    std::env::var("CTS_LOGSCAN").unwrap_or_else(|_| "target/release/cts-logscan".to_owned())
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1));
    kib.and_then(|k| k.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

fn follow(args: &[&str]) -> Child {
    Command::new(binary())
        .arg("-F")
        .args(args)
        .args(["-o", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cts-logscan starts")
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

fn line(time_ms: i64, code: Option<&str>) -> String {
    let secs = time_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // 2026-11-27 plus `days`; good enough for a benchmark within a month.
    let day = 27 + days;
    let body = code.map_or(String::new(), |c| format!(r#","response":{{"error_code":"{c}","error_msg":"x"}}"#));
    format!(
        "{{\"time\":\"2026-11-{day:02}T{:02}:{:02}:{:02}.{:03}Z\",\"status\":400,\"request_time\":0.012,\"uri\":\"/v3/p/tracker\"{body}}}\n",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        time_ms % 1000
    )
}

fn latency() {
    let dir = std::env::temp_dir().join(format!("follow-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("access.ndjson");
    fs::write(&path, "").unwrap();
    let mut child = follow(&[path.to_str().unwrap(), "--interval", "1s"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut snapshot = String::new();
    stdout.read_line(&mut snapshot).unwrap();
    let mut samples = Vec::new();
    for i in 1..=20u64 {
        std::thread::sleep(Duration::from_millis(137 * (i % 7)));
        let appended = Instant::now();
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(line(i as i64 * 1000, None).as_bytes())
            .unwrap();
        loop {
            snapshot.clear();
            stdout.read_line(&mut snapshot).unwrap();
            if snapshot.contains(&format!("\"requests\":{i},")) {
                break;
            }
        }
        samples.push(appended.elapsed().as_secs_f64() * 1000.0);
    }
    stop(child);
    samples.sort_by(f64::total_cmp);
    println!(
        "append-to-snapshot latency, --interval 1s, 20 appends: median {:.0} ms, max {:.0} ms",
        samples[10], samples[19]
    );
}

fn idle() {
    let dir = std::env::temp_dir().join(format!("follow-idle-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("quiet.ndjson");
    fs::write(&path, line(0, Some("CTS.0003")).repeat(1000)).unwrap();
    let child = follow(&[path.to_str().unwrap()]);
    std::thread::sleep(Duration::from_secs(2));
    let before = cpu_seconds(child.id());
    std::thread::sleep(Duration::from_secs(20));
    let used = cpu_seconds(child.id()) - before;
    println!("idle: {used:.2} s of CPU in 20 s ({:.2} % of a core)", used / 20.0 * 100.0);
    stop(child);
}

fn rss() {
    let (hours, rate) = (24i64, 5_000i64);
    let mut child = follow(&["-", "--interval", "1s"]);
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
    let codes = ["CTS.0003", "CTS.0209", "APIGW.0301", "CTS.0004"];
    let started = Instant::now();
    let step_us = 1_000_000 / rate;
    let mut buf = String::with_capacity(1 << 20);
    for hour in 0..hours {
        for i in 0..rate * 3600 {
            let t_ms = hour * 3_600_000 + i * step_us / 1000;
            let code = (i % 17 == 0).then(|| codes[(i / 17) as usize % codes.len()]);
            buf.push_str(&line(t_ms, code));
            if buf.len() > 1 << 20 {
                stdin.write_all(buf.as_bytes()).unwrap();
                buf.clear();
            }
        }
        println!(
            "simulated hour {:>2}: RSS {:.1} MiB, {:.0} s so far",
            hour + 1,
            rss_mib(pid),
            started.elapsed().as_secs_f64()
        );
    }
    stdin.write_all(buf.as_bytes()).unwrap();
    drop(stdin);
    let _ = child.wait();
}

fn catchup(file: &str, since: &str) {
    let started = Instant::now();
    let mut child = follow(&[file, "--since", since, "--interval", "100ms"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut snapshot = String::new();
    stdout.read_line(&mut snapshot).unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let requests = snapshot.split("\"requests\":").nth(1).and_then(|r| r.split(',').next()).unwrap_or("?").to_owned();
    println!("catch-up: first snapshot after {elapsed:.2} s with {requests} requests since {since}");
    stop(child);
}

/// `GET path` from `addr`: the body.
fn http_get(addr: &str, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(addr) else { return String::new() };
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// `-F FILE --serve` while 20,000 lines a second are appended, 20 clients
/// read `/api/events` and a Prometheus (when installed) scrapes every
/// second: every 10 s, the time from appending a line with a new code to
/// seeing it in `/metrics`, the CPU used and the RSS.
fn serve(seconds: u64) {
    let dir = std::env::temp_dir().join(format!("serve-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("access.ndjson");
    fs::write(&path, "").unwrap();
    let mut child = Command::new(binary())
        .args(["-F", path.to_str().unwrap(), "--serve", "127.0.0.1:0", "--metrics-top", "5", "-o", "/dev/null"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cts-logscan starts");
    let pid = child.id();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    let addr =
        said.split("http://").nth(1).and_then(|r| r.split('/').next()).expect("it says where it serves").to_owned();
    std::thread::spawn(move || for _ in stderr.lines() {});
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", {
            let config = dir.join("prometheus.yml");
            fs::write(&config, format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: cts\n    static_configs:\n      - targets: ['{addr}']\n")).unwrap();
            config.display().to_string()
        }))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{}", TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok();
    println!("prometheus scraping every second: {}", if prometheus.is_some() { "yes" } else { "no (not installed)" });
    let events: Vec<_> = (0..20)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&addr).unwrap();
                write!(stream, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
                let mut snapshots = 0u64;
                for line in BufReader::new(stream).lines() {
                    match line {
                        Ok(line) if line.starts_with("data: ") => snapshots += 1,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                snapshots
            })
        })
        .collect();
    let codes = ["CTS.0003", "CTS.0209", "APIGW.0301", "CTS.0004"];
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    let started = Instant::now();
    let (mut written, mut marker) = (0u64, 0u64);
    let (mut cpu_before, mut at_before) = (cpu_seconds(pid), Instant::now());
    println!("| s | lines | append → /metrics ms | CPU % of a core | RSS MiB |\n| ---: | ---: | ---: | ---: | ---: |");
    while started.elapsed() < Duration::from_secs(seconds) {
        // 200 lines every 10 ms: 20,000 a second.
        let tick = Instant::now();
        let mut batch = String::with_capacity(200 * 160);
        for i in 0..200u64 {
            let n = written + i;
            let code = (n % 17 == 0).then(|| codes[(n / 17) as usize % codes.len()]);
            batch.push_str(&line((n / 20) as i64, code).replace("/v3/p/tracker", &format!("/v3/p{}/tracker", n % 50)));
        }
        file.write_all(batch.as_bytes()).unwrap();
        written += 200;
        if written % 200_000 == 0 {
            // One more line of a code kept for this: seen once /metrics
            // counts `marker` of them (a new code per marker would grow
            // the state by a histogram each).
            marker += 1;
            let appended = Instant::now();
            file.write_all(line(0, Some("LAT.0001")).as_bytes()).unwrap();
            let counted =
                format!("cts_logscan_error_bodies_total{{code=\"LAT.0001\",in_catalog=\"false\"}} {marker}\n");
            while !http_get(&addr, "/metrics").contains(&counted) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let latency = appended.elapsed().as_secs_f64() * 1000.0;
            let (cpu, at) = (cpu_seconds(pid), Instant::now());
            let share = (cpu - cpu_before) / at.duration_since(at_before).as_secs_f64() * 100.0;
            (cpu_before, at_before) = (cpu, at);
            println!(
                "| {:.0} | {written} | {latency:.0} | {share:.1} | {:.1} |",
                started.elapsed().as_secs_f64(),
                rss_mib(pid)
            );
        }
        std::thread::sleep(Duration::from_millis(10).saturating_sub(tick.elapsed()));
    }
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();
    let received: Vec<u64> = events.into_iter().map(|e| e.join().unwrap_or(0)).collect();
    println!(
        "snapshots received per event stream: min {} max {}",
        received.iter().min().unwrap(),
        received.iter().max().unwrap()
    );
    if let Some(mut prometheus) = prometheus {
        let _ = prometheus.kill();
        let _ = prometheus.wait();
    }
    let _ = fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("latency") => latency(),
        Some("idle") => idle(),
        Some("rss") => rss(),
        Some("catchup") if args.len() == 3 => catchup(&args[1], &args[2]),
        Some("serve") => serve(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600)),
        _ => eprintln!("usage: follow_bench latency | idle | rss | catchup FILE SINCE | serve [SECONDS]"),
    }
}
