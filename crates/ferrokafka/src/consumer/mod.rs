//! Placeholder: the consumer lands with its issue (see ARCHITECTURE.md).
