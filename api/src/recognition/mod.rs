//! Recognition: the camera tasks that turn frames into sightings, and what they show.
//!
//! The central loop, one step per file: a camera's [`capture`] posts frames to a
//! [`mailbox`]; [`recognise`] takes the latest, where [`analyse`] turns **a frame into faces**
//! (vision's pipeline, motion-gated, ignore regions dropped) and [`decide`] turns **faces into
//! a sighting** for the presence engine ([`crate::presence`] turns **a sighting into a
//! presence**, and [`crate::events`] carries **a presence as an event**).
//!
//! - [`supervisor`]: starts, restarts and stops the camera tasks as cameras change.
//! - [`capture`]: reads a camera's stream, reconnecting with capped backoff; its health.
//! - [`mailbox`]: the one-frame mailbox between capture and recognition (the latest wins).
//! - [`recognise`]: the recognition loop of one camera.
//! - [`analyse`]: a frame becomes faces.
//! - [`decide`]: faces become a sighting (or an unknown face).
//! - [`live`]: a camera's latest frame and its faces, as JPEG for viewers.
//! - [`counters`]: frames and faces counted per camera, for `/metrics`.
//! - [`ai_status`]: whether recognition runs, for the dashboard's indicator.
//! - [`settings`]: the `[recognition]` section of `hadir.toml`.

pub mod ai_status;
pub mod analyse;
pub mod capture;
pub mod counters;
pub mod decide;
pub mod live;
pub mod mailbox;
pub mod recognise;
pub mod settings;
pub mod supervisor;
