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

/// Builds a configuration from `-b` and repeated `-X name=value` options.
/// `-X list` is handled by the caller ([`wants_property_list`]).
pub fn client_config(brokers: Option<&str>, props: &[String]) -> Result<ClientConfig, String> {
    let mut c = ClientConfig::new();
    if let Some(b) = brokers {
        c = c.set("bootstrap.servers", b);
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
