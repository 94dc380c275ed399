//! Inference workers: a pool of face pipelines (each its own ONNX Runtime sessions), so that
//! several frames are analysed at once; a caller waits for a free one.

use std::sync::{Condvar, Mutex};

use vision::pipeline::FacePipeline;

/// The face pipelines of the inference workers.
pub type PipelinePool = Pool<FacePipeline>;

/// Things each used by one caller at a time.
pub struct Pool<T> {
    idle: Mutex<Vec<T>>,
    returned: Condvar,
    size: usize,
}

impl<T> Pool<T> {
    pub fn new(pipelines: Vec<T>) -> Self {
        Self {
            size: pipelines.len(),
            idle: Mutex::new(pipelines),
            returned: Condvar::new(),
        }
    }

    /// Workers in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `work` with a free pipeline (blocking until one is free). Call from a blocking
    /// thread.
    pub fn with<R>(&self, work: impl FnOnce(&mut T) -> R) -> R {
        let mut pipeline = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(p) = idle.pop() {
                    break p;
                }
                idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
            }
        };
        // Put the pipeline back even if `work` panics.
        struct Return<'a, T> {
            pool: &'a Pool<T>,
            pipeline: Option<T>,
        }
        impl<T> Drop for Return<'_, T> {
            fn drop(&mut self) {
                if let Some(p) = self.pipeline.take() {
                    self.pool
                        .idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(p);
                    self.pool.returned.notify_one();
                }
            }
        }
        let mut guard = Return {
            pool: self,
            pipeline: None,
        };
        let result = work(&mut pipeline);
        guard.pipeline = Some(pipeline);
        drop(guard);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    #[test]
    fn callers_share_the_workers_and_never_exceed_them() {
        let pool = Arc::new(Pool::new(vec![0u32, 0u32]));
        let busy = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (pool, busy, most) = (pool.clone(), busy.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        pool.with(|uses| {
                            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            *uses += 1;
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            busy.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
        let total: u32 = pool.idle.lock().unwrap().iter().sum();
        assert_eq!(total, 160, "every use went to a worker, and both came back");
    }
}
