//! A small closed-loop load generator for `GET /domains/{id}`.
//!
//! Start the binary with a rate limit that will not get in the way, then
//! point this at it (both in release mode):
//!
//! ```text
//! cargo build --release -p sendmux-mock --bin sendmux-mock --example loadgen
//! target/release/sendmux-mock --port 18080 --rate-limit 1000000000 &
//! target/release/examples/loadgen http://127.0.0.1:18080/api/v1 32 10
//! ```
//!
//! Arguments: base URL, connections (default 32), seconds (default 10).
//! Each connection is a raw HTTP/1.1 keep-alive socket sending one request
//! at a time, so latency is measured per request without client-library
//! overhead skewing the server's numbers.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "smx_root_loadgen";

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:18080/api/v1".to_owned());
    let conns: usize = args.next().map_or(32, |s| s.parse().expect("connections"));
    let secs: u64 = args.next().map_or(10, |s| s.parse().expect("seconds"));
    let rest = base.strip_prefix("http://").expect("http:// URL");
    let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let authority = authority.to_owned();
    let prefix = format!("/{prefix}");

    // One client thread: on a 2-core box the server gets the other core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let id = create_domain(&authority, &prefix).await;
        let request = format!(
            "GET {prefix}/domains/{id} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {KEY}\r\n\r\n"
        );
        // Warm-up, then the measured run.
        run(&authority, &request, conns, Duration::from_secs(1)).await;
        let started = Instant::now();
        let mut lat = run(&authority, &request, conns, Duration::from_secs(secs)).await;
        let elapsed = started.elapsed().as_secs_f64();
        lat.sort_unstable();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "GET /domains/{{id}}: {} requests in {elapsed:.1} s over {conns} connections = {:.0} req/s; \
             latency p50 {} us, p99 {} us, max {} us",
            lat.len(),
            lat.len() as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            lat[lat.len() - 1],
        );
    });
}

async fn create_domain(authority: &str, prefix: &str) -> String {
    let body = format!("{{\"domain\":\"load{}.example.com\"}}", std::process::id());
    let req = format!(
        "POST {prefix}/domains HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(authority).await.expect("connect");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 201"), "create failed:\n{out}");
    let start = out.find("\"id\":\"").expect("id in body") + 6;
    out[start..start + out[start..].find('"').unwrap()].to_owned()
}

async fn run(authority: &str, request: &str, conns: usize, dur: Duration) -> Vec<u32> {
    let deadline = Instant::now() + dur;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let authority = authority.to_owned();
        let request = request.as_bytes().to_vec();
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(&authority).await.expect("connect");
            s.set_nodelay(true).unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                s.write_all(&request).await.unwrap();
                read_response(&mut s, &mut buf).await;
                lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// Reads one response with a Content-Length body; asserts a 200.
async fn read_response(s: &mut TcpStream, buf: &mut [u8]) {
    let mut filled = 0;
    loop {
        let n = s.read(&mut buf[filled..]).await.unwrap();
        assert!(n > 0, "server closed the connection");
        filled += n;
        let Some(head_end) = find(&buf[..filled], b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..head_end]).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("content-length");
        while filled < head_end + 4 + len {
            let n = s.read(&mut buf[filled..]).await.unwrap();
            assert!(n > 0, "server closed the connection");
            filled += n;
        }
        return;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
