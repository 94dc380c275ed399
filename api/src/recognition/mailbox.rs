//! The one-frame mailbox between a camera's capture and its recognition: when recognition
//! falls behind, the latest frame wins, and the frames it replaced are counted as dropped.

use std::sync::Arc;

use tokio::sync::watch;
use vision::source::Frame;

/// A new mailbox: the capture side and the recognition side.
pub fn mailbox() -> (Mailbox, Inbox) {
    let (sender, receiver) = watch::channel(None);
    (
        Mailbox {
            sender,
            sequence: 0,
        },
        Inbox {
            receiver,
            last_taken: 0,
        },
    )
}

/// Where capture posts each frame (replacing one not yet taken).
pub struct Mailbox {
    sender: watch::Sender<Option<(u64, Arc<Frame>)>>,
    sequence: u64,
}

impl Mailbox {
    /// Posts a frame: the latest wins.
    pub fn post(&mut self, frame: Frame) {
        self.sequence += 1;
        self.sender
            .send_replace(Some((self.sequence, Arc::new(frame))));
    }
}

/// Where recognition takes the latest frame.
pub struct Inbox {
    receiver: watch::Receiver<Option<(u64, Arc<Frame>)>>,
    last_taken: u64,
}

impl Inbox {
    /// The next new frame, with how many frames were replaced unseen since the last one
    /// taken; None once capture is gone.
    pub async fn next(&mut self) -> Option<(Arc<Frame>, u64)> {
        loop {
            self.receiver.changed().await.ok()?;
            let Some((sequence, frame)) = self.receiver.borrow_and_update().clone() else {
                continue;
            };
            // Frames delivered after the last one taken and before this one were replaced
            // unseen: recognition fell behind by that many.
            let replaced = if self.last_taken > 0 {
                sequence.saturating_sub(self.last_taken + 1)
            } else {
                0
            };
            self.last_taken = sequence;
            return Some((frame, replaced));
        }
    }
}
