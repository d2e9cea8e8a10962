//! fypass beside node `oidc-provider` (in memory), in the same run, with the same load tool
//! and every answer checked: the peer's device grant start and poll against fypass' login
//! start and status poll, the same work (a durable new request; a lookup that says "not
//! yet"), and the two OpenID Connect routes both serve: the device grant's poll and the
//! refresh grant (a rotation: the old token spent, a new pair and an ID token issued).
//! Ratios from one run mean something on a shared machine; absolute rates do not.
//!
//! The peer is `bench/peer/peer.mjs`, its packages pinned in `bench/peer/package-lock.json`
//! (`bench/run.sh` installs them). Without node or those packages the comparison is
//! skipped with a message, and the rest of the benchmark runs.

use super::{Bench, DONE_LUA, Result, lines_lua};
use std::{fmt::Write as _, path::Path, process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

/// Pending requests each side's poll is driven with.
const POLLED: usize = 500;
/// Refresh tokens the peer is given per second of each measured run of its refresh route.
const PEER_REFRESHES_PER_SEC: usize = 8_000;

/// The connections both sides are driven with, in turn, the same for each. A server's
/// throughput is its rate once more requests at once no longer raise it, and the two need
/// not get there at the same count: the peer is one node thread, while fypass' refresh
/// route at 32 left 18 to 23 % of the two cores idle (BENCHMARKS.md, seventh session): its
/// requests wait on each other's group commits, and a group grows with the requests
/// waiting. Each side's throughput is its best rate over these; every rate is shown.
pub const CONNECTIONS: [u32; 2] = [32, 128];

/// One route of fypass and its counterpart at the peer.
pub struct Pair {
    pub what: &'static str,
    /// Each side's rate at each of [`CONNECTIONS`], in order.
    pub fypass: Vec<f64>,
    pub peer: Vec<f64>,
    /// Answers that were not the expected one (status and body), fypass + peer, at every
    /// count of connections.
    pub wrong: u64,
    pub target: f64,
}

impl Pair {
    /// The best of `rates`: a side's throughput.
    fn best(rates: &[f64]) -> f64 {
        rates.iter().copied().fold(0.0, f64::max)
    }

    /// fypass' throughput over the peer's.
    pub fn ratio(&self) -> f64 {
        Pair::best(&self.fypass) / Pair::best(&self.peer)
    }
}

/// Counts answers `ok(status, body)` refuses, across wrk's threads, reported in the
/// `non2xx` field of the shared result line.
fn checked(script: &str, ok: &str) -> String {
    format!(
        r#"{script}
local threads = {{}}
setup = function(t) t:set("tid", #threads); table.insert(threads, t) end
wrong = 0
local function ok(status, body) {ok} end
response = function(status, headers, body)
  if not ok(status, body) then wrong = wrong + 1 end
end
{DONE_LUA}
local shared_done = done
done = function(s, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrong") end
  s.errors.status = w
  shared_done(s, latency, requests)
end"#
    )
}

/// Sends each line of `file` once, after `prefix`, across wrk's two threads (thread `tid`
/// takes every other line): for tokens that may be used only once.
fn each_once(file: &Path, path: &str, prefix: &str) -> String {
    format!(
        r#"wrk.method = 'POST'
wrk.headers['content-type'] = 'application/x-www-form-urlencoded'
local lines = {{}}
for line in io.lines("{}") do lines[#lines + 1] = line end
local n = 0
request = function()
  local i = n * 2 + tid
  n = n + 1
  return wrk.format(nil, '{path}', nil, '{prefix}' .. lines[i % #lines + 1])
end"#,
        file.display()
    )
}

pub async fn compare(
    bench: &Bench,
    http: &reqwest::Client,
    work: &Path,
    polled_file: &Path,
    seeded: &super::Seeded,
) -> Result<Vec<Pair>> {
    let dir = Path::new("bench/peer");
    if !dir.join("node_modules/oidc-provider").exists() {
        eprintln!("no bench/peer/node_modules: skipping the oidc-provider comparison");
        return Ok(Vec::new());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut peer = Command::new("node")
        .arg("peer.mjs")
        .arg(port.to_string())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut out = BufReader::new(peer.stdout.take().expect("piped")).lines();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = out.next_line().await? {
            if line == "ready" {
                return Ok(());
            }
        }
        Err::<(), Box<dyn std::error::Error>>("the peer exited before it was ready".into())
    })
    .await
    .map_err(|_| "the peer did not start in 20 s")??;
    let peer_base = format!("http://127.0.0.1:{port}");

    let mut codes = Vec::with_capacity(POLLED);
    for _ in 0..POLLED {
        let res: serde_json::Value = http
            .post(format!("{peer_base}/device/auth"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("client_id=bench&scope=openid")
            .send()
            .await?
            .json()
            .await?;
        codes.push(
            res["device_code"]
                .as_str()
                .ok_or("the peer gave no device_code")?
                .to_string(),
        );
    }
    let codes_file = work.join("peer-codes.txt");
    std::fs::write(&codes_file, codes.join("\n"))?;
    // Each run of the refresh route spends tokens of its own (a token rotates once): fypass'
    // seeded tokens in one slice a run, and the peer's made just before its run (below).
    let ours_each = seeded.refresh_tokens.len() / CONNECTIONS.len();
    if ours_each == 0 {
        return Err("no refresh tokens were seeded for the side-by-side runs".into());
    }
    let mut refresh_files = Vec::with_capacity(CONNECTIONS.len());
    let mut peer_refresh_files = Vec::with_capacity(CONNECTIONS.len());
    let slices = seeded
        .refresh_tokens
        .chunks(ours_each)
        .take(CONNECTIONS.len());
    for (level, ours) in slices.enumerate() {
        let file = work.join(format!("fypass-refresh-{level}.txt"));
        std::fs::write(&file, ours.join("\n"))?;
        refresh_files.push(file);
        peer_refresh_files.push(work.join(format!("peer-refresh-{level}.txt")));
    }
    // fypass' device codes, from its `/oauth/device_authorization` (the app's key as
    // `client_secret_post`).
    let credentials = format!(
        "client_id={}&client_secret={}",
        seeded.client_id, seeded.key
    );
    let mut device_codes = Vec::with_capacity(POLLED);
    for _ in 0..POLLED {
        let res: serde_json::Value = http
            .post(format!("{}/oauth/device_authorization", bench.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{credentials}&scope=openid"))
            .send()
            .await?
            .json()
            .await?;
        device_codes.push(
            res["device_code"]
                .as_str()
                .ok_or_else(|| format!("fypass gave no device_code: {res}"))?
                .to_string(),
        );
    }
    let device_file = work.join("fypass-device-codes.txt");
    std::fs::write(&device_file, device_codes.join("\n"))?;
    let ours: Vec<String> = std::fs::read_to_string(polled_file)?
        .lines()
        .take(POLLED)
        .map(str::to_string)
        .collect();
    let polled_file = work.join("fypass-polled.txt");
    std::fs::write(&polled_file, ours.join("\n"))?;

    let start_fypass = checked(
        r#"wrk.method = 'POST'
wrk.path = '/api/v1/users/login'
wrk.headers['content-type'] = 'application/json'
wrk.body = '{"deviceInfo":{"deviceId":"tv-bench","platform":"android"}}'"#,
        r#"return status == 201 and body:find('"reqToken"', 1, true) ~= nil"#,
    );
    let start_peer = checked(
        r#"wrk.method = 'POST'
wrk.path = '/device/auth'
wrk.headers['content-type'] = 'application/x-www-form-urlencoded'
wrk.body = 'client_id=bench&scope=openid'"#,
        r#"return status == 200 and body:find('"device_code"', 1, true) ~= nil"#,
    );
    let poll_fypass = checked(
        &format!(
            "{}\nrequest = function() return wrk.format('GET', \
             '/api/v1/users/login-status?reqToken=' .. pick()) end",
            lines_lua(&polled_file)
        ),
        r#"return status == 200 and body:find('"PENDING"', 1, true) ~= nil"#,
    );
    // RFC 8628 §3.5: "not yet" is `authorization_pending`, or `slow_down` for a device
    // polling faster than its interval (each code here is polled many times a second).
    const DEVICE_GRANT: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";
    let not_yet = r#"return status == 400 and (body:find('authorization_pending', 1, true) or body:find('slow_down', 1, true)) ~= nil"#;
    let poll_peer = checked(
        &format!(
            "{}\nwrk.method = 'POST'\nwrk.headers['content-type'] = \
             'application/x-www-form-urlencoded'\nrequest = function() return \
             wrk.format(nil, '/token', nil, 'client_id=bench&grant_type=urn%3Aietf%3Aparams\
             %3Aoauth%3Agrant-type%3Adevice_code&device_code=' .. pick()) end",
            lines_lua(&codes_file)
        ),
        not_yet,
    );

    let device_poll_fypass = checked(
        &format!(
            "{}\nwrk.method = 'POST'\nwrk.headers['content-type'] = \
             'application/x-www-form-urlencoded'\nrequest = function() return \
             wrk.format(nil, '/oauth/token', nil, '{credentials}&{DEVICE_GRANT}&device_code=' .. pick()) end",
            lines_lua(&device_file)
        ),
        not_yet,
    );
    let rotated = r#"return status == 200 and body:find('"id_token"', 1, true) ~= nil and body:find('"refresh_token"', 1, true) ~= nil"#;
    // One script per run of the refresh route, each over its own file of tokens.
    let refresh_scripts = |files: &[std::path::PathBuf], path: &str, prefix: &str| -> Vec<String> {
        files
            .iter()
            .map(|file| checked(&each_once(file, path, prefix), rotated))
            .collect()
    };
    let refresh_fypass = refresh_scripts(
        &refresh_files,
        "/oauth/token",
        &format!("{credentials}&grant_type=refresh_token&refresh_token="),
    );
    let refresh_peer = refresh_scripts(
        &peer_refresh_files,
        "/token",
        "client_id=bench&grant_type=refresh_token&refresh_token=",
    );
    // The routes whose requests may be sent again use one script at every count.
    let every = |script: &String| vec![script.clone(); CONNECTIONS.len()];

    let mut pairs = Vec::new();
    // The refresh route's peer tokens are made just before each of its runs, as many as it
    // can use (it ran at 1.0k to 5.1k a second): a store holding more only slows its LRU,
    // which would flatter the ratio.
    let peer_tokens = |level: usize| {
        let (http, peer_base, file) = (http.clone(), peer_base.clone(), &peer_refresh_files[level]);
        let n = PEER_REFRESHES_PER_SEC * bench.secs as usize;
        async move {
            let made = http
                .get(format!("{peer_base}/bench/refresh?n={n}"))
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            std::fs::write(file, made)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        }
    };
    for (what, target, ours, theirs, fresh_tokens) in [
        (
            "refresh grant: `POST /oauth/token` vs `POST /token` (`refresh_token`, rotated, with an ID token)",
            3.0,
            refresh_fypass,
            refresh_peer,
            true,
        ),
        (
            "device grant's poll: `POST /oauth/token` vs `POST /token` (`device_code`, pending)",
            3.0,
            every(&device_poll_fypass),
            every(&poll_peer),
            false,
        ),
        (
            "poll: `GET /api/v1/users/login-status` vs `POST /token` (device_code, pending)",
            5.0,
            every(&poll_fypass),
            every(&poll_peer),
            false,
        ),
        (
            "start: `POST /api/v1/users/login` vs `POST /device/auth`",
            3.0,
            every(&start_fypass),
            every(&start_peer),
            false,
        ),
    ] {
        let mut pair = Pair {
            what,
            fypass: Vec::new(),
            peer: Vec::new(),
            wrong: 0,
            target,
        };
        // Each count runs fypass, then the peer, so that the two sides' runs alternate.
        for (level, ((conns, ours), theirs)) in
            CONNECTIONS.into_iter().zip(&ours).zip(&theirs).enumerate()
        {
            let a = bench.wrk("side fypass", ours, 2, conns).await?;
            if fresh_tokens {
                peer_tokens(level).await?;
            }
            let b = bench
                .wrk_at(&peer_base, "side peer", theirs, 2, conns)
                .await?;
            let rate = |r: &super::WrkResult| r.requests as f64 / (r.duration_us as f64 / 1e6);
            pair.fypass.push(rate(&a));
            pair.peer.push(rate(&b));
            pair.wrong += a.non2xx + a.socket_errors + b.non2xx + b.socket_errors;
            eprintln!(
                "  side by side, {conns} connections, {what}: {:.0} vs {:.0} req/s ({:.2}×)",
                rate(&a),
                rate(&b),
                rate(&a) / rate(&b)
            );
        }
        pairs.push(pair);
    }
    drop(peer);
    Ok(pairs)
}

pub fn markdown(pairs: &[Pair]) -> String {
    let mut s = String::new();
    if pairs.is_empty() {
        return s;
    }
    let counts = CONNECTIONS.map(|c| c.to_string()).join(" / ");
    let _ = write!(
        s,
        "\nSide by side with node `oidc-provider` 9 (in-memory adapter, device grant on; \
         `bench/peer/`), same machine, same wrk settings (2 threads; {counts} connections in \
         turn, fypass then the peer at each), every answer's status and body checked. Each \
         side's throughput is its best rate over the counts; the ratio is fypass' over the \
         peer's:\n\n\
         | route (fypass vs peer) | fypass req/s ({counts}) | peer req/s ({counts}) | ratio | wrong answers | target | met |\n\
         |---|---:|---:|---:|---:|---|:---:|\n",
    );
    let rates = |r: &[f64]| {
        r.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    for p in pairs {
        // Shown rounded down, so that a ratio under its target never reads as the target.
        let ratio = p.ratio();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2}× | {} | ≥ {}× | {} |",
            p.what,
            rates(&p.fypass),
            rates(&p.peer),
            (ratio * 100.0).floor() / 100.0,
            p.wrong,
            p.target,
            if ratio >= p.target && p.wrong == 0 {
                "yes"
            } else {
                "**no**"
            }
        );
    }
    s
}
