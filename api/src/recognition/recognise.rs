//! A camera's recognition loop: takes the latest frame from the mailbox, finds its faces
//! ([`super::analyse`]), shows them in the live view, and decides who they are
//! ([`super::decide`]).

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
    let threshold = analyser.faces.threshold();
    while let Some((frame, replaced)) = inbox.next().await {
        analyser
            .counters
            .dropped
            .fetch_add(replaced, Ordering::Relaxed);
        let matches = match analyser.analyse(&frame).await {
            Analysis::Faces(matches) => matches,
            Analysis::Failed => continue,
            Analysis::Unchanged => {
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
                continue;
            }
        };
        let seen_at = chrono::DateTime::<chrono::Utc>::from(frame.captured_at);
        live.send_replace(Some(Arc::new(LiveFrame {
            frame: frame.clone(),
            faces: matches
                .iter()
                .map(|m| {
                    let who = m.accepted(threshold).map(str::to_owned);
                    ([m.face.x1, m.face.y1, m.face.x2, m.face.y2], who)
                })
                .collect(),
            encodings: Default::default(),
        })));
        decider.decide(&matches, seen_at).await;
    }
}
