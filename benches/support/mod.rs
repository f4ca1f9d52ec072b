//! What the benchmarks share: the release server started as a child process
//! on a database, and a temporary directory that goes with it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The secret the benchmarks' servers sign access tokens with.
pub const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A directory removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    /// A SQLite database inside it.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}/bench.db?mode=rwc", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server under test; a started one is stopped when dropped.
pub struct Server {
    pub child: Option<Child>,
    pub pid: u32,
    pub addr: String,
    pub _dir: Option<TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the release server on `database` with its mail in `dir`, rate
/// limits lifted (a benchmark is one caller making every request), and waits
/// until it listens.
pub fn spawn(database: &str, dir: TempDir) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atrium"))
        .env("DATABASE_URL", database)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", JWT_SECRET)
        .env("MAIL_DIR", dir.0.join("mail"))
        .env("RATE_LIMIT_PER_MINUTE", "1000000000")
        .env("WORKSPACE_RATE_LIMIT_PER_MINUTE", "1000000000")
        .env("RUST_LOG", "warn,atrium::serve=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server output").expect("line");
        if let Some((_, rest)) = line.split_once("listening on http://") {
            break rest.trim().to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        pid: child.id(),
        child: Some(child),
        addr,
        _dir: Some(dir),
    }
}
