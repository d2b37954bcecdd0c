//! The second outside audit's faults, on the surfaces added after the first (the web server,
//! the model queue, the store, the configuration), each kept as a test of its class: a public
//! port that silent connections cannot take down, a read-only store said at once and read
//! where it can be, a store deleted under a running process noticed, secrets never quoted
//! from a config file, a closed stderr that is no panic. (Each failed before its fix.)

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use storybot::app::App;
use storybot::config::Config;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_storybot")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A demo store served on loopback with `web` settings; the guard stops it.
async fn served(
    web: &str,
) -> (
    App,
    SocketAddr,
    SocketAddr,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
) {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[store]\nurl = \"sqlite://{}\"\nseed_demo = true\n[web]\nadmin_listen = \"127.0.0.1:0\"\n{web}\n",
        dir.path().join("w.db").display()
    );
    let config = Config::parse(&toml, Path::new("t.toml")).unwrap();
    let app = App::open(config).await.unwrap();
    let server = storybot::web::Server::bind(app.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (public, admin) = (server.public_addr().unwrap(), server.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (app, public, admin, dir, stop)
}

/// A connection from loopback address `127.0.0.{from}` that sends a request line and
/// nothing more, as a slowloris does.
async fn unfinished(to: SocketAddr, from: u8) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from(([127, 0, 0, from], 0)))
        .unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    stream
}

/// Whether the server has closed `stream` (EOF, reset, or a refusal and then EOF) within
/// `wait`.
async fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn get(url: &str) -> (reqwest::StatusCode, String) {
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn a_story_path(app: &App) -> String {
    let story = &app.trending(1).await.unwrap()[0];
    format!("/story/{}", story.id)
}

fn shed(metrics: &str, reason: &str) -> u64 {
    let key =
        format!("storybot_web_connections_shed_total{{listener=\"public\",reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_requests_are_timed_out_and_cannot_take_the_port() {
    let (app, public, admin, _dir, _stop) =
        served("header_timeout_seconds = 1\nmax_connections = 16\nmax_connections_per_address = 4")
            .await;
    let page = a_story_path(&app).await;

    // One address holds its cap; more from it evict its own quietest, not anyone else.
    let mut held = Vec::new();
    for _ in 0..12 {
        held.push(unfinished(public, 2).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Several addresses fill the cap in all.
    for from in 3..=6 {
        for _ in 0..4 {
            held.push(unfinished(public, from).await);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = get(&format!("http://{public}{page}")).await;
    assert_eq!(status, 200, "a reader still gets the page: {body}");
    let (status, body) = get(&format!("http://{admin}/healthz")).await;
    assert_eq!(status, 200, "the operators' port still answers: {body}");

    // Every unfinished request is closed by the server once its header time is up.
    let started = Instant::now();
    for (i, stream) in held.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream, Duration::from_secs(5)).await,
            "connection {i} still open {:?} after it sent a request line",
            started.elapsed()
        );
    }
    let (_, metrics) = get(&format!("http://{admin}/metrics")).await;
    // 28 unfinished requests and one reader on 16 places: 13 shed at accept, a burst too new
    // to be quiet refused, the reader's place made by evicting the quietest.
    let (evicted, refused) = (shed(&metrics, "evicted"), shed(&metrics, "refused"));
    assert!(evicted >= 1 && evicted + refused >= 13, "{metrics}");
    assert!(shed(&metrics, "header_timeout") >= 1, "{metrics}");
    assert!(
        metrics.contains("storybot_web_connections_open{listener=\"public\"} 0\n"),
        "every connection closed: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_that_sends_nothing_more_is_closed() {
    let (app, public, _admin, _dir, _stop) =
        served("header_timeout_seconds = 1\nidle_timeout_seconds = 1").await;
    let page = a_story_path(&app).await;
    let mut stream = TcpStream::connect(public).await.unwrap();
    let request = format!("GET {page} HTTP/1.1\r\nhost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0u8; 16];
    stream.read_exact(&mut first).await.unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"), "{}", text(&first));
    assert!(
        closed_by_server(&mut stream, Duration::from_secs(5)).await,
        "a kept-alive connection that sends nothing more is closed"
    );
}

/// Runs storybot as a user who cannot write files that root owns (`nobody`, when the tests
/// run as root), or as this user when the file's mode already stops it.
/// The binary is copied beside the store first: the checkout may sit in a folder that user
/// cannot enter.
fn storybot_as_reader(dir: &Path, bin: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(bin);
        c
    } else {
        Command::new(exe())
    };
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run storybot")
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_read_only_store_is_said_at_once_and_read_where_it_can_be() {
    if running_as_root() && Command::new("setpriv").arg("--version").output().is_err() {
        crate::common::skip("read-only store", "running as root without setpriv");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ro.db");
    let db_arg = db.to_str().unwrap();
    let seeded = Command::new(exe())
        .args(["--db", db_arg, "import", "-"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin
                .take()
                .unwrap()
                .write_all(storybot::ingest::demo::DEMO_JSONL.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let bin = dir.path().join("storybot");
    std::fs::copy(exe(), &bin).unwrap();
    set_mode(&bin, 0o755);
    set_mode(&db, 0o444);
    set_mode(dir.path(), 0o555);

    let started = Instant::now();
    let write = storybot_as_reader(dir.path(), &bin, &["--db", db_arg, "import", "-"]);
    let took = started.elapsed();
    let err = text(&write.stderr);
    assert_eq!(write.status.code(), Some(2), "{err}");
    assert!(
        err.contains("read-only or not writable by this user") && err.contains("ro.db"),
        "{err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    let read = storybot_as_reader(dir.path(), &bin, &["--db", db_arg, "top", "3"]);
    let out = text(&read.stdout);
    assert_eq!(read.status.code(), Some(0), "{}", text(&read.stderr));
    assert!(out.contains("GM"), "the stories are read: {out}");
    set_mode(dir.path(), 0o755);
    set_mode(&db, 0o644);
    // Not a timed test: a 30 s pool wait is the fault this guards against.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_deleted_under_a_running_process_is_reported_and_not_written() {
    let (app, _public, admin, dir, _stop) = served("").await;
    let (status, _) = get(&format!("http://{admin}/healthz")).await;
    assert_eq!(status, 200);
    std::fs::remove_file(dir.path().join("w.db")).unwrap();
    let (status, body) = get(&format!("http://{admin}/healthz")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("was deleted"), "{body}");
    let line = "{\"url\":\"https://www.reuters.com/x/1\",\"title\":\"After the deletion\",\"published\":\"2026-01-01T00:00:00Z\"}\n";
    let err = app
        .import(std::io::Cursor::new(line.to_string()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("was deleted"), "{err}");

    // A new store at the same path is another file: this process still refuses to write.
    let other = storybot::store::Store::open(&app.settings.store.url)
        .await
        .unwrap();
    other.close().await;
    let err = app
        .import(std::io::Cursor::new(line.to_string()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("replaced"), "{err}");
}

#[test]
fn no_config_error_quotes_a_value_that_could_be_a_secret() {
    let secret = "sk-live-51HxQ2eZvKYlo2C0aB";
    for toml in [
        format!(
            "[llm]\nbase_url = \"http://127.0.0.1:1\"\nmodel = \"m\"\napi_key = \"{secret}\"\n"
        ),
        format!("[web]\nmax_connections = \"{secret}\"\n"),
        format!("[discord]\ntoken = {secret}\n"),
        format!("[store]\n{secret}\n"),
    ] {
        let err = Config::parse(&toml, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("51HxQ2eZ"), "{err}");
        assert!(err.contains("c.toml") && err.contains("line"), "{err}");
    }
    let err = Config::parse(
        &format!("[llm]\napi_key = \"{secret}\"\n"),
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("api_key") && err.contains("unknown field"),
        "{err}"
    );
}

#[test]
fn a_failing_command_with_a_closed_stderr_exits_with_its_status_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], i32); 2] = [
        (&["--config", "missing.toml", "top"], 2),
        (&["--db", "x.db", "story", "nothing like this"], 1),
    ];
    for (args, code) in cases {
        let mut child = Command::new(exe())
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader hangs up before anything is written, as `2>&1 >/dev/null | head -0`.
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
    // And the same with a reader that takes one byte first.
    let mut child = Command::new(exe())
        .args(["--config", "missing.toml", "top"])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut one = [0u8; 1];
    let _ = child.stderr.take().unwrap().read(&mut one);
    assert_eq!(child.wait().unwrap().code(), Some(2));
}
