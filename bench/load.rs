//! The W1 load generator: distinct slash commands, each signed as Slack signs it, all built and
//! signed before the clock starts, sent over keep-alive connections from one thread. Signing in
//! the generator while it runs (wrk with a Lua script) costs more CPU than the server it
//! measures on two cores; this costs a copy of prepared bytes and a read per request.
//!
//! cargo run --release --example load -- ADDR CONNECTIONS SECONDS TEXT
//! prints: RESULT rps=… p50_ms=… p99_ms=… max_ms=… requests=… non2xx=… errors=…
//! (SLACK_SIGNING_SECRET signs; REQUESTS caps how many distinct requests are prepared.)

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: load ADDR CONNECTIONS SECONDS TEXT");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let connections: usize = args[2].parse().expect("CONNECTIONS");
    let seconds: u64 = args[3].parse().expect("SECONDS");
    let text = args[4].clone();
    let secret = std::env::var("SLACK_SIGNING_SECRET").expect("SLACK_SIGNING_SECRET");
    let cap: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500_000);
    let requests = prepare(&secret, &text, cap, connections);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cpu_before = own_cpu_seconds();
    let result = rt.block_on(run(&addr, requests, Duration::from_secs(seconds)));
    // Only the sending counts: preparing and signing happened before the clock started.
    println!("{result} gen_cpu={:.2}", own_cpu_seconds() - cpu_before);
}

/// User plus system CPU seconds this process has used (Linux's /proc; 0 elsewhere).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// `cap` requests split over `connections`, each a complete HTTP/1.1 request with a unique
/// trigger id, signed now.
fn prepare(secret: &str, text: &str, cap: usize, connections: usize) -> Vec<Vec<Vec<u8>>> {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let run = std::process::id();
    let per = cap / connections;
    (0..connections)
        .map(|c| {
            (0..per)
                .map(|i| {
                    let trigger = format!("{c}.{i}.{run}.{ts}");
                    let body = serde_urlencoded::to_string([
                        ("token", "deprecated"),
                        ("team_id", "T0TEAM0001"),
                        ("team_domain", "example"),
                        ("channel_id", "C0BENCH001"),
                        ("channel_name", "marketing"),
                        ("user_id", "U0USER0001"),
                        ("user_name", "bench"),
                        ("command", "/vibe"),
                        ("text", text),
                        ("api_app_id", "A0APP00001"),
                        ("is_enterprise_install", "false"),
                        (
                            "response_url",
                            &format!("http://127.0.0.1:9/response/{trigger}"),
                        ),
                        ("trigger_id", &trigger),
                    ])
                    .expect("form");
                    let mut mac =
                        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
                    mac.update(format!("v0:{ts}:{body}").as_bytes());
                    let sig = hex::encode(mac.finalize().into_bytes());
                    format!(
                        "POST /slack/commands HTTP/1.1\r\nhost: bench\r\n\
                         content-type: application/x-www-form-urlencoded\r\n\
                         x-slack-request-timestamp: {ts}\r\nx-slack-signature: v0={sig}\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                })
                .collect()
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    non2xx: u64,
    errors: u64,
    ran_out: bool,
}

async fn run(addr: &str, requests: Vec<Vec<Vec<u8>>>, length: Duration) -> String {
    let started = Instant::now();
    let deadline = started + length;
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|reqs| {
            let addr = addr.to_string();
            tokio::spawn(async move { connection(&addr, reqs, deadline).await })
        })
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let one = t.await.unwrap_or_else(|_| Tally {
            errors: 1,
            ..Tally::default()
        });
        all.latencies_us.extend(one.latencies_us);
        all.non2xx += one.non2xx;
        all.errors += one.errors;
        all.ran_out |= one.ran_out;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = all.latencies_us.len();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| {
        if n == 0 {
            0.0
        } else {
            all.latencies_us[((n as f64 * p) as usize).min(n - 1)] as f64 / 1000.0
        }
    };
    if all.ran_out {
        eprintln!("WARNING: a connection ran out of distinct requests; raise REQUESTS");
    }
    format!(
        "RESULT rps={:.0} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} requests={n} non2xx={} errors={}",
        n as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        all.non2xx,
        all.errors
    )
}

/// Sends its requests one after another on one keep-alive connection until `deadline`.
async fn connection(addr: &str, reqs: Vec<Vec<u8>>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let Ok(mut s) = TcpStream::connect(addr).await else {
        tally.errors += 1;
        return tally;
    };
    let _ = s.set_nodelay(true);
    let mut reader = Responses::default();
    let mut it = reqs.iter();
    while Instant::now() < deadline {
        let Some(req) = it.next() else {
            tally.ran_out = true;
            break;
        };
        let t0 = Instant::now();
        if s.write_all(req).await.is_err() {
            tally.errors += 1;
            break;
        }
        match reader.next(&mut s).await {
            Some(status) => {
                tally
                    .latencies_us
                    .push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if !(200..300).contains(&status) {
                    tally.non2xx += 1;
                }
            }
            None => {
                tally.errors += 1;
                break;
            }
        }
    }
    tally
}

/// Responses read off one connection, in order: status line, headers, a Content-Length body.
#[derive(Default)]
struct Responses {
    buf: Vec<u8>,
    start: usize,
}

impl Responses {
    /// The next response's status.
    async fn next(&mut self, s: &mut TcpStream) -> Option<u16> {
        loop {
            if let Some((status, used)) = parse(&self.buf[self.start..]) {
                self.start += used;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                return Some(status);
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let have = self.buf.len();
            self.buf.resize(have + 64 * 1024, 0);
            let n = s.read(&mut self.buf[have..]).await.ok()?;
            self.buf.truncate(have + n);
            if n == 0 {
                return None;
            }
        }
    }
}

/// A complete response at the start of `b`: its status and length in bytes.
fn parse(b: &[u8]) -> Option<(u16, usize)> {
    let end = b.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&b[..end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let total = end + 4 + len;
    (b.len() >= total).then_some((status, total))
}
