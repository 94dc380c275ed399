//! `PgProxy`: a loopback TCP proxy in front of PostgreSQL, one per node, that a test turns
//! into the faults a network has: every connection reset, new ones refused for a while, or a
//! black hole (connections held open, nothing passes either way, as a partition looks).

#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// What the proxy does with connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Bytes pass both ways.
    Pass,
    /// New connections are closed at once until then (existing ones were reset).
    RefuseUntil(Instant),
    /// Connections are held open and nothing passes; new ones likewise.
    BlackHole,
}

/// A proxy on 127.0.0.1 in front of `target`.
pub struct PgProxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl PgProxy {
    /// A proxy in front of the PostgreSQL of `database_url`.
    pub async fn start(database_url: &str) -> Self {
        let url = url::Url::parse(database_url).expect("a PostgreSQL URL");
        let target = format!(
            "{}:{}",
            url.host_str().expect("a host"),
            url.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().unwrap().port();
        let mode = watch::Sender::new(Mode::Pass);
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (modes, tasks) = (mode.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let now = *modes.borrow();
                if let Mode::RefuseUntil(until) = now {
                    if Instant::now() < until {
                        continue; // dropped: closed at once
                    }
                    modes.send_replace(Mode::Pass);
                }
                let target = target.clone();
                let watching = modes.subscribe();
                let mut tasks = tasks.lock().unwrap();
                tasks.retain(|t| !t.is_finished());
                tasks.push(tokio::spawn(serve(client, target, watching)));
            }
        });
        Self {
            port,
            mode,
            connections,
            accept,
        }
    }

    /// `database_url` with its port replaced by the proxy's.
    pub fn url(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("a PostgreSQL URL");
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }

    /// Closes every connection now (they reconnect through the proxy at once).
    pub fn reset_all(&self) {
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Closes every connection and refuses new ones for `duration`.
    pub fn refuse_for(&self, duration: Duration) {
        self.mode
            .send_replace(Mode::RefuseUntil(Instant::now() + duration));
        self.reset_all();
    }

    /// Holds every connection, old and new, open with nothing passing.
    pub fn black_hole(&self) {
        self.mode.send_replace(Mode::BlackHole);
    }

    /// Passes bytes again (connections held by a black hole are closed: they reconnect).
    pub fn heal(&self) {
        self.mode.send_replace(Mode::Pass);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset_all();
    }
}

async fn serve(mut client: tokio::net::TcpStream, target: String, mut mode: watch::Receiver<Mode>) {
    if *mode.borrow() == Mode::BlackHole {
        // Held open, silent, until the black hole ends; then closed.
        let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
        return;
    }
    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
        _ = mode.wait_for(|m| *m == Mode::BlackHole) => {}
    }
    // A black hole: nothing more passes; both sockets stay open until it ends.
    let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
}
