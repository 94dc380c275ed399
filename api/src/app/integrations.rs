//! MQTT and the webhooks, run by the leader only (one retained state, one delivery per
//! event across the cluster; on SQLite the one node always leads). They start when this node
//! becomes the leader; when it stops leading MQTT disconnects without saying `offline` (the
//! new leader says `online`) and the queued webhooks are flushed; at the server's stop MQTT
//! says `offline` and the webhooks are flushed, each stage logged.

use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    mqtt::{MqttBridge, settings::MqttSettings},
    state::AppState,
    webhooks::Webhooks,
};

/// The leader's integrations, following leadership until stopped.
pub struct Integrations {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// What is configured, checked at start-up.
struct Configured {
    mqtt: Option<MqttSettings>,
    webhooks: bool,
}

impl Integrations {
    /// Checks the configuration and starts following leadership (nothing runs when neither
    /// MQTT nor a webhook is configured).
    pub fn start(app: &AppState, leader: watch::Receiver<bool>) -> anyhow::Result<Self> {
        let mut mqtt = app.config.mqtt.settings()?;
        if let Some(settings) = &mut mqtt {
            if app.cluster.is_shared() {
                // One client id per node: a node's restart replaces its own session.
                settings.client_id = format!("hadir-{}", app.cluster.identity.node_id);
            }
            tracing::info!(broker = %format!("{}:{}", settings.host, settings.port), prefix = %settings.topic_prefix, "publishing to MQTT (while this node leads)");
        }
        if !app.config.webhooks.is_empty() {
            tracing::info!(
                count = app.config.webhooks.len(),
                "posting events to webhooks (while this node leads)"
            );
        }
        let configured = Configured {
            webhooks: !app.config.webhooks.is_empty(),
            mqtt,
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(follow(app.clone(), configured, leader, stop.clone()));
        Ok(Self { stop, task })
    }

    /// Stops them (MQTT says `offline`, webhooks flushed), logging each stage.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The integrations while they run.
#[derive(Default)]
struct Running {
    mqtt: Option<MqttBridge>,
    webhooks: Option<Webhooks>,
}

impl Running {
    fn start(app: &AppState, configured: &Configured) -> Self {
        let mqtt = configured.mqtt.clone().map(|settings| {
            MqttBridge::spawn(
                settings,
                &app.events,
                app.employees.clone(),
                app.cameras.clone(),
                app.integrations.clone(),
            )
        });
        let webhooks = if configured.webhooks {
            match Webhooks::spawn(
                &app.config.webhooks,
                &app.events,
                app.integrations.clone(),
                Some(app.db.clone()),
            ) {
                Ok(webhooks) => Some(webhooks),
                Err(reason) => {
                    tracing::error!(%reason, "cannot start the webhooks");
                    None
                }
            }
        } else {
            None
        };
        Self { mqtt, webhooks }
    }

    /// Stops them; `handing_over`: another node takes over (MQTT says nothing).
    async fn stop(self, handing_over: bool) {
        if let Some(mqtt) = self.mqtt {
            if handing_over {
                mqtt.hand_over().await;
                tracing::info!("MQTT handed over to the new leader (disconnected)");
            } else {
                mqtt.stop().await;
                tracing::info!("stopping: MQTT flushed (offline published, disconnected)");
            }
        }
        if let Some(webhooks) = self.webhooks {
            if webhooks.stop().await {
                tracing::info!("stopping: webhooks flushed");
            } else {
                tracing::warn!(
                    "stopping: webhooks stopped with deliveries still queued (receivers too slow)"
                );
            }
        }
    }
}

async fn follow(
    app: AppState,
    configured: Configured,
    mut leader: watch::Receiver<bool>,
    stop: CancellationToken,
) {
    if configured.mqtt.is_none() && !configured.webhooks {
        return;
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            gone = async { leader.wait_for(|leads| *leads).await.is_err() } => if gone { return },
        }
        let running = Running::start(&app, &configured);
        tokio::select! {
            () = stop.cancelled() => {
                running.stop(false).await;
                return;
            }
            gone = async { leader.wait_for(|leads| !*leads).await.is_err() } => {
                running.stop(true).await;
                if gone {
                    return;
                }
            }
        }
    }
}
