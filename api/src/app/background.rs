//! The background loops of a running server under one cancellation token: some run on every
//! node, the leader's jobs only while this node leads (started when it becomes the leader,
//! cancelled when it stops being it).

use std::{future::Future, time::Duration};

use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;

/// How long the background loops get to end once cancelled (they end at their next wait).
pub const BACKGROUND_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// The background loops of a running server, under one cancellation token.
pub struct Background {
    cancel: CancellationToken,
    loops: JoinSet<&'static str>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

impl Background {
    pub fn new() -> Self {
        Self {
            cancel: CancellationToken::new(),
            loops: JoinSet::new(),
        }
    }

    /// Runs `work` until the server stops; `name` is logged if it ends before.
    pub fn spawn(&mut self, name: &'static str, work: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        self.loops.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = work => tracing::warn!(task = name, "background task ended on its own"),
            }
            name
        });
    }

    /// Runs the job `make` builds while `leader` says this node leads: started each time it
    /// becomes the leader, cancelled each time it stops being it, until the server stops.
    pub fn spawn_while_leader<F, Fut>(
        &mut self,
        name: &'static str,
        leader: watch::Receiver<bool>,
        make: F,
    ) where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn(name, while_leader(name, leader, make));
    }

    /// Cancels every loop and waits (a little) for each to end.
    pub async fn stop(mut self) -> usize {
        self.cancel.cancel();
        let mut stopped = 0;
        let wait = tokio::time::timeout(BACKGROUND_STOP_TIMEOUT, async {
            while let Some(ended) = self.loops.join_next().await {
                if let Ok(name) = ended {
                    tracing::debug!(task = name, "background task stopped");
                }
                stopped += 1;
            }
        })
        .await;
        if wait.is_err() {
            self.loops.abort_all();
        }
        stopped
    }
}

/// Runs `make()`'s job whenever `leader` is true; ends when the sender is gone.
async fn while_leader<F, Fut>(name: &'static str, mut leader: watch::Receiver<bool>, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        if leader.wait_for(|leads| *leads).await.is_err() {
            return;
        }
        if crate::banner::starting() {
            tracing::debug!(task = name, "leader job started");
        } else {
            tracing::info!(task = name, "leader job started");
        }
        tokio::select! {
            () = make() => tracing::warn!(task = name, "leader job ended on its own"),
            lost = leader.wait_for(|leads| !*leads) => {
                if lost.is_err() {
                    return;
                }
                tracing::info!(task = name, "leader job stopped: this node no longer leads");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn leader_jobs_run_only_while_leading() {
        let (leader, watch) = watch::channel(false);
        let starts = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        let mut background = Background::new();
        let (s, r) = (starts.clone(), running.clone());
        background.spawn_while_leader("job", watch, move || {
            let (s, r) = (s.clone(), r.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                struct Running(Arc<AtomicUsize>);
                impl Drop for Running {
                    fn drop(&mut self) {
                        self.0.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                r.fetch_add(1, Ordering::SeqCst);
                let _running = Running(r);
                std::future::pending::<()>().await;
            }
        });
        let settle = || tokio::time::sleep(Duration::from_millis(50));
        settle().await;
        assert_eq!(starts.load(Ordering::SeqCst), 0, "not while following");
        leader.send_replace(true);
        settle().await;
        assert_eq!(running.load(Ordering::SeqCst), 1, "started on leading");
        leader.send_replace(false);
        settle().await;
        assert_eq!(running.load(Ordering::SeqCst), 0, "cancelled on losing");
        leader.send_replace(true);
        settle().await;
        assert_eq!(starts.load(Ordering::SeqCst), 2, "started again");
        assert_eq!(background.stop().await, 1);
        assert_eq!(running.load(Ordering::SeqCst), 0, "cancelled at the stop");
    }
}
