//! Helpers shared with `examples/`.

pub mod corpus;
