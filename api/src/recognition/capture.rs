//! A camera's capture loop: reads its stream (reconnecting with capped exponential backoff),
//! posts each sampled frame to recognition's mailbox, and reports the camera's health to the
//! presence engine (frames coming, or the problem that stopped them).

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use vision::source::{self, SourceError, SourceOptions};

use super::{counters::CameraCounters, mailbox::Mailbox};
use crate::{backoff::Backoff, cluster::leases::LeaseClaim, presence::PresenceEngine};

/// The longest a camera's `last_frame_at` goes unwritten while its frames come: each frame
/// does not need a database write to show the camera is alive. Also at most a third of
/// `camera_timeout`, so that a working camera is never taken for a dead one.
pub const MAX_FRAME_TOUCH_INTERVAL: Duration = Duration::from_secs(5);

/// First wait before reconnecting to a camera that failed.
pub const RECONNECT_MIN: Duration = Duration::from_secs(1);
/// Longest wait between reconnection attempts to a camera that has not delivered a frame
/// since its task started (a camera that was never set up right).
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);
/// Longest wait between reconnection attempts to a camera that has delivered frames: one
/// that comes back is read again within about this long.
pub const RECONNECT_MAX_AFTER_UP: Duration = Duration::from_secs(8);
/// Wait before asking again for a kind of camera this build cannot read.
pub const UNSUPPORTED_RETRY: Duration = Duration::from_secs(300);

/// What one camera's capture reads, and where it reports.
pub struct Capture {
    pub camera_id: String,
    pub url: String,
    /// Time between sampled frames (recognition quickens it for a while when a newcomer
    /// appears).
    pub pace: source::Pace,
    pub source_options: SourceOptions,
    pub engine: Arc<PresenceEngine>,
    pub counters: Arc<CameraCounters>,
    /// The lease this task reads under (None: a cluster of one).
    pub claim: Option<LeaseClaim>,
}

impl Capture {
    /// Reads the camera until the task is stopped.
    pub async fn run(self, mut mailbox: Mailbox) {
        let Self {
            camera_id,
            url,
            pace,
            source_options,
            engine,
            counters,
            claim,
        } = self;
        let mut backoff = Backoff::new(RECONNECT_MIN, RECONNECT_MAX);
        let mut last_problem: Option<String> = None;
        let touch_every = (engine.settings().camera_timeout / 3).min(MAX_FRAME_TOUCH_INTERVAL);
        loop {
            let problem = match source::open(&url, &pace, &source_options).await {
                Ok(mut stream) => {
                    backoff.reset();
                    // The first frame of each connection is written at once (the camera may
                    // be coming back up), then one every `touch_every`.
                    let mut last_touch: Option<Instant> = None;
                    loop {
                        match stream.next_frame().await {
                            Ok(frame) => {
                                counters.frames.fetch_add(1, Ordering::Relaxed);
                                if last_touch.is_none() {
                                    // Once a camera has worked, it is looked for again sooner.
                                    backoff.set_cap(RECONNECT_MAX_AFTER_UP);
                                }
                                if last_touch.is_none_or(|t| t.elapsed() >= touch_every) {
                                    last_touch = Some(Instant::now());
                                    if let Err(error) = engine
                                        .camera_frame_under(&camera_id, None, claim.as_ref())
                                        .await
                                    {
                                        tracing::warn!(%camera_id, %error, "cannot record the camera's frame");
                                    }
                                }
                                // The latest wins; recognition counts the frames it never saw.
                                mailbox.post(frame);
                            }
                            Err(error) => break error,
                        }
                    }
                }
                Err(error) => error,
            };
            counters.reconnects.fetch_add(1, Ordering::Relaxed);
            let next = backoff.next_wait();
            let wait = match problem {
                SourceError::Unsupported(_) => UNSUPPORTED_RETRY,
                _ => next,
            };
            let error = crate::redact::message_for_logs(&problem.to_string());
            // The same failure again and again is said once at WARN, then at DEBUG.
            if last_problem.as_deref() == Some(error.as_str()) {
                tracing::debug!(%camera_id, %error, ?wait, "camera stream failed again; reconnecting");
            } else {
                tracing::warn!(%camera_id, %error, ?wait, "camera stream failed; reconnecting");
            }
            if let Err(error) = engine
                .camera_problem(&camera_id, &problem.to_string())
                .await
            {
                tracing::warn!(%camera_id, %error, "cannot record the camera's problem");
            }
            last_problem = Some(error);
            tokio::time::sleep(wait).await;
        }
    }
}
