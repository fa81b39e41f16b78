//! Running child processes with a bound on their duration, and collecting
//! what a long-lived peer writes to stderr for failure messages.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Runs `cmd` with stdin closed, waits at most `timeout`, and returns its
/// output. Panics (naming the command and its stderr so far) if it is still
/// running at the deadline; the process is killed first.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Output {
    run_inner(cmd, None, timeout)
}

/// Like [`run_bounded`], with `input` written to the process's stdin, which
/// is then closed.
pub fn run_bounded_with_input(cmd: &mut Command, input: &[u8], timeout: Duration) -> Output {
    run_inner(cmd, Some(input.to_vec()), timeout)
}

fn run_inner(cmd: &mut Command, input: Option<Vec<u8>>, timeout: Duration) -> Output {
    let what = format!("{cmd:?}");
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let writer = input.map(|bytes| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A child that exits without reading its input is not an error here.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })
    });
    let out = read_all(child.stdout.take().expect("piped stdout"));
    let err = read_all(child.stderr.take().expect("piped stderr"));
    let status = wait_until(&mut child, Instant::now() + timeout);
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let stderr = err.join().unwrap_or_default();
        panic!(
            "{what} still running after {timeout:?}; killed. stderr:\n{}",
            String::from_utf8_lossy(&stderr)
        );
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Polls `child` until it exits or `deadline` passes (`None`).
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
}

/// Stops a child: waits up to `grace` for it to exit by itself, then kills it.
pub(crate) fn stop(child: &mut Child, grace: Duration) {
    if wait_until(child, Instant::now() + grace).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The last lines a peer wrote to a stream, kept for failure messages.
#[derive(Clone, Default)]
pub(crate) struct Tail(Arc<Mutex<Vec<String>>>);

impl Tail {
    const KEEP: usize = 40;

    /// Collects `r` line by line on a thread until it closes.
    pub(crate) fn collect(r: impl Read + Send + 'static) -> Self {
        let tail = Tail::default();
        let t = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines() {
                let Ok(line) = line else { break };
                let mut v = t.0.lock().unwrap_or_else(|e| e.into_inner());
                if v.len() == Self::KEEP {
                    v.remove(0);
                }
                v.push(line);
            }
        });
        tail
    }

    /// The collected lines, joined.
    pub(crate) fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_are_returned() {
        let out = run_bounded_with_input(
            Command::new("sh").args(["-c", "cat; echo err >&2; exit 3"]),
            b"hello",
            Duration::from_secs(10),
        );
        assert_eq!(out.stdout, b"hello");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    #[should_panic(expected = "still running")]
    fn overrunning_process_is_killed_and_reported() {
        run_bounded(Command::new("sleep").arg("30"), Duration::from_millis(200));
    }
}
