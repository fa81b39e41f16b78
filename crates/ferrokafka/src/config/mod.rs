//! Configuration: the one property table and its validation.
//!
//! Placeholder; the property table lands with the foundation issue.

/// A set of configuration properties, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    props: Vec<(String, String)>,
}

impl ClientConfig {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property; validation happens when a client is built from it.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.props.push((name.into(), value.into()));
        self
    }
}
