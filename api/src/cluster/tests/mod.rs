//! The relay's tests: the wire format (no database), and two relays in one process over a
//! fresh PostgreSQL database (skipped without `HADIR_TEST_POSTGRES_URL`).

pub mod fixtures;
mod harness;
mod postgres;
mod wire_format;
