//! The presence engine: who is where, from recognitions and camera frames.
//!
//! - [`rules`]: the rules themselves, pure (what a sighting or the passing of time changes).
//! - [`store`]: the conditional reads and writes that apply them to the database.
//! - [`engine`]: the engine: sightings and unknown faces applied and published.
//! - [`cameras`]: cameras' health (frames, problems, down).
//! - [`tick`]: the monitor's tick (lost employees, silent cameras).
//! - [`monitor`]: the loop that runs [`PresenceEngine::tick`] at an interval.
//! - [`settings`]: the `[presence]` section of `hadir.toml`.
//! - [`view`]: what readers see of presence (an employee with their presence, the counts).
//!
//! The database holds the state: a restarted engine resumes from it, and several engines on
//! one PostgreSQL never raise the same notification twice (see [`store`]).

pub mod cameras;
pub mod engine;
pub mod monitor;
pub mod rules;
pub mod settings;
pub mod store;
pub mod tick;
pub mod view;

pub use engine::{MAX_WRITE_ATTEMPTS, PresenceEngine, PresenceSettings, Sighting, TickReport};
pub use view::{EmployeePresence, PresenceCounts};
