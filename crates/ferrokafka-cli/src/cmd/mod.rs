//! One module per subcommand, plus the client options several share.

pub mod admin;
pub mod consume;
pub mod copy;
pub mod metadata;
pub mod mock;
pub mod perf;
pub mod produce;
pub mod shutdown;

use ferrokafka::config::{self, Property};
use ferrokafka::ClientConfig;

/// The contexts of the global `-d CONTEXTS` option (kcat's), set once by
/// `main`; every client the command creates gets them as `debug`.
pub static DEBUG: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Builds a configuration from `-b` and repeated `-X name=value` options
/// (after `-d`'s `debug`, so that `-X debug=` wins).
/// `-X list` is handled by the caller ([`wants_property_list`]).
pub fn client_config(brokers: Option<&str>, props: &[String]) -> Result<ClientConfig, String> {
    let mut c = ClientConfig::new();
    if let Some(b) = brokers {
        c = c.set("bootstrap.servers", b);
    }
    if let Some(d) = DEBUG.get() {
        c = c.set("debug", d.as_str());
    }
    for p in props {
        let (name, value) = p
            .split_once('=')
            .ok_or_else(|| format!("-X {p:?}: expected name=value (or -X list)"))?;
        c = c.set(name.trim(), value);
    }
    Ok(c)
}

/// Whether `-X list` was given.
pub fn wants_property_list(props: &[String]) -> bool {
    props.iter().any(|p| p == "list")
}

/// Prints the property table (name, scope, type, range, default, doc), as
/// `kcat -X list` does.
pub fn print_property_list() {
    let props: Vec<&Property> = config::properties().collect();
    let width = props.iter().map(|p| p.name().len()).max().unwrap_or(0);
    println!(
        "{:<width$}  {:<3}  {:<10}  {:<24}  {:<16}  DESCRIPTION",
        "PROPERTY", "C/P", "TYPE", "RANGE", "DEFAULT"
    );
    for p in props {
        let default = if p.is_secret() { "" } else { p.default_value() };
        println!(
            "{:<width$}  {:<3}  {:<10}  {:<24}  {:<16}  {}",
            p.name(),
            p.applies_to().letter(),
            p.kind().type_name(),
            p.range(),
            default,
            p.doc_line()
        );
    }
}

/// `--stats-file FILE`: every statistics emission of the client appended
/// to FILE as one JSON line (librdkafka's STATISTICS.md layout), and a
/// last one when the command ends. Without `-X statistics.interval.ms`
/// the interval is one second.
#[derive(Clone)]
pub struct StatsFile {
    file: std::sync::Arc<std::sync::Mutex<std::fs::File>>,
}

/// The interval `--stats-file` uses unless one is configured.
const STATS_FILE_INTERVAL_MS: &str = "1000";

impl StatsFile {
    /// Opens `path` for appending, when given.
    pub fn open(path: Option<&std::path::Path>) -> Result<Option<StatsFile>, String> {
        let Some(path) = path else { return Ok(None) };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("--stats-file {}: {e}", path.display()))?;
        Ok(Some(StatsFile {
            file: std::sync::Arc::new(std::sync::Mutex::new(file)),
        }))
    }

    /// `config` with statistics turned on (the configured interval, else
    /// one second).
    pub fn configure(&self, config: ClientConfig) -> ClientConfig {
        match config.get("statistics.interval.ms") {
            Some(_) => config,
            None => config.set("statistics.interval.ms", STATS_FILE_INTERVAL_MS),
        }
    }

    /// Appends one emission.
    pub fn write(&self, s: &ferrokafka::stats::Statistics) {
        use std::io::Write;
        let Ok(mut line) = serde_json::to_vec(s) else {
            return;
        };
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = f.write_all(&line) {
            eprintln!("% --stats-file: {e}");
        }
    }

    /// A statistics callback appending to the file.
    pub fn callback(&self) -> impl Fn(&ferrokafka::stats::Statistics) + Send + Sync + 'static {
        let me = self.clone();
        move |s| me.write(s)
    }
}
