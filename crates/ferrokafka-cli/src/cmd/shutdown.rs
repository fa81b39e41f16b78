//! Stopping on SIGINT and SIGTERM. systemd and Kubernetes stop a service
//! with SIGTERM, a terminal with SIGINT (Ctrl-C): every long-running
//! command treats both alike and closes cleanly within its close timeout
//! ([`CLOSE_TIMEOUT`]): a consumer makes its final commit and leaves its
//! group, a producer delivers what it has read, `perf` reports what it
//! measured, `mock` shuts its cluster down. The command then exits as it
//! would have at its natural end (0 when the close succeeded).
//!
//! A second signal during the close exits at once, with 128 + the
//! signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports
//! a process the signal killed.
//!
//! The handlers are installed by [`Shutdown::install`] before the command
//! starts its work, so that a signal arriving early is not the default
//! action (killing the process without a close).

use std::sync::{mpsc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

/// How long a command's close may take after a signal: the final commit
/// and LeaveGroup of a consumer, the last deliveries of a producer.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The handlers of this process, once installed.
static INSTALLED: OnceLock<Shutdown> = OnceLock::new();

/// The signal received since [`Shutdown::install`], if any: for loops deep
/// in a command that are not handed the [`Shutdown`].
pub fn stop_requested() -> Option<&'static str> {
    INSTALLED.get().and_then(Shutdown::requested)
}

/// Waits for the first signal after [`Shutdown::install`] (never resolves
/// without it).
pub async fn stopped() -> &'static str {
    match INSTALLED.get() {
        Some(s) => s.wait().await,
        None => std::future::pending().await,
    }
}

/// The stop request of a command: set at the first SIGINT or SIGTERM.
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Option<&'static str>>,
}

impl Shutdown {
    /// Installs the SIGINT and SIGTERM handlers (on a thread of their own,
    /// so that blocking commands are served too) and returns once they are
    /// in place. Without handlers (the thread or the registration failed)
    /// the signals keep their default action; a warning says so.
    pub fn install() -> Shutdown {
        if let Some(s) = INSTALLED.get() {
            return s.clone();
        }
        let (tx, rx) = watch::channel(None);
        let (ready_tx, ready_rx) = mpsc::channel::<bool>();
        let spawned = std::thread::Builder::new()
            .name("ferrokafka-signals".into())
            .spawn(move || watch_signals(tx, ready_tx));
        let installed = spawned.is_ok() && ready_rx.recv().unwrap_or(false);
        if !installed {
            eprintln!("% warning: cannot install the SIGINT/SIGTERM handlers: a signal stops this command without closing it");
        }
        let s = Shutdown { rx };
        let _ = INSTALLED.set(s.clone());
        s
    }

    /// The signal received, if any (`"SIGINT"` or `"SIGTERM"`).
    pub fn requested(&self) -> Option<&'static str> {
        *self.rx.borrow()
    }

    /// Waits for the first signal; returns its name.
    pub async fn wait(&self) -> &'static str {
        let mut rx = self.rx.clone();
        let got = rx.wait_for(Option::is_some).await.map(|v| *v);
        match got {
            Ok(v) => v.unwrap_or("signal"),
            // The watcher is gone: no signal will come.
            Err(_) => std::future::pending().await,
        }
    }
}

fn watch_signals(tx: watch::Sender<Option<&'static str>>, ready: mpsc::Sender<bool>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        let _ = ready.send(false);
        return;
    };
    rt.block_on(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                let _ = ready.send(false);
                return;
            };
            let _ = ready.send(true);
            let mut first = true;
            loop {
                let (name, number) = tokio::select! {
                    _ = int.recv() => ("SIGINT", 2),
                    _ = term.recv() => ("SIGTERM", 15),
                };
                if !first {
                    eprintln!("% {name} again: exiting without finishing the close");
                    std::process::exit(128 + number);
                }
                first = false;
                tx.send_replace(Some(name));
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ready.send(true);
            let mut first = true;
            loop {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                if !first {
                    std::process::exit(130);
                }
                first = false;
                tx.send_replace(Some("SIGINT"));
            }
        }
    });
}
