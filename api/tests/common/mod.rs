//! The test harness: a real `hadir` process on a free port, on a real SQLite file or a fresh
//! PostgreSQL database, used over HTTP and over WebSocket with a real GraphQL client.
//!
//! PostgreSQL variants run when `HADIR_TEST_POSTGRES_URL` names a server whose user may
//! create databases (`.ci/run` gives this machine's); without it they print that they were
//! skipped and pass.

#![allow(dead_code)]

pub mod bench_node;
pub mod camera;
pub mod mqtt;
pub mod pg_proxy;
pub mod raw;
pub mod tls;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use futures_util::StreamExt;
use graphql_ws_client::{Client, graphql::GraphqlOperation};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

/// The bootstrap admin token every test server accepts.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// The variable naming a PostgreSQL server for the PostgreSQL variants.
pub const POSTGRES_URL_VAR: &str = "HADIR_TEST_POSTGRES_URL";
/// How long the tests' HTTP client keeps an idle connection: less than the server's
/// `header_read_timeout`.
pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the server to start listening.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test: an SQLite file in a temporary folder, or a fresh PostgreSQL
/// database dropped at the end.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// None when the backend is PostgreSQL and no server is configured (the test is skipped).
    pub fn create(backend: Backend, test_name: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary folder");
        match backend {
            Backend::Sqlite => Some(Self {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("hadir.sqlite").display()
                ),
                dir,
                postgres: None,
            }),
            Backend::Postgres => {
                let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
                    eprintln!(
                        "SKIPPED {test_name} on PostgreSQL: set {POSTGRES_URL_VAR} (for example \
                         postgres://postgres@127.0.0.1:5432/test) to run it"
                    );
                    return None;
                };
                let name = format!("hadir_test_{}_{}", std::process::id(), rand_suffix());
                run_postgres(&base, &format!("CREATE DATABASE {name}"));
                let mut url = url::Url::parse(&base).expect("a PostgreSQL URL");
                url.set_path(&format!("/{name}"));
                Some(Self {
                    url: url.to_string(),
                    dir,
                    postgres: Some((base, name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.postgres {
            run_postgres(
                base,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}

/// Runs one statement on the PostgreSQL server, on a runtime of its own (usable from Drop).
fn run_postgres(base: &str, sql: &str) {
    let base = base.to_owned();
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            use sea_orm::ConnectionTrait;
            let db = sea_orm::Database::connect(&base)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to {base}: {e}"));
            db.execute_unprepared(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = db.close().await;
        });
    })
    .join()
    .expect("PostgreSQL statement");
}

/// Options of a test server.
pub struct ServerOptions {
    pub lost_after_secs: u64,
    pub camera_timeout_secs: u64,
    pub monitor_interval_ms: u64,
    pub camera_dir: Option<PathBuf>,
    pub extra_env: Vec<(String, String)>,
    /// Set `HADIR_ADMIN_TOKEN` to [`ADMIN_TOKEN`] (false: the server must make its own).
    pub bootstrap_admin: bool,
    /// `HADIR_NODE_ID` (None: the host name, as in production).
    pub node_id: Option<String>,
    /// `HADIR_LEASE_SECS` (None: the default).
    pub lease_secs: Option<u64>,
    /// Run as a fresh `./scripts/serve` does: the demo site on, and the presence timings and
    /// the log filter left at their defaults (false: the demo off, the timings above).
    pub defaults_of_serve: bool,
}

impl ServerOptions {
    /// The default options with the database at `url` instead of the test's own (an SQLite
    /// file somewhere else, PostgreSQL through a proxy).
    pub fn with_database(url: String) -> Self {
        Self {
            extra_env: vec![("HADIR_DATABASE_URL".into(), url)],
            ..Default::default()
        }
    }
}

/// The URL of an SQLite database in `file`.
pub fn sqlite_url(file: &Path) -> String {
    format!("sqlite://{}?mode=rwc", file.display())
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            lost_after_secs: 120,
            camera_timeout_secs: 30,
            monitor_interval_ms: 200,
            camera_dir: None,
            extra_env: Vec::new(),
            bootstrap_admin: true,
            node_id: None,
            lease_secs: None,
            defaults_of_serve: false,
        }
    }
}

/// A running `hadir` process; killed when dropped.
pub struct TestServer {
    pub addr: String,
    pub child: Child,
    pub http: reqwest::Client,
    pub log_path: PathBuf,
    pub stdout_lines: mpsc::Receiver<String>,
    /// What the server printed on stdout before it listened, and its start-up banner.
    pub startup_output: Vec<String>,
}

/// A folder with the three sample-like cameras, one with credentials.
pub fn write_camera_folder(root: &Path) -> PathBuf {
    let dir = root.join("camera_configs");
    std::fs::create_dir_all(&dir).expect("camera folder");
    std::fs::write(
        dir.join("lobby.json"),
        r#"{"id": "CAM1", "name": "Lobby", "rtsp_url": "rtsp://admin:s3cret@127.0.0.1:8554/lobby", "fps": 1}"#,
    )
    .expect("camera file");
    std::fs::write(
        dir.join("gate.json"),
        r#"{"id": "CAM2", "name": "Gate", "rtsp_url": "http://127.0.0.1:8081/gate.mjpg"}"#,
    )
    .expect("camera file");
    dir
}

impl TestServer {
    /// The `hadir serve` command [`TestServer::start`] runs, and the file its log (stderr)
    /// goes to: for a test that expects the start to fail.
    pub fn serve_command(db: &TestDb, options: &ServerOptions) -> (Command, PathBuf) {
        let camera_dir = options
            .camera_dir
            .clone()
            .unwrap_or_else(|| write_camera_folder(db.dir.path()));
        let log_path = db.dir.path().join(format!("hadir-{}.log", rand_suffix()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_hadir"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HADIR_DATABASE_URL", &db.url)
            .env("HADIR_LISTEN", "127.0.0.1:0")
            .env("HADIR_CAMERA_CONFIGS", &camera_dir)
            .env("HADIR_DEMO_ENABLED", options.defaults_of_serve.to_string())
            .current_dir(db.dir.path())
            .stdout(Stdio::piped())
            .stderr(log);
        // The face models and the ONNX Runtime library, where the test command put them.
        for key in ["HOME", "HADIR_CACHE_DIR", "ORT_DYLIB_PATH"] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        if !options.defaults_of_serve {
            command
                .env("HADIR_LOST_AFTER_SECS", options.lost_after_secs.to_string())
                .env(
                    "HADIR_CAMERA_TIMEOUT_SECS",
                    options.camera_timeout_secs.to_string(),
                )
                .env(
                    "HADIR_MONITOR_INTERVAL_MS",
                    options.monitor_interval_ms.to_string(),
                )
                .env("HADIR_LOG", "info");
        }
        if options.bootstrap_admin {
            command.env("HADIR_ADMIN_TOKEN", ADMIN_TOKEN);
        }
        if let Some(node_id) = &options.node_id {
            command.env("HADIR_NODE_ID", node_id);
        }
        if let Some(lease) = options.lease_secs {
            command.env("HADIR_LEASE_SECS", lease.to_string());
        }
        for (key, value) in &options.extra_env {
            command.env(key, value);
        }
        (command, log_path)
    }

    pub fn start(db: &TestDb, options: &ServerOptions) -> Self {
        let (mut command, log_path) = Self::serve_command(db, options);
        let mut child = command.spawn().expect("start hadir");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        let mut startup_output = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match receiver.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line
                        .strip_prefix("hadir listening on http://")
                        .or_else(|| line.strip_prefix("hadir listening on https://"))
                    {
                        break url.trim().to_owned();
                    }
                    startup_output.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "hadir did not start; its log:\n{}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    );
                }
            }
        };
        // Then the banner, between two rules (it holds the first admin token, if one was made).
        let mut rules = 0;
        while rules < 2 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match receiver.recv_timeout(left) {
                Ok(line) => {
                    rules += usize::from(line.trim() == api::banner::RULE);
                    startup_output.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "hadir printed no start-up banner; it printed {startup_output:?}; its log:\n{}",
                        std::fs::read_to_string(&log_path).unwrap_or_default()
                    );
                }
            }
        }
        Self {
            addr,
            child,
            // Idle connections are dropped before the server's header_read_timeout closes
            // them (a request sent on a connection the server is closing fails).
            http: reqwest::Client::builder()
                .pool_idle_timeout(CLIENT_IDLE_TIMEOUT)
                .build()
                .expect("HTTP client"),
            log_path,
            stdout_lines: receiver,
            startup_output,
        }
    }

    /// `GET /healthz` (no token): the status and the JSON answer.
    pub async fn health(&self) -> (u16, Value) {
        let response = self
            .http
            .get(self.url("/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("/healthz answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates employee `id` named `name` (admin token).
    pub async fn create_employee(&self, id: &str, name: &str) {
        self.gql(
            ADMIN_TOKEN,
            "mutation($input: EmployeeInput!) { createEmployee(input: $input) { employeeId } }",
            json!({ "input": { "employeeId": id, "name": name } }),
        )
        .await;
    }

    /// `GET /metrics` with the admin token: the Prometheus text.
    pub async fn metrics(&self) -> Metrics {
        let text = self
            .http
            .get(self.url("/metrics"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("the metrics' text");
        Metrics(text)
    }

    /// Posts a GraphQL request with the given token (None: no Authorization header);
    /// returns the HTTP status and the JSON body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        self.post_json(token, &json!({ "query": query, "variables": variables }))
            .await
    }

    /// Posts `body` (one request, a batch, anything) as JSON to `/graphql`; returns the HTTP
    /// status and the JSON answer.
    pub async fn post_json(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self.http.post(self.url("/graphql")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql");
        let status = response.status().as_u16();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    /// A GraphQL request that must succeed; returns `data`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        if status != 200 || body.get("errors").is_some() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "{query}\n→ {status} {body}\nthe server's last log lines:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        body["data"].clone()
    }

    /// A GraphQL request that must fail; returns the first error's code and message.
    pub async fn gql_error(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (String, String) {
        let (_, body) = self.post(token, query, variables).await;
        let error = &body["errors"][0];
        assert!(
            !error.is_null(),
            "expected an error from {query}, got {body}"
        );
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Asks the process to stop (SIGTERM), as a service manager would, and waits for it.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success(), "kill -TERM failed");
        self.child.wait().expect("hadir exits")
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Opens a `graphql-transport-ws` connection with the given `connection_init` payload.
    pub async fn ws_client(&self, payload: Value) -> Result<Client, graphql_ws_client::Error> {
        let mut request = format!("ws://{}/graphql", self.addr)
            .into_client_request()
            .expect("ws request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (connection, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket connect");
        let (client, actor) = Client::build(connection).payload(payload)?.await?;
        tokio::spawn(actor.into_future());
        Ok(client)
    }

    /// A `graphql-transport-ws` client authenticated with `token`.
    pub async fn ws(&self, token: &str) -> Client {
        self.ws_client(json!({ "authorization": format!("Bearer {token}") }))
            .await
            .expect("GraphQL WebSocket client")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use std::future::IntoFuture;

/// A GraphQL operation as text, answered as JSON.
#[derive(serde::Serialize)]
pub struct Operation {
    pub query: String,
    pub variables: Value,
}

impl Operation {
    pub fn new(query: &str, variables: Value) -> Self {
        Self {
            query: query.to_owned(),
            variables,
        }
    }
}

/// An answer with errors.
#[derive(Debug, thiserror::Error)]
#[error("GraphQL errors: {0}")]
pub struct OperationErrors(pub Value);

impl GraphqlOperation for Operation {
    type Response = Value;
    type Error = OperationErrors;

    fn decode(&self, data: Value) -> Result<Value, OperationErrors> {
        match data.get("errors") {
            Some(errors) if !errors.is_null() => Err(OperationErrors(errors.clone())),
            _ => Ok(data.get("data").cloned().unwrap_or(Value::Null)),
        }
    }
}

/// The next item of a subscription within `within`, as the `data` object.
pub async fn next_event<S>(stream: &mut S, within: Duration) -> Value
where
    S: futures_util::Stream<Item = Result<Value, graphql_ws_client::Error>> + Unpin,
{
    match tokio::time::timeout(within, stream.next()).await {
        Ok(Some(Ok(value))) => value,
        Ok(Some(Err(error))) => panic!("subscription error: {error}"),
        Ok(None) => panic!("subscription ended"),
        Err(_) => panic!("no event within {within:?}"),
    }
}

/// Asserts that a subscription yields nothing within `within`.
pub async fn no_event<S>(stream: &mut S, within: Duration)
where
    S: futures_util::Stream<Item = Result<Value, graphql_ws_client::Error>> + Unpin,
{
    if let Ok(Some(item)) = tokio::time::timeout(within, stream.next()).await {
        panic!("expected no event, got {item:?}");
    }
}

/// Creates a token with `role` through the API and returns its secret.
pub async fn create_token(server: &TestServer, role: &str) -> String {
    let data = server
        .gql(
            ADMIN_TOKEN,
            "mutation($name: String!, $role: Role!) { createApiToken(input: {name: $name, role: $role}) { token apiToken { role } } }",
            json!({ "name": format!("{role} for tests"), "role": role }),
        )
        .await;
    data["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// The message of the first error of a GraphQL answer ("" when there is none).
pub fn first_error(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Generates a SQLite and a PostgreSQL test from one `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// The Prometheus text of `/metrics`.
pub struct Metrics(pub String);

impl Metrics {
    /// The value of the series written exactly `series` (name and labels), if present.
    pub fn get(&self, series: &str) -> Option<f64> {
        self.0.lines().find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|value| value.trim().parse().ok())
        })
    }

    /// As [`Metrics::get`], failing the test (with the whole text) when the series is missing.
    pub fn value(&self, series: &str) -> f64 {
        self.get(series)
            .unwrap_or_else(|| panic!("{series} is not in /metrics:\n{}", self.0))
    }
}

impl std::fmt::Display for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
