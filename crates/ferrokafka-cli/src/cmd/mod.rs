//! One module per subcommand.

pub mod consume;
pub mod metadata;
pub mod mock;
pub mod perf;
pub mod produce;
