//! The relay's tests: the wire format (no database).

pub mod fixtures;
mod wire_format;
