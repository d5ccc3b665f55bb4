//! `contrib/dask/scan.py` on a real Dask `LocalCluster` with two worker
//! processes (`pip install "dask[distributed]"`, which `./test.sh` does):
//! eight shards of a generated corpus, some gzipped and one damaged, scanned
//! on the workers and merged in a tree, give the report of one scan over all
//! of them, and the damaged shard is named; `--scheduler` joins a running
//! scheduler with two worker processes; `host:path` shards are scanned
//! over ssh through a real sshd on 127.0.0.1. Without Python's Dask or
//! sshd the tests fail and say how to install them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::corpus::{self, Flavor};
use crate::util::{cmd, without_timing};

const BIN: &str = env!("CARGO_BIN_EXE_cts-logscan");

fn driver() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/dask/scan.py")
}

/// Runs the driver on two local workers with the fan-in `fan_in`.
fn fan_out(shards: &[PathBuf], fan_in: &str, cli_flags: &[&str]) -> Output {
    fan_out_with(&[], shards, fan_in, cli_flags)
}

/// [`fan_out`] with more driver options.
fn fan_out_with(options: &[&str], shards: &[PathBuf], fan_in: &str, cli_flags: &[&str]) -> Output {
    let probe = Command::new("python3").args(["-c", "import dask.distributed"]).output();
    match probe {
        Ok(probe) if probe.status.success() => {}
        _ => panic!("this test needs python3 with Dask: pip install \"dask[distributed]\" (./test.sh does)"),
    }
    Command::new("python3")
        .arg(driver())
        .args(["--workers", "2", "--binary", BIN, "--fan-in", fan_in])
        .args(options)
        .args(shards)
        .arg("--")
        .args(cli_flags)
        .output()
        .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Eight shards, NDJSON and nginx in turn: 1, 4 and 6 gzipped, 7 a gzip
/// cut in half.
fn shards(dir: &Path) -> Vec<PathBuf> {
    (0..8u64)
        .map(|i| {
            let flavor = if i % 2 == 0 { Flavor::Ndjson } else { Flavor::Nginx };
            let mut data = Vec::new();
            corpus::generate(flavor, 200 << 10, 40 + i, &mut data).unwrap();
            let (name, bytes) = match i {
                1 | 4 | 6 => (format!("shard{i}.log.gz"), gzip(&data)),
                7 => {
                    let compressed = gzip(&data);
                    (format!("shard{i}.log.gz"), compressed[..compressed.len() / 2].to_vec())
                }
                _ => (format!("shard{i}.log"), data),
            };
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

fn json(output: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    without_timing(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}; stderr:\n{stderr}")))
}

#[test]
fn eight_shards_on_two_workers_merge_to_one_scan_and_the_damaged_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let shards = shards(dir.path());
    // A fan-in of 3 merges 8 states in two levels on the workers (3, 3, 2),
    // then the last 3 here.
    let out = fan_out(&shards, "3", &["--output", "json", "--top"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "a damaged shard fails the run: {stderr}");
    assert!(stderr.contains("scan.py: 8 shards on 2 workers"), "{stderr}");
    let damaged = shards[7].display().to_string();
    assert!(stderr.contains(&format!("scan.py: {damaged}: exit 2: ")), "{stderr}");
    assert!(stderr.contains("gzip stream is corrupt or truncated"), "{stderr}");
    assert!(stderr.contains("1 of 8 shards failed"), "{stderr}");
    for good in &shards[..7] {
        assert!(!stderr.contains(&format!("scan.py: {}:", good.display())), "{stderr}");
    }

    let one_scan = cmd().args(&shards).args(["--output", "json", "--top", "-q"]).output().unwrap();
    assert_eq!(one_scan.status.code(), Some(2));
    let (merged, whole) = (json(&out), json(&one_scan));
    assert_eq!(merged, whole, "the merged report is the report of one scan");
    assert_eq!(merged["inputs"].as_array().unwrap().len(), 8);
    assert!(merged["summary"]["requests"].as_u64().unwrap() > 5_000, "{}", merged["summary"]);
}

#[test]
fn report_flags_go_to_the_final_merge_and_scan_flags_to_every_shard() {
    let dir = tempfile::tempdir().unwrap();
    let shards = &shards(dir.path())[..7];
    let report = dir.path().join("report.csv");
    let flags = ["--status", "5xx", "--fail-on", "error_rate>1%", "-o", report.to_str().unwrap()];
    let out = fan_out(shards, "8", &flags);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "the rule is breached: {stderr}");
    assert!(stderr.contains("--fail-on error_rate>1% breached"), "{stderr}");
    assert!(out.stdout.is_empty(), "the report went to -o");
    let one_scan = cmd().args(shards).args(["--status", "5xx", "--output", "csv", "-q"]).output().unwrap();
    assert_eq!(std::fs::read_to_string(&report).unwrap(), String::from_utf8(one_scan.stdout).unwrap());
}

#[test]
fn an_overlap_names_the_shards_given_not_temporary_states() {
    let dir = tempfile::tempdir().unwrap();
    let shards = &shards(dir.path())[..3];
    // shard0.log again, under another name: the same input by content.
    let copy = dir.path().join("copy-of-shard0.log");
    std::fs::copy(&shards[0], &copy).unwrap();
    let given = [shards.to_vec(), vec![copy.clone()]].concat();
    // A fan-in of 2: shards 0 and 1, then 2 and the copy, merged on the
    // workers; the overlap shows in the last merge, here.
    let out = fan_out(&given, "2", &["--output", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let (first, second) = (shards[0].display(), shards[1].display());
    let (third, copy) = (shards[2].display(), copy.display());
    let second_part = format!("shards {third}, {copy}: input {copy} (");
    let first_part = format!(
        "is also in shards {first}, {second} as {first}; merging would count it twice (pass --allow-overlap after -- if"
    );
    assert!(stderr.contains(&second_part) && stderr.contains(&first_part), "{stderr}");
    assert!(!stderr.contains(".state"), "{stderr}");
    // Given after --, --allow-overlap reaches the merges.
    let out = fan_out(&given, "2", &["--output", "json", "--allow-overlap"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["inputs"].as_array().unwrap().len(), 4);
}

#[test]
fn the_drivers_own_unit_tests_pass() {
    let folder = driver().parent().unwrap().to_owned();
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s"])
        .arg(&folder)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("Ran ") && stderr.trim_end().ends_with("OK"), "{stderr}");
}

/// An OpenSSH server on a free 127.0.0.1 port that takes one generated
/// key, killed when dropped.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.exists(), "this test needs sshd: apt-get install openssh-server (./test.sh does)");
        let dir = tempfile::tempdir().unwrap();
        for key in ["host_key", "user_key"] {
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(key))
                .status();
            assert!(made.unwrap().success(), "ssh-keygen {key}");
        }
        std::fs::copy(dir.path().join("user_key.pub"), dir.path().join("authorized_keys")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nAuthorizedKeysFile {dir}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             StrictModes no\nUsePAM no\nPidFile none\n",
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-f")
            .arg(dir.path().join("sshd_config"))
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let server = Sshd { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Command::new("sh")
            .args(["-c", &format!("{} 127.0.0.1 true", server.ssh())])
            .status()
            .map_or(true, |s| !s.success())
        {
            assert!(Instant::now() < deadline, "sshd did not take the key on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The ssh command that reaches this server.
    fn ssh(&self) -> String {
        format!(
            "ssh -p {} -i {}/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes",
            self.port,
            self.dir.path().display()
        )
    }
}

#[test]
fn host_path_shards_are_scanned_on_the_host_over_ssh() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let shards = shards(dir.path());
    // Two shards read over ssh (the host is this machine), one here.
    let remote = [format!("127.0.0.1:{}", shards[0].display()), format!("127.0.0.1:{}", shards[1].display())];
    let given = [PathBuf::from(&remote[0]), PathBuf::from(&remote[1]), shards[2].clone()];
    let ssh = sshd.ssh();
    let out = fan_out_with(&["--ssh", &ssh, "--remote-binary", BIN], &given, "8", &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let one_scan = cmd().args(&shards[..3]).args(["--output", "json", "-q"]).output().unwrap();
    assert_eq!(json(&out), json(&one_scan));

    // A host that refuses is a failed shard, named.
    let missing = PathBuf::from(format!("127.0.0.1:{}/no-such.log", dir.path().display()));
    let out = fan_out_with(
        &["--ssh", &ssh, "--remote-binary", BIN],
        &[missing.clone(), shards[2].clone()],
        "8",
        &["-o", "/dev/null"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("scan.py: {}: exit 2: ", missing.display())) && stderr.contains("No such file"),
        "{stderr}"
    );
}

#[test]
fn a_driver_without_the_binary_says_where_to_get_it() {
    let out = Command::new("python3")
        .arg(driver())
        .args(["--workers", "1", "--binary", "/nonexistent/cts-logscan", "web1.log"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/cts-logscan: not found") && stderr.contains("--binary PATH"), "{stderr}");
}

/// A Dask scheduler and two worker processes on 127.0.0.1, killed when
/// dropped: the `--scheduler ADDR` way in.
struct Cluster {
    scheduler: Child,
    workers: Child,
    address: String,
    _logs: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in [&mut self.workers, &mut self.scheduler] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    fn start() -> Cluster {
        let logs = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("tcp://127.0.0.1:{port}");
        let log = |name: &str| std::fs::File::create(logs.path().join(name)).unwrap();
        let spawn = |module: &str, args: &[&str], name: &str| {
            Command::new("python3")
                .args(["-m", module])
                .args(args)
                .stdout(Stdio::null())
                .stderr(log(name))
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("python3 -m {module}: {e}; pip install \"dask[distributed]\" (./test.sh does)")
                })
        };
        let port = port.to_string();
        let scheduler = spawn(
            "distributed.cli.dask_scheduler",
            &["--host", "127.0.0.1", "--port", &port, "--no-dashboard"],
            "scheduler.log",
        );
        let workers = spawn(
            "distributed.cli.dask_worker",
            &[&address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
            "workers.log",
        );
        let cluster = Cluster { scheduler, workers, address, _logs: logs };
        let deadline = Instant::now() + Duration::from_secs(60);
        let registered = || {
            let text = std::fs::read_to_string(cluster._logs.path().join("workers.log")).unwrap_or_default();
            text.matches("Registered to:").count()
        };
        while registered() < 2 {
            assert!(
                Instant::now() < deadline,
                "two Dask workers did not register with {} within 60 s",
                cluster.address
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }
}

#[test]
fn a_running_cluster_is_joined_with_scheduler() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let shards = &shards(dir.path())[..4];
    let out = Command::new("python3")
        .arg(driver())
        .args(["--scheduler", &cluster.address, "--binary", BIN, "--fan-in", "2"])
        .args(shards)
        .args(["--", "--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("4 shards on 2 workers at {}", cluster.address)), "{stderr}");
    let one_scan = cmd().args(shards).args(["--output", "json", "-q"]).output().unwrap();
    assert_eq!(json(&out), json(&one_scan));
}
