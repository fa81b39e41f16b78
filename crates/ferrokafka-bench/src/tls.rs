//! `ferrokafka-bench tls`: what TLS costs. Produce and consume throughput
//! and CPU per message over TLS, ferrokafka (rustls) beside librdkafka
//! (OpenSSL) on the same TLS listener, and ferrokafka over TLS beside
//! ferrokafka over plaintext, in one invocation.
//!
//! The broker is the ferrokafka mock in a process of its own (`serve
//! --tls-dir`), serving a certificate made here with rcgen; for the
//! produce rows it discards records (blackhole), for the consume rows it
//! stores what ferrokafka filled in over the same transport. The mock keeps
//! the broker's share of the two cores small, so the client's cost shows.
//!
//! librdkafka: the `rdkafka` crate is built without SSL (its `ssl` feature
//! needs OpenSSL), so librdkafka's rows come from kcat (librdkafka with
//! OpenSSL, as packaged), fed through a pipe and timed by `/usr/bin/time`:
//! its CPU and RSS are the whole process's, its wall time includes start-up
//! and metadata. The output names the kcat and librdkafka versions.

use crate::{run_client, ConsumeFigures, Figures, Opts};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The broker's certificate and its CA, as files.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn make() -> Result<Pki, String> {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
        let e = |e: rcgen::Error| e.to_string();
        let ca_key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "ferrokafka-bench CA");
        let ca = p.self_signed(&ca_key).map_err(e)?;
        let key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).map_err(e)?;
        p.subject_alt_names
            .push(SanType::IpAddress(std::net::IpAddr::V4(
                std::net::Ipv4Addr::LOCALHOST,
            )));
        let cert = p.signed_by(&key, &ca, &ca_key).map_err(e)?;
        let dir = std::env::temp_dir().join(format!("ferrokafka-bench-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let w = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
        };
        w("ca.pem", ca.pem())?;
        w("cert.pem", cert.pem())?;
        w("key.pem", key.serialize_pem())?;
        Ok(Pki { dir })
    }

    fn ca(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The mock's TLS settings read back by `serve --tls-dir`.
pub(crate) fn server_tls(dir: &Path) -> Result<(String, String), String> {
    let r =
        |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{}: {e}", name));
    Ok((r("cert.pem")?, r("key.pem")?))
}

/// A broker process: the mock, over TLS when `tls` names the PKI.
struct Broker {
    child: std::process::Child,
    bootstrap: String,
}

impl Broker {
    fn start(
        exe: &Path,
        o: &Opts,
        topic: &str,
        store: bool,
        tls: Option<&Pki>,
    ) -> Result<Broker, String> {
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--broker", "ferrokafka-mock", "--topic", topic])
            .args(["--partitions", &o.partitions.to_string()])
            .args(["--store", if store { "1" } else { "0" }]);
        if let Some(p) = tls {
            cmd.arg("--tls-dir").arg(&p.dir);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no broker stdout")?)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            return Err("the broker process printed no bootstrap address".into());
        }
        Ok(Broker {
            child,
            bootstrap: line.trim().to_string(),
        })
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The client settings of a transport: none for plaintext; TLS verified
/// against the bench's CA.
fn security(tls: Option<&Pki>) -> Vec<(String, String)> {
    match tls {
        None => Vec::new(),
        Some(p) => vec![
            ("security.protocol".into(), "ssl".into()),
            ("ssl.ca.location".into(), p.ca()),
        ],
    }
}

fn client_args(o: &Opts, bootstrap: &str, topic: &str, tls: Option<&Pki>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--lib",
        "ferrokafka",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--count",
        &o.count.to_string(),
        "--size",
        &o.size.to_string(),
        "--acks",
        &o.acks,
        "--codec",
        &o.codec,
        "--linger",
        &o.linger.to_string(),
        "--partitions",
        &o.partitions.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let set: Vec<String> = security(tls)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !set.is_empty() {
        args.extend(["--client-set".to_string(), set.join(",")]);
    }
    args
}

/// One row of the table.
struct Row {
    transport: &'static str,
    client: String,
    msgs_per_sec: f64,
    cpu_per_million: f64,
    rss_mib: f64,
}

/// kcat's version line (`Version 1.7.1 (... librdkafka 2.0.2
/// builtin.features=...)`), described, and whether its librdkafka has SSL.
fn parse_kcat_version(text: &str) -> Option<(String, bool)> {
    let line = text.lines().find(|l| l.starts_with("Version"))?;
    let kcat_v = line.split_whitespace().nth(1).unwrap_or("?");
    let rd = line
        .split("librdkafka ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?");
    let ssl = line
        .split("builtin.features=")
        .nth(1)
        .is_some_and(|f| f.split([',', ')']).any(|x| x == "ssl"));
    Some((format!("kcat {kcat_v} (librdkafka {rd}, OpenSSL)"), ssl))
}

fn kcat_version(kcat: &Path) -> Option<(String, bool)> {
    let out = Command::new(kcat).arg("-V").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    parse_kcat_version(&text)
}

/// Runs kcat under `/usr/bin/time` with `stdin_lines` records written to
/// its standard input; returns (its stdout byte count, wall s, CPU s, max
/// RSS KiB).
fn timed_kcat(
    kcat: &Path,
    args: &[String],
    stdin_lines: Option<(u64, usize)>,
    limit: Duration,
) -> Result<(u64, f64, f64, u64), String> {
    let marker = "FERROKAFKA-TIME";
    let mut child = Command::new("/usr/bin/time")
        .arg("-f")
        .arg(format!("{marker} %e %U %S %M"))
        .arg(kcat)
        .args(args)
        .stdin(if stdin_lines.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("/usr/bin/time kcat: {e}"))?;
    let feeder = stdin_lines.map(|(n, size)| {
        let mut stdin = child.stdin.take().expect("piped");
        std::thread::spawn(move || {
            let mut line = vec![b'x'; size];
            line.push(b'\n');
            let mut block = Vec::with_capacity(line.len() * 1024);
            for _ in 0..1024 {
                block.extend_from_slice(&line);
            }
            let mut left = n;
            while left >= 1024 {
                if stdin.write_all(&block).is_err() {
                    return;
                }
                left -= 1024;
            }
            let _ = stdin.write_all(&block[..left as usize * line.len()]);
        })
    });
    let mut stdout = child.stdout.take().expect("piped");
    let counter = std::thread::spawn(move || {
        let mut n = 0u64;
        let mut buf = [0u8; 65536];
        while let Ok(k) = stdout.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        n
    });
    let mut stderr = child.stderr.take().expect("piped");
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("kcat did not finish within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let out_bytes = counter.join().unwrap_or(0);
    let stderr = errs.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("kcat failed ({status}): {stderr}"));
    }
    if stderr.contains("Delivery failed") || stderr.contains("ERROR") {
        return Err(format!("kcat reported errors: {stderr}"));
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with(marker))
        .ok_or_else(|| format!("no timing line from /usr/bin/time: {stderr}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let [wall, user, sys, rss] = f[..] else {
        return Err(format!("unparsable timing line {line:?}"));
    };
    Ok((out_bytes, wall, user + sys, rss as u64))
}

fn kcat_common(o: &Opts, bootstrap: &str, topic: &str, tls: Option<&Pki>) -> Vec<String> {
    let mut a: Vec<String> = vec!["-b".into(), bootstrap.into(), "-t".into(), topic.into()];
    for (k, v) in security(tls) {
        a.extend(["-X".to_string(), format!("{k}={v}")]);
    }
    let _ = o;
    a
}

fn kcat_produce(
    kcat: &Path,
    o: &Opts,
    bootstrap: &str,
    topic: &str,
    tls: Option<&Pki>,
) -> Result<Row, String> {
    let mut args = vec!["-P".to_string(), "-q".to_string()];
    args.extend(kcat_common(o, bootstrap, topic, tls));
    for (k, v) in [
        ("linger.ms", o.linger.to_string()),
        ("acks", o.acks.clone()),
        ("compression.codec", o.codec.clone()),
    ] {
        args.extend(["-X".to_string(), format!("{k}={v}")]);
    }
    let (_, wall, cpu, rss) = timed_kcat(
        kcat,
        &args,
        Some((o.count, o.size)),
        Duration::from_secs(900),
    )?;
    Ok(Row {
        transport: if tls.is_some() { "TLS" } else { "plaintext" },
        client: "librdkafka (kcat)".into(),
        msgs_per_sec: o.count as f64 / wall.max(1e-9),
        cpu_per_million: cpu / (o.count as f64 / 1e6),
        rss_mib: rss as f64 / 1024.0,
    })
}

fn kcat_consume(
    kcat: &Path,
    o: &Opts,
    bootstrap: &str,
    topic: &str,
    tls: Option<&Pki>,
) -> Result<Row, String> {
    let mut args = vec![
        "-C".to_string(),
        "-q".to_string(),
        "-e".to_string(),
        "-o".to_string(),
        "beginning".to_string(),
        "-c".to_string(),
        o.count.to_string(),
        // One byte per record: the count, without printing the payload.
        "-f".to_string(),
        ".".to_string(),
    ];
    args.extend(kcat_common(o, bootstrap, topic, tls));
    let (n, wall, cpu, rss) = timed_kcat(kcat, &args, None, Duration::from_secs(900))?;
    if n != o.count {
        return Err(format!("kcat read {n} of {} records", o.count));
    }
    Ok(Row {
        transport: if tls.is_some() { "TLS" } else { "plaintext" },
        client: "librdkafka (kcat)".into(),
        msgs_per_sec: o.count as f64 / wall.max(1e-9),
        cpu_per_million: cpu / (o.count as f64 / 1e6),
        rss_mib: rss as f64 / 1024.0,
    })
}

fn print_rows(what: &str, rows: &[Row]) {
    for r in rows {
        println!(
            "| {what} | {} | {} | {:.0} | {:.2} | {:.1} |",
            r.transport, r.client, r.msgs_per_sec, r.cpu_per_million, r.rss_mib
        );
    }
    let find = |t: &str, c: &str| rows.iter().find(|r| r.transport == t && r.client == c);
    let ratio = |label: &str, a: Option<&Row>, b: Option<&Row>| {
        if let (Some(a), Some(b)) = (a, b) {
            println!(
                "| {what} | | {label} | {:.2}x | {:.2}x | {:.2}x |",
                a.msgs_per_sec / b.msgs_per_sec.max(1e-9),
                a.cpu_per_million / b.cpu_per_million.max(1e-9),
                a.rss_mib / b.rss_mib.max(1e-9),
            );
        }
    };
    ratio(
        "ratio ferrokafka/librdkafka, both TLS",
        find("TLS", "ferrokafka"),
        find("TLS", "librdkafka (kcat)"),
    );
    ratio(
        "ratio ferrokafka TLS/plaintext",
        find("TLS", "ferrokafka"),
        find("plaintext", "ferrokafka"),
    );
}

/// The TLS rows.
pub(crate) fn run_tls(o: &Opts) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let pki = Pki::make()?;
    let kcat = ferrokafka_peers::kcat();
    let peer = match &kcat {
        Some(k) => match kcat_version(k) {
            Some((v, true)) => Some((k.clone(), v)),
            Some((v, false)) => {
                eprintln!("{v} has no SSL: librdkafka rows left out");
                None
            }
            None => None,
        },
        None => {
            eprintln!("kcat not found (FERROKAFKA_KCAT or PATH): librdkafka rows left out");
            None
        }
    };
    println!("| workload | transport | client | msgs/s | CPU s / 1M msgs | peak RSS MiB |");
    println!("|---|---|---|---:|---:|---:|");
    let what = format!(
        "produce {} x {}B, acks={}, {}, linger.ms={}, {} partitions",
        o.count, o.size, o.acks, o.codec, o.linger, o.partitions
    );
    let mut rows = Vec::new();
    for tls in [None, Some(&pki)] {
        let transport = if tls.is_some() { "TLS" } else { "plaintext" };
        let broker = Broker::start(&exe, o, &o.topic, false, tls)?;
        let f: Figures = run_client(
            &exe,
            &client_args(o, &broker.bootstrap, &o.topic, tls),
            &format!("ferrokafka producing over {transport}"),
        )?;
        if f.delivered != o.count {
            return Err(format!(
                "ferrokafka over {transport}: {} of {} delivered",
                f.delivered, o.count
            ));
        }
        rows.push(Row {
            transport,
            client: f.lib,
            msgs_per_sec: f.msgs_per_sec,
            cpu_per_million: f.cpu_per_million,
            rss_mib: f.peak_rss_kb as f64 / 1024.0,
        });
        if let (Some((k, _)), Some(_)) = (&peer, tls) {
            rows.push(kcat_produce(k, o, &broker.bootstrap, &o.topic, tls)?);
        }
    }
    print_rows(&what, &rows);

    let what = format!(
        "consume {} x {}B, {}, {} partitions",
        o.count, o.size, o.codec, o.partitions
    );
    let mut rows = Vec::new();
    for tls in [None, Some(&pki)] {
        let transport = if tls.is_some() { "TLS" } else { "plaintext" };
        let broker = Broker::start(&exe, o, &o.topic, true, tls)?;
        let fill: Figures = run_client(
            &exe,
            &client_args(o, &broker.bootstrap, &o.topic, tls),
            &format!("filling over {transport}"),
        )?;
        if fill.delivered != o.count {
            return Err(format!(
                "fill over {transport}: {} of {} delivered",
                fill.delivered, o.count
            ));
        }
        let mut args = client_args(o, &broker.bootstrap, &o.topic, tls);
        args.extend(["--mode", "consume"].map(String::from));
        let f: ConsumeFigures = run_client(
            &exe,
            &args,
            &format!("ferrokafka consuming over {transport}"),
        )?;
        if f.consumed != o.count {
            return Err(format!(
                "ferrokafka over {transport}: read {} of {}",
                f.consumed, o.count
            ));
        }
        rows.push(Row {
            transport,
            client: f.lib,
            msgs_per_sec: f.msgs_per_sec,
            cpu_per_million: f.cpu_per_million,
            rss_mib: f.peak_rss_kb as f64 / 1024.0,
        });
        if let (Some((k, _)), Some(_)) = (&peer, tls) {
            rows.push(kcat_consume(k, o, &broker.bootstrap, &o.topic, tls)?);
        }
    }
    print_rows(&what, &rows);
    println!();
    println!("- Broker: the ferrokafka mock in its own process (TLS 1.3 with an rcgen ECDSA P-256 certificate; produce rows discard records, consume rows read what ferrokafka stored over the same transport).");
    match &peer {
        Some((_, v)) => println!(
            "- librdkafka: {v}, because the rdkafka crate here is built without SSL; its CPU and RSS are the whole kcat process's (/usr/bin/time) and its msgs/s counts start-up and metadata, so its throughput is slightly understated."
        ),
        None => println!("- librdkafka: no kcat with SSL found, so no librdkafka rows."),
    }
    println!("- ferrokafka: rustls with the ring provider; its figures cover the produce or consume loop only (process and connection set-up excluded).");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcat_version_line_is_read() {
        let text = "kcat - Apache Kafka producer and consumer tool\n\
            Version 1.7.1 (JSON, librdkafka 2.0.2 builtin.features=gzip,snappy,ssl,sasl)\n";
        assert_eq!(
            parse_kcat_version(text),
            Some(("kcat 1.7.1 (librdkafka 2.0.2, OpenSSL)".to_string(), true))
        );
        let plain = "Version 1.7.0 (librdkafka 1.9.0 builtin.features=gzip,sasl)";
        assert_eq!(parse_kcat_version(plain).map(|v| v.1), Some(false));
        assert_eq!(parse_kcat_version("nothing"), None);
    }
}
