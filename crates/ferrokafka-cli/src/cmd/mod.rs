//! One module per subcommand.

pub mod metadata;
pub mod mock;
pub mod perf;
pub mod produce;
