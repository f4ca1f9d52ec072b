//! The `atrium` binary as its own process, logging JSON, for what only a
//! whole process shows (its log output, its trace exporter).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::TEST_SECRET;

pub struct Process {
    child: Child,
    lines: Receiver<String>,
    dir: PathBuf,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Process {
    /// Starts the server on SQLite with `LOG_FORMAT=json` and the given
    /// settings, and waits until it listens.
    pub fn start(env: &[(&str, String)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("atrium-process-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_atrium"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/a.db?mode=rwc", dir.display()),
            )
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", TEST_SECRET)
            .env("MAIL_DIR", dir.join("mail"))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            child,
            lines,
            dir,
            addr: String::new(),
        };
        let line = process.line_where(Duration::from_secs(30), |line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("listening on http://"))
        });
        process.addr =
            line["fields"]["message"].as_str().unwrap()["listening on http://".len()..].to_owned();
        process
    }

    /// The next log line that `wanted` accepts; panics after `wait`.
    pub fn line_where(&self, wait: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).expect("the awaited log line");
            let parsed: Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            if wanted(&parsed) {
                return parsed;
            }
        }
    }

    /// Every line logged so far that was not read yet, waiting `settle`
    /// for stragglers.
    pub fn lines_so_far(&self, settle: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(settle) {
            lines.push(line);
        }
        lines
    }

    /// Its resident anonymous memory (heap and stacks, not mapped files),
    /// in KiB, from `/proc/<pid>/status`.
    pub fn rss_anon_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon in /proc/<pid>/status")
    }

    /// Stops it as an operator would (SIGTERM), so that it flushes.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
