//! Test harness: the real `scimkit` binary as a child process on 127.0.0.1 with
//! a free port and a temporary SQLite file, and a small blocking HTTP/1.1
//! client. Every wait is bounded; the child is killed on drop.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest any wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// Lines a child wrote to one of its pipes.
type Lines = Arc<Mutex<Vec<String>>>;

fn collect(pipe: impl Read + Send + 'static) -> Lines {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Run the binary to completion (token / tenant commands).
pub fn scimkit(db: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scimkit"))
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("SCIMKIT_CONFIG")
        .env_remove("SCIMKIT_DATABASE_URL")
        .output()
        .expect("run scimkit");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `scimkit serve`.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub tenant_url: String,
    pub stdout: Lines,
    pub stderr: Lines,
}

/// How to start a server.
pub struct Start<'a> {
    pub db: PathBuf,
    pub args: Vec<&'a str>,
    pub envs: Vec<(&'a str, String)>,
}

impl<'a> Start<'a> {
    pub fn new(db: &Path) -> Self {
        Self {
            db: db.to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    pub fn args(mut self, args: &[&'a str]) -> Self {
        self.args.extend_from_slice(args);
        self
    }

    pub fn env(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.envs.push((k, v.into()));
        self
    }

    /// Start and wait until it serves.
    pub fn spawn(self) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimkit"));
        cmd.arg("serve").arg("--log-format").arg("json");
        for var in [
            "SCIMKIT_CONFIG",
            "SCIMKIT_DATABASE_URL",
            "SCIMKIT_LISTEN",
            "SCIMKIT_DB",
            "SCIMKIT_LOG",
        ] {
            cmd.env_remove(var);
        }
        let has = |k: &str| self.envs.iter().any(|(e, _)| *e == k);
        if !has("SCIMKIT_DB") {
            cmd.arg("--db").arg(&self.db);
        }
        if !has("SCIMKIT_LISTEN") {
            cmd.arg("--listen").arg("127.0.0.1:0");
        }
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scimkit");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant_url: String::new(),
            stdout,
            stderr,
        };
        let line = server.wait_log(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("serving SCIM"))
        });
        server.addr = line["listen"].as_str().unwrap().parse().unwrap();
        server.tenant_url = line["tenant_url"].as_str().unwrap().to_owned();
        server
    }
}

impl Server {
    /// Wait for a JSON log line matching `pred`; panic with the logs on timeout
    /// or if the process exits first.
    pub fn wait_log(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| pred(v));
            if let Some(v) = found {
                return v;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("scimkit exited ({status}) early:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "timed out; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for a stdout line containing `needle`.
    pub fn wait_stdout(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(l) = self
                .stdout
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on stdout:\n{}",
                self.stdout.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The first-start token from the banner.
    pub fn banner_token(&self) -> String {
        let line = self.wait_stdout("Secret Token:");
        line.split_whitespace().last().unwrap().to_owned()
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        // kill(1): the workspace forbids `unsafe`, so no libc::kill here.
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Wait (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "scimkit did not exit:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.terminate();
        self.wait_exit()
    }

    pub fn client(&self, token: &str) -> Client {
        Client {
            addr: self.addr,
            token: token.to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    tcp
}

/// Write a request (with `Connection: close`) on `io` and read the response.
pub fn exchange<S: Read + Write>(
    io: &mut S,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    }) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    io.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before reading all of a big body.
    let _ = io.write_all(body);
    let _ = io.flush();
    read_response(io)
}

/// Read one response until the server closes the connection.
pub fn read_response(io: &mut impl Read) -> Resp {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match io.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the full response (unread request body) is fine.
            Err(e) if !raw.is_empty() && e.kind() != std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse::<usize>().unwrap());
        match len {
            Some(n) => rest[..n.min(rest.len())].to_vec(),
            None => rest.to_vec(),
        }
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&rest[..eol]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

/// One request on a fresh connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut tcp = connect(addr);
    exchange(&mut tcp, &addr.to_string(), method, path, headers, body)
}

/// A SCIM client with a bearer token.
#[derive(Debug, Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub token: String,
}

impl Client {
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let auth = format!("Bearer {}", self.token);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        request(
            self.addr,
            method,
            &format!("/scim/v2{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/scim+json"),
                ("Accept", "application/scim+json"),
            ],
            body.as_bytes(),
        )
    }

    /// Status and JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let r = self.send(method, path, body);
        (r.status, r.json())
    }
}

/// `?filter=…` percent-encoded.
pub fn q(filter: &str) -> String {
    let mut out = String::new();
    for b in filter.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A form POST (or GET) to the admin page with a cookie.
pub fn admin_req(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> Resp {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", q(k), q(v)))
        .collect::<Vec<_>>()
        .join("&");
    request(
        addr,
        method,
        path,
        &[
            ("Cookie", cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

/// The CSRF token of an admin page form.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}
