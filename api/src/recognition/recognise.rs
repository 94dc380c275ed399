//! A camera's recognition loop: takes the latest frame from the mailbox, finds and tracks its
//! faces ([`super::analyse`]), shows them in the live view, and tells the presence engine
//! what the tracks decided ([`super::decide`]).

use std::sync::{Arc, atomic::Ordering};

use tokio::sync::watch;

use super::{
    analyse::{Analyser, Analysis},
    decide::Decider,
    live::LiveFrame,
    mailbox::Inbox,
};

/// Recognises the latest frame of a camera whenever there is a new one, until capture
/// stops.
pub async fn run(
    mut analyser: Analyser,
    mut decider: Decider,
    live: watch::Sender<Option<Arc<LiveFrame>>>,
    mut inbox: Inbox,
) {
    while let Some((frame, replaced)) = inbox.next().await {
        analyser
            .counters
            .dropped
            .fetch_add(replaced, Ordering::Relaxed);
        let seen_at = chrono::DateTime::<chrono::Utc>::from(frame.captured_at);
        let tracked = match analyser.analyse(&frame).await {
            Analysis::Faces(tracked) => tracked,
            Analysis::Failed => continue,
            Analysis::Unchanged(ended) => {
                // Nothing changed: the live view still shows the new frame, with the faces
                // found last.
                let faces = live
                    .borrow()
                    .as_ref()
                    .map(|shown| shown.faces.clone())
                    .unwrap_or_default();
                live.send_replace(Some(Arc::new(LiveFrame {
                    frame,
                    faces,
                    encodings: Default::default(),
                })));
                decider.decide(ended, seen_at).await;
                analyser
                    .counters
                    .live_tracks
                    .store(analyser.live_tracks() as u64, Ordering::Relaxed);
                continue;
            }
        };
        live.send_replace(Some(Arc::new(LiveFrame {
            frame: frame.clone(),
            faces: tracked
                .faces
                .iter()
                .map(|f| {
                    (
                        [f.face.x1, f.face.y1, f.face.x2, f.face.y2],
                        f.employee_id.clone(),
                    )
                })
                .collect(),
            encodings: Default::default(),
        })));
        decider.decide(tracked.events, seen_at).await;
        analyser
            .counters
            .live_tracks
            .store(analyser.live_tracks() as u64, Ordering::Relaxed);
    }
}
