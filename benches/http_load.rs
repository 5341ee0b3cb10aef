//! A small HTTP/1.1 load client for `scripts/bench-http`: N keep-alive connections send one
//! request after another for a fixed time and report the rate and latency percentiles.
//!
//! `cargo bench --bench http_load -- ADDR TOKEN METHOD PATH BODY CLIENTS SECONDS [COUNT]`
//! (`ADDR` is `host:port`; `BODY` is `-` for none, else JSON in which `{amount}` becomes a
//! different amount per request; `COUNT`, if given, stops the run after that many requests
//! in all, so a group can be filled to an exact size). Prints one JSON line. Written by hand on tokio rather than
//! with a load tool so the bench needs nothing that is not already built, and so each
//! request's latency is its own (no coordinated omission within a connection is hidden: each
//! connection waits for its answer, as a browser would).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Target {
    addr: String,
    token: String,
    method: String,
    path: String,
    body: Option<String>,
    /// Requests still to send (`u64::MAX` when the run is bounded by time only).
    budget: AtomicU64,
}

impl Target {
    fn request(&self, n: u64) -> Vec<u8> {
        let body = self.body.as_ref().map(|b| {
            // 1.00 to 999.99: amounts that split unevenly, as real bills do.
            let cents = 100 + (n.wrapping_mul(7919) % 99_900);
            b.replace("{amount}", &format!("{}.{:02}", cents / 100, cents % 100))
        });
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.method, self.path, self.addr, self.token
        );
        if let Some(b) = &body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend(body.unwrap_or_default().into_bytes());
        bytes
    }
}

/// One connection's run: latencies of successful answers, and the count of others.
async fn client(target: &Target, id: u64, until: Instant) -> std::io::Result<(Vec<f64>, u64)> {
    let stream = TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    let (mut times, mut failed, mut n) = (Vec::new(), 0u64, id << 40);
    let mut line = String::new();
    while Instant::now() < until
        && target
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_ok()
    {
        n += 1;
        let start = Instant::now();
        stream.get_mut().write_all(&target.request(n)).await?;
        line.clear();
        stream.read_line(&mut line).await?;
        let ok = line
            .split(' ')
            .nth(1)
            .is_some_and(|code| code.starts_with('2'));
        let mut length = 0usize;
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await?;
        if ok {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        } else {
            failed += 1;
            if failed == 1 {
                eprintln!("{}: {}", line.trim(), String::from_utf8_lossy(&body));
            }
        }
    }
    Ok((times, failed))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (fixed, count) = match &args[..] {
        [fixed @ .., count] if args.len() == 8 => (fixed, Some(count)),
        fixed => (fixed, None),
    };
    let [addr, token, method, path, body, clients, seconds] = fixed else {
        eprintln!("usage: http_load ADDR TOKEN METHOD PATH BODY|- CLIENTS SECONDS [COUNT]");
        std::process::exit(2);
    };
    let count = count.map_or(Ok(u64::MAX), |c| c.parse::<u64>());
    let (Ok(clients), Ok(seconds), Ok(count)) =
        (clients.parse::<u64>(), seconds.parse::<f64>(), count)
    else {
        eprintln!("CLIENTS, SECONDS and COUNT are numbers");
        std::process::exit(2);
    };
    let target = std::sync::Arc::new(Target {
        addr: addr.clone(),
        token: token.clone(),
        method: method.clone(),
        path: path.clone(),
        body: (body != "-").then(|| body.clone()),
        budget: AtomicU64::new(count),
    });
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let target = std::sync::Arc::clone(&target);
            tokio::spawn(async move { client(&target, id, until).await })
        })
        .collect();
    let (mut times, mut failed) = (Vec::new(), 0);
    for t in tasks {
        match t.await {
            Ok(Ok((mut t, f))) => {
                times.append(&mut t);
                failed += f;
            }
            Ok(Err(e)) => {
                eprintln!("connection failed: {e}");
                failed += 1;
            }
            Err(e) => {
                eprintln!("client panicked: {e}");
                failed += 1;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"ok\":{},\"failed\":{},\"rate\":{:.1},\"median_ms\":{:.2},\"p95_ms\":{:.2},\"p99_ms\":{:.2}}}",
        times.len(),
        failed,
        times.len() as f64 / elapsed,
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    );
}
