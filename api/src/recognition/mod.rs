//! Recognition of faces in camera frames; [`settings`] is its `[recognition]` section.

pub mod settings;
