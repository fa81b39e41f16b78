//! Placeholder: this layer lands with its issue (see ARCHITECTURE.md).
