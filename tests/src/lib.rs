//! Harness for Hearth's end-to-end tests: real vault directories in temporary folders, driven
//! through the real `hearth` binary exactly as a person or a script would.
//!
//! The binary is the one `scripts/test` builds before the tests run (`target/<profile>/hearth`,
//! next to the test executables' `deps/` folder), or the one named by `HEARTH_BIN`.

pub mod fake_mastodon;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Passphrase used by test vaults.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// Path of the `hearth` binary under test.
pub fn hearth_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("HEARTH_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/hearth
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("hearth");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p hearth-web`, which scripts/test does)",
        bin.display()
    );
    bin
}

/// A vault in a temporary directory, removed on drop.
pub struct TestVault {
    root: tempfile::TempDir,
    /// The vault directory (`<tmp>/vault`).
    pub dir: PathBuf,
    passphrase: String,
}

impl TestVault {
    /// Creates a vault with `hearth init` (a low scrypt work factor keeps tests quick).
    pub fn init() -> TestVault {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("vault");
        let vault = TestVault {
            root,
            dir,
            passphrase: PASSPHRASE.to_owned(),
        };
        vault.ok(&["init", "--scrypt-log-n", "10"]);
        vault
    }

    /// The temporary root holding the vault (for backup files and other scratch).
    pub fn scratch(&self) -> &Path {
        self.root.path()
    }

    /// Changes the passphrase this harness unlocks with.
    pub fn set_passphrase(&mut self, passphrase: &str) {
        self.passphrase = passphrase.to_owned();
    }

    /// A `hearth` command for this vault, passphrase in the environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(hearth_bin());
        cmd.args(args)
            .env("HEARTH_VAULT", &self.dir)
            .env("HEARTH_PASSPHRASE", &self.passphrase)
            .env_remove("HEARTH_IDENTITY_FILE")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `hearth` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run hearth")
    }

    /// Runs `hearth` with `input` on standard input.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hearth");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("wait hearth")
    }

    /// Runs `hearth`, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "hearth {args:?} failed: {}",
            describe(&out)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs `hearth --json ...`, asserting success; parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// Every byte of every file in the vault directory (database, WAL, shared memory, keys).
    pub fn all_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).expect("read vault dir") {
            let path = entry.expect("dir entry").path();
            if path.is_file() {
                out.extend(std::fs::read(&path).expect("read vault file"));
            }
        }
        out
    }

    /// The vault's SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("vault.db")
    }

    /// A new vault holding the sample persona's WhatsApp and Telegram chats (examples/), the
    /// persona marked as the owner.
    pub fn with_sample_chats() -> Self {
        let vault = Self::init();
        for export in [SAMPLE_WHATSAPP, SAMPLE_TELEGRAM] {
            vault.ok(&["import", &example(export), "--me", "Maya Lindqvist"]);
        }
        vault
    }

    /// `hearth grant issue ARGS...`; returns (id, token).
    pub fn issue_grant(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["grant", "issue"];
        all.extend_from_slice(args);
        let out = self.json(&all);
        (
            out["id"].as_str().expect("grant id").to_owned(),
            out["token"].as_str().expect("grant token").to_owned(),
        )
    }

    /// Every entry of `hearth audit list`.
    pub fn audit_entries(&self) -> Vec<serde_json::Value> {
        self.json(&["audit", "list"])
            .as_array()
            .expect("audit entries")
            .clone()
    }
}

/// The sample WhatsApp chat, under examples/.
pub const SAMPLE_WHATSAPP: &str = "whatsapp/WhatsApp Chat with Inês.txt";
/// The sample Telegram export, under examples/.
pub const SAMPLE_TELEGRAM: &str = "telegram/result.json";

/// The absolute path of `relative` under the repository's examples/.
pub fn example(relative: &str) -> String {
    format!("{}/../examples/{relative}", env!("CARGO_MANIFEST_DIR"))
}

/// Exit code and both streams, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A random string to plant and look for.
pub fn canary(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("CANARY-{tag}-{nanos:x}-{}", std::process::id())
}

/// A running `hearth serve` on a free loopback port, stopped (SIGTERM, then killed) on drop.
pub struct Node {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Node {
    /// Starts `hearth serve --addr 127.0.0.1:0 EXTRA...` on `vault` and waits (up to 5 minutes:
    /// models load, memories may build) for the address it prints once ready.
    pub fn start(vault: &TestVault, extra: &[&str]) -> Node {
        Node::start_at(vault, "127.0.0.1:0", extra)
    }

    /// As [`Node::start`], listening on `addr` (e.g. `0.0.0.0:0` to be reached from another
    /// interface).
    pub fn start_at(vault: &TestVault, addr: &str, extra: &[&str]) -> Node {
        let mut args = vec!["serve", "--addr", addr];
        args.extend_from_slice(extra);
        let mut child = vault
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hearth serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let mut node = Node {
            child: Some(child),
            url: String::new(),
            stderr: log,
        };
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(url) => node.url = url,
            Err(_) => panic!("hearth serve did not get ready; its log:\n{}", node.log()),
        }
        node
    }

    /// What the node wrote on standard error so far.
    pub fn log(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sends SIGTERM and waits (up to 60 s) for a clean exit; returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The Python interpreter with the tests' pinned clients: `$HEARTH_PYTHON`, else the
/// repository's `.venv` that `scripts/setup` makes.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HEARTH_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup (it installs the pinned Python clients)",
        venv.display()
    );
    venv
}

/// A script under `tests/py/`.
pub fn py_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("py").join(name)
}
