//! The loops that tie this node's parts to the cluster (PostgreSQL only): camera changes and
//! the others' releases ask the lease loop for a tick at once; tokens revoked elsewhere close
//! their connections here; a resync of the relay (after a gap in what this node heard)
//! re-syncs the camera tasks; the relay's own tasks.

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};

use super::background::Background;
use crate::{
    cluster::{
        control::ControlMessage,
        gallery,
        membership::Cluster,
        relay::{Relay, RelayHandle, RelaySettings},
    },
    config::Config,
    events::{Event, EventBus},
    faces::CLUSTER_GALLERY_REFRESH_INTERVAL,
    state::AppState,
};

/// Builds the relay of a node on PostgreSQL and runs its tasks, the gallery follower (in
/// place of the 5 s poll) and the loops below in `background`; None on SQLite.
pub fn start(
    app: &AppState,
    config: &Config,
    background: &mut Background,
) -> anyhow::Result<Option<RelayHandle>> {
    if !app.cluster.is_shared() {
        background.spawn("gallery refresh", app.faces.clone().run_refresh());
        return Ok(None);
    }
    let relay = Relay::new(
        app.db.clone(),
        &app.events,
        RelaySettings {
            instance_id: app.cluster.identity.instance_id.clone(),
            node_id: app.cluster.identity.node_id.clone(),
            listen_url: config
                .cluster
                .listen_url
                .clone()
                .unwrap_or_else(|| config.database_url.clone()),
        },
    )?;
    let handle = relay.handle;
    app.faces.set_cluster_origin(handle.instance_id());
    app.tokens.set_cluster_origin(handle.instance_id());
    background.spawn("relay sender", relay.sender);
    background.spawn("relay receiver", relay.receiver);
    background.spawn(
        "gallery follower",
        gallery::follow(
            app.faces.clone(),
            handle.subscribe_control(),
            handle.subscribe_resyncs(),
            CLUSTER_GALLERY_REFRESH_INTERVAL,
        ),
    );
    let cameras = app.live_cameras.clone();
    let mut resyncs = handle.subscribe_resyncs();
    background.spawn("relay resyncs to cameras", async move {
        loop {
            match resyncs.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => cameras.request_sync(),
                Err(RecvError::Closed) => return,
            }
        }
    });
    background.spawn(
        "control to leases and tokens",
        follow_control(handle.subscribe_control(), app.clone()),
    );
    background.spawn(
        "camera changes to leases",
        nudge_on_camera_changes(app.events.clone(), app.cluster.clone()),
    );
    Ok(Some(handle))
}

/// A camera created, changed or deleted (here or, relayed, on another node) asks for a lease
/// tick at once: a new camera is taken within a second, not at the next renewal.
async fn nudge_on_camera_changes(events: EventBus, cluster: Arc<Cluster>) {
    let mut changes = events.subscribe();
    loop {
        match changes.recv().await {
            Ok(event) if matches!(&*event, Event::CameraChanged { .. }) => cluster.nudge(),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => cluster.nudge(),
            Err(RecvError::Closed) => return,
        }
    }
}

/// A camera another node released, or a node that left, asks for a lease tick at once; a
/// token revoked elsewhere closes its connections here.
async fn follow_control(mut control: broadcast::Receiver<ControlMessage>, app: AppState) {
    loop {
        match control.recv().await {
            Ok(ControlMessage::CameraReleased { .. } | ControlMessage::NodeLeft { .. }) => {
                app.cluster.nudge();
            }
            Ok(ControlMessage::TokenRevoked { token_id }) => app.tokens.revoked_elsewhere(token_id),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => app.cluster.nudge(),
            Err(RecvError::Closed) => return,
        }
    }
}
