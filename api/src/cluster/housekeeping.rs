//! The leader's cleaning of the cluster's tables (PostgreSQL): rows of nodes dead for
//! [`DEAD_NODE_RETENTION`], and leases of cameras that no longer exist (a holder that died
//! before it could drop them). Relayed payloads are the relay's own: its sender purges them
//! ([`super::relay::PAYLOAD_RETENTION`]).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// How often the leader cleans.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Rows of nodes dead this long are removed (until then `clusterNodes` shows them).
pub const DEAD_NODE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3_600);

/// What one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub nodes: u64,
    pub leases: u64,
}

/// One sweep.
pub async fn sweep(db: &impl ConnectionTrait) -> Result<Swept, DbErr> {
    let run = |sql: &str, secs: u64| {
        Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [i64::try_from(secs).unwrap_or(i64::MAX).into()],
        )
    };
    let nodes = db
        .execute_raw(run(
            "DELETE FROM cluster_nodes WHERE expires_at < now() - $1 * interval '1 second'",
            DEAD_NODE_RETENTION.as_secs(),
        ))
        .await?
        .rows_affected();
    let leases = db
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "DELETE FROM leases l WHERE l.resource LIKE 'camera/%' AND NOT EXISTS \
             (SELECT 1 FROM cameras c WHERE 'camera/' || c.camera_id = l.resource)",
        ))
        .await?
        .rows_affected();
    Ok(Swept { nodes, leases })
}

/// Sweeps every [`SWEEP_INTERVAL`] (the composition root runs it on the leader only).
pub async fn run(db: DatabaseConnection) {
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        ticker.tick().await;
        match sweep(&db).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(
                nodes = swept.nodes,
                leases = swept.leases,
                "cluster tables cleaned"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot clean the cluster tables"),
        }
    }
}
