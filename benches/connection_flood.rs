//! A public port under a flood of unfinished requests: `storybot serve` (the release binary,
//! its own process, default `[web]` bounds) while other processes hold 20,000 connections
//! that each send `GET / HTTP/1.1\r\n` and nothing more, from 200 loopback addresses (with
//! `--reconnect-ms N`, each opened again N ms after the server closes it). Meanwhile this process times `/healthz`
//! on the operators' port and a story page on the public port (target: both within 100 ms).
//!
//! `cargo bench --bench connection_flood` (`-- --connections N --samples N --reconnect-ms N`). Prints
//! p50 / p99 / max of each probe before and during the flood, and the server's own counts
//! of connections shed (from `/metrics`).

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{arg, report};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Connections one holding process keeps (each is a file descriptor of its own).
const PER_HOLDER: usize = 10_000;
/// Loopback addresses the holders connect from.
const ADDRESSES: usize = 200;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new()?;
    if let Some(i) = args.iter().position(|a| a == "--hold") {
        let target: SocketAddr = args[i + 1].parse()?;
        let n: usize = args[i + 2].parse()?;
        let first: usize = args[i + 3].parse()?;
        let reconnect: u64 = args[i + 4].parse()?;
        return rt.block_on(hold(target, n, first, reconnect));
    }
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let total = arg("--connections", 20_000);
    let samples = arg("--samples", 300);
    let reconnect = arg("--reconnect-ms", 0);
    let dir = tempfile::tempdir()?;
    let (public, admin) = (free_port()?, free_port()?);
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[store]\nurl = \"sqlite://{}\"\nseed_demo = true\n[web]\nlisten = \"{public}\"\nadmin_listen = \"{admin}\"\n",
            dir.path().join("flood.db").display()
        ),
    )?;
    let mut server = Command::new(env!("CARGO_BIN_EXE_storybot"))
        .args(["--config", "config.toml", "serve"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env("RUST_LOG", "warn")
        .spawn()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()?;
    let (health, story) = (
        format!("http://{admin}/healthz"),
        story_url(&client, public).await?,
    );
    println!(
        "server pid {} on {public} (admin {admin}); page {story}",
        server.id()
    );
    probe(&client, &health, &story, samples, "quiet").await;

    let mut holders: Vec<Child> = Vec::new();
    let mut left = total;
    let mut first = 0;
    while left > 0 {
        let n = left.min(PER_HOLDER);
        holders.push(
            Command::new(std::env::current_exe()?)
                .args([
                    "--hold",
                    &public.to_string(),
                    &n.to_string(),
                    &first.to_string(),
                ])
                .arg(reconnect.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()?,
        );
        left -= n;
        first += n;
    }
    let t = Instant::now();
    // Let the holders open every connection and the server shed what it sheds.
    tokio::time::sleep(Duration::from_secs(8)).await;
    println!(
        "{total} unfinished connections held by {} processes for {:.1} s",
        holders.len(),
        t.elapsed().as_secs_f64()
    );
    probe(&client, &health, &story, samples, "flooded").await;
    let metrics = client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("storybot_web_") && l.contains("public"))
    {
        println!("  {line}");
    }
    for mut h in holders {
        drop(h.stdin.take());
        let _ = h.kill();
        let _ = h.wait();
    }
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}

/// Times `samples` requests of each probe, and says whether every one was within 100 ms.
async fn probe(client: &reqwest::Client, health: &str, story: &str, samples: usize, when: &str) {
    for (name, url) in [
        ("operators' /healthz", health),
        ("public story page", story),
    ] {
        let mut times = Vec::with_capacity(samples);
        let mut failed = 0;
        for _ in 0..samples {
            let t = Instant::now();
            match client.get(url).send().await {
                Ok(r) if r.status() == 200 => {
                    let _ = r.bytes().await;
                }
                _ => failed += 1,
            }
            times.push(t.elapsed());
        }
        let over = times
            .iter()
            .filter(|d| **d > Duration::from_millis(100))
            .count();
        report(&format!("{when}: {name}"), times);
        println!("{:<34} failed={failed} over_100ms={over}", "");
    }
}

/// The first trending story's page (served once the demo store is seeded).
async fn story_url(client: &reqwest::Client, public: SocketAddr) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("http://{public}/")).send().await {
            let html = r.text().await?;
            if let Some(i) = html.find("href=\"/story/") {
                let id: String = html[i + 13..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                return Ok(format!("http://{public}/story/{id}"));
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A holding process: `n` connections, each sending a request line and nothing more (and,
/// with `reconnect` ms, opened again that long after the server closes it), until stdin
/// closes.
async fn hold(target: SocketAddr, n: usize, first: usize, reconnect: u64) -> anyhow::Result<()> {
    for i in 0..n {
        let from = 2 + ((first + i) % ADDRESSES) as u8;
        tokio::spawn(async move {
            loop {
                if let Ok(mut s) = connect(target, from).await {
                    if s.write_all(b"GET / HTTP/1.1\r\n").await.is_ok() {
                        let mut buf = [0u8; 256];
                        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
                    }
                }
                if reconnect == 0 {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(reconnect)).await;
            }
        });
        if i % 500 == 499 {
            tokio::task::yield_now().await;
        }
    }
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await?;
    Ok(())
}

async fn connect(target: SocketAddr, from: u8) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, from], 0)))?;
    socket.connect(target).await
}
