//! The cluster's rows in PostgreSQL: a node joins (`cluster_nodes`), renews what it holds
//! and takes what it may (`leases`), gives a camera up, and leaves. Only PostgreSQL's `now()`
//! is ever compared with an expiry, so the nodes' own clocks do not matter to who holds what.
//!
//! Leases are rows, not advisory locks: they survive poolers, network partitions and database
//! restarts, and make who reads what visible to an operator (`SELECT * FROM leases`).

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use entity::lease::{CAMERA_PREFIX, LEADER};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait, Value,
};

use super::rules::{self, LiveNode};

/// Who this process is in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    pub node_id: String,
    /// Drawn at each start.
    pub instance_id: String,
    pub advertise_url: String,
    /// The most cameras it reads (None: no limit).
    pub max_cameras: Option<u32>,
    /// SHA-256 of its camera folder.
    pub folder_digest: String,
}

/// A camera's lease as a camera task holds it: a status write of the task goes through only
/// while this instance still holds the lease at this epoch (a node that lost a camera
/// cannot mark it up after its new holder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseClaim {
    pub instance_id: String,
    pub epoch: i64,
}

/// A lease this node holds after a tick: the camera (or the leader's jobs) and its epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Camera id → epoch of its lease.
    pub cameras: BTreeMap<String, i64>,
    /// The leader lease's epoch, when this node is the leader.
    pub leader: Option<i64>,
}

/// What one tick asks for beyond renewing.
#[derive(Clone, Debug)]
pub struct TickRequest<'a> {
    pub lease: Duration,
    /// Whether to take (or keep) the leader lease: not when the clock is far off.
    pub want_leader: bool,
    /// The renewal comes after the node stopped reading (fenced): what it renews restarts
    /// from now as far as the camera monitor is concerned.
    pub after_fence: bool,
    /// A camera to give up this tick (decided at the tick before, its task already stopped).
    pub release: Option<&'a str>,
    /// Whether to take cameras and the leader lease nobody holds (or whose lease ran out): not
    /// for one lease after this node's own outage ([`rules::takes_others`]).
    pub take_others: bool,
}

/// What one tick found.
#[derive(Clone, Debug)]
pub struct TickOutcome {
    pub held: Held,
    /// PostgreSQL's time at the tick.
    pub database_now: DateTime<Utc>,
    /// Cameras this node should hold, and the release the rules choose for the next tick.
    pub share: usize,
    pub to_release: Option<String>,
    /// Nodes alive now (this one included).
    pub live_nodes: usize,
}

/// Why a tick failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "the node id {0:?} is in use by another hadir process (its row names another instance)"
    )]
    IdTaken(String),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl Held {
    /// Adds a row `(resource, epoch)` that a renewal or an acquisition returned.
    fn note(&mut self, row: &sea_orm::QueryResult) -> Result<(), DbErr> {
        let resource: String = row.try_get("", "resource")?;
        let epoch: i64 = row.try_get("", "epoch")?;
        if resource == LEADER {
            self.leader = Some(epoch);
        } else if let Some(camera_id) = resource.strip_prefix(CAMERA_PREFIX) {
            self.cameras.insert(camera_id.to_owned(), epoch);
        }
        Ok(())
    }
}

fn statement(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn millis(duration: Duration) -> Value {
    Value::from(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

/// Registers this node under its id, unless a live row of another instance holds the id.
/// True when it joined.
pub async fn try_join(
    db: &DatabaseConnection,
    me: &NodeIdentity,
    lease: Duration,
) -> Result<bool, DbErr> {
    let rows = db
        .query_all_raw(statement(
            "INSERT INTO cluster_nodes (node_id, instance_id, advertise_url, max_cameras, version, \
               folder_digest, started_at, heartbeat_at, expires_at, clock_skew_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, now(), now(), now() + $7 * interval '1 millisecond', 0) \
             ON CONFLICT (node_id) DO UPDATE SET instance_id = EXCLUDED.instance_id, \
               advertise_url = EXCLUDED.advertise_url, max_cameras = EXCLUDED.max_cameras, \
               version = EXCLUDED.version, folder_digest = EXCLUDED.folder_digest, \
               started_at = now(), heartbeat_at = now(), expires_at = EXCLUDED.expires_at, \
               clock_skew_ms = 0 \
             WHERE cluster_nodes.expires_at < now() OR cluster_nodes.instance_id = EXCLUDED.instance_id \
             RETURNING node_id",
            vec![
                me.node_id.clone().into(),
                me.instance_id.clone().into(),
                me.advertise_url.clone().into(),
                me.max_cameras.map(|m| m as i32).into(),
                env!("CARGO_PKG_VERSION").into(),
                me.folder_digest.clone().into(),
                millis(lease),
            ],
        ))
        .await?;
    Ok(!rows.is_empty())
}

/// One tick, in one transaction: heartbeat, renew, give up `release`, drop leases of cameras
/// no longer enabled, take the cameras this node's share allows, take or keep the leader.
pub async fn tick(
    db: &DatabaseConnection,
    me: &NodeIdentity,
    request: TickRequest<'_>,
    clock_skew_ms: i64,
) -> Result<TickOutcome, LeaseError> {
    let ttl = millis(request.lease);
    let txn = db.begin().await?;
    let beat = txn
        .execute_raw(statement(
            "UPDATE cluster_nodes SET heartbeat_at = now(), \
               expires_at = now() + $3 * interval '1 millisecond', clock_skew_ms = $4, \
               max_cameras = $5 \
             WHERE node_id = $1 AND instance_id = $2",
            vec![
                me.node_id.clone().into(),
                me.instance_id.clone().into(),
                ttl.clone(),
                clock_skew_ms.into(),
                me.max_cameras.map(|m| m as i32).into(),
            ],
        ))
        .await?;
    if beat.rows_affected() == 0 {
        txn.rollback().await?;
        return Err(LeaseError::IdTaken(me.node_id.clone()));
    }
    if let Some(camera_id) = request.release {
        txn.execute_raw(statement(
            "UPDATE leases SET expires_at = now() - interval '1 second', instance_id = '' \
             WHERE instance_id = $1 AND resource = $2",
            vec![
                me.instance_id.clone().into(),
                format!("{CAMERA_PREFIX}{camera_id}").into(),
            ],
        ))
        .await?;
    }
    // Cameras disabled or deleted are given up at once.
    txn.execute_raw(statement(
        "DELETE FROM leases l WHERE l.instance_id = $1 AND l.resource LIKE 'camera/%' \
           AND NOT EXISTS (SELECT 1 FROM cameras c \
                           WHERE c.enabled AND 'camera/' || c.camera_id = l.resource \
                             AND (c.pinned_node IS NULL OR c.pinned_node = $2))",
        vec![me.instance_id.clone().into(), me.node_id.clone().into()],
    ))
    .await?;
    if !request.want_leader {
        txn.execute_raw(statement(
            "DELETE FROM leases WHERE instance_id = $1 AND resource = $2",
            vec![me.instance_id.clone().into(), LEADER.into()],
        ))
        .await?;
    }
    let mut held = Held::default();
    // Everything this instance holds, also leases that ran out and no one took since (a taker
    // changes `instance_id` under the row lock; a release blanks it): an outage moves nothing.
    let renewed = txn
        .query_all_raw(statement(
            "UPDATE leases SET expires_at = now() + $2 * interval '1 millisecond', \
               acquired_at = CASE WHEN $3 THEN now() ELSE acquired_at END \
             WHERE instance_id = $1 \
             RETURNING resource, epoch",
            vec![
                me.instance_id.clone().into(),
                ttl.clone(),
                request.after_fence.into(),
            ],
        ))
        .await?;
    for row in &renewed {
        held.note(row)?;
    }

    // The nodes alive now and the cameras any of them may read.
    let nodes_rows = txn
        .query_all_raw(statement(
            "SELECT node_id, max_cameras, \
               (EXTRACT(EPOCH FROM (now() - started_at)) * 1000)::bigint AS alive_ms, \
               now() AS database_now \
             FROM cluster_nodes WHERE expires_at >= now() ORDER BY node_id",
            vec![],
        ))
        .await?;
    let mut nodes = Vec::with_capacity(nodes_rows.len());
    let mut me_index = None;
    let mut database_now = Utc::now();
    for (index, row) in nodes_rows.iter().enumerate() {
        let node_id: String = row.try_get("", "node_id")?;
        let max: Option<i32> = row.try_get("", "max_cameras")?;
        let alive_ms: i64 = row.try_get("", "alive_ms")?;
        database_now = row.try_get("", "database_now")?;
        if node_id == me.node_id {
            me_index = Some(index);
        }
        nodes.push(LiveNode {
            max_cameras: max.map(|m| m.max(0) as u32),
            alive_for: Duration::from_millis(alive_ms.max(0) as u64),
        });
    }
    let movable_row = txn
        .query_one_raw(statement(
            "SELECT count(*) AS n FROM cameras WHERE enabled AND pinned_node IS NULL",
            vec![],
        ))
        .await?;
    let movable: i64 = match &movable_row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    let share = me_index.map_or(0, |i| rules::fair_share(movable.max(0) as usize, &nodes, i));
    let pinned_held = txn
        .query_all_raw(statement(
            "SELECT c.camera_id FROM cameras c WHERE c.pinned_node = $1",
            vec![me.node_id.clone().into()],
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String>("", "camera_id").ok())
        .filter(|id| held.cameras.contains_key(id))
        .count();
    let movable_held = held.cameras.len().saturating_sub(pinned_held);
    let cap = me.max_cameras.map_or(usize::MAX, |m| m as usize);

    // This node's own pinned cameras first (no one else may read them), within its limit.
    let pinned_room = cap.saturating_sub(held.cameras.len());
    if pinned_room > 0 {
        let taken = txn
            .query_all_raw(acquire("c.pinned_node = $1", me, &ttl, pinned_room))
            .await?;
        for row in &taken {
            held.note(row)?;
        }
    }
    let room = rules::room(share, movable_held).min(cap.saturating_sub(held.cameras.len()));
    if room > 0 && request.take_others {
        let taken = txn
            .query_all_raw(acquire("c.pinned_node IS NULL", me, &ttl, room))
            .await?;
        for row in &taken {
            held.note(row)?;
        }
    }
    if request.want_leader {
        let leader = txn
            .query_all_raw(statement(
                "INSERT INTO leases (resource, node_id, instance_id, expires_at, epoch, acquired_at) \
                 VALUES ($3, $1, $2, now() + $4 * interval '1 millisecond', 1, now()) \
                 ON CONFLICT (resource) DO UPDATE SET node_id = EXCLUDED.node_id, \
                   instance_id = EXCLUDED.instance_id, expires_at = EXCLUDED.expires_at, \
                   epoch = CASE WHEN leases.instance_id = EXCLUDED.instance_id \
                           THEN leases.epoch ELSE leases.epoch + 1 END, \
                   acquired_at = CASE WHEN leases.instance_id = EXCLUDED.instance_id \
                                 THEN leases.acquired_at ELSE now() END \
                 WHERE (leases.expires_at < now() AND $5) \
                    OR leases.instance_id = EXCLUDED.instance_id \
                 RETURNING resource, epoch",
                vec![
                    me.node_id.clone().into(),
                    me.instance_id.clone().into(),
                    LEADER.into(),
                    ttl.clone(),
                    request.take_others.into(),
                ],
            ))
            .await?;
        for row in &leader {
            held.note(row)?;
        }
    }
    // The camera to give up at the next tick, if this node holds more than its share.
    let held_rows = txn
        .query_all_raw(statement(
            "SELECT l.resource, (c.pinned_node IS NOT NULL) AS pinned, \
               (EXTRACT(EPOCH FROM (now() - l.acquired_at)) * 1000)::bigint AS held_ms \
             FROM leases l JOIN cameras c ON 'camera/' || c.camera_id = l.resource \
             WHERE l.instance_id = $1",
            vec![me.instance_id.clone().into()],
        ))
        .await?;
    txn.commit().await?;
    let mut cameras = Vec::with_capacity(held_rows.len());
    for row in &held_rows {
        let resource: String = row.try_get("", "resource")?;
        let pinned: bool = row.try_get("", "pinned")?;
        let held_ms: i64 = row.try_get("", "held_ms")?;
        if let Some(camera_id) = resource.strip_prefix(CAMERA_PREFIX) {
            cameras.push(rules::HeldCamera {
                camera_id: camera_id.to_owned(),
                pinned,
                held_for: Duration::from_millis(held_ms.max(0) as u64),
            });
        }
    }
    let to_release =
        rules::to_release(&cameras, share, &nodes, request.lease).map(|c| c.camera_id.clone());
    Ok(TickOutcome {
        held,
        database_now,
        share,
        to_release,
        live_nodes: nodes.len(),
    })
}

/// The upsert that takes up to `limit` cameras nobody holds (or whose lease ran out) among
/// those `filter` admits, in random order so that nodes starting at once spread them.
fn acquire(filter: &str, me: &NodeIdentity, ttl: &Value, limit: usize) -> Statement {
    statement(
        &format!(
            "INSERT INTO leases (resource, node_id, instance_id, expires_at, epoch, acquired_at) \
             SELECT 'camera/' || c.camera_id, $1, $2, now() + $3 * interval '1 millisecond', 1, now() \
             FROM cameras c LEFT JOIN leases l ON l.resource = 'camera/' || c.camera_id \
             WHERE c.enabled AND ({filter}) AND (l.resource IS NULL OR l.expires_at < now()) \
             ORDER BY random() LIMIT $4 \
             ON CONFLICT (resource) DO UPDATE SET node_id = EXCLUDED.node_id, \
               instance_id = EXCLUDED.instance_id, expires_at = EXCLUDED.expires_at, \
               epoch = leases.epoch + 1, acquired_at = now() \
             WHERE leases.expires_at < now() \
             RETURNING resource, epoch"
        ),
        vec![
            me.node_id.clone().into(),
            me.instance_id.clone().into(),
            ttl.clone(),
            Value::from(i64::try_from(limit).unwrap_or(i64::MAX)),
        ],
    )
}

/// Gives up everything this instance holds and marks its row dead (a clean stop: the others
/// take its cameras at their next tick).
pub async fn leave(db: &DatabaseConnection, me: &NodeIdentity) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    txn.execute_raw(statement(
        "DELETE FROM leases WHERE instance_id = $1",
        vec![me.instance_id.clone().into()],
    ))
    .await?;
    txn.execute_raw(statement(
        "UPDATE cluster_nodes SET expires_at = now() WHERE node_id = $1 AND instance_id = $2",
        vec![me.node_id.clone().into(), me.instance_id.clone().into()],
    ))
    .await?;
    txn.commit().await
}

/// The time as PostgreSQL reads it.
pub async fn database_now(db: &impl ConnectionTrait) -> Result<DateTime<Utc>, DbErr> {
    let row = db
        .query_one_raw(statement("SELECT now() AS now", vec![]))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("SELECT now()".to_owned()))?;
    row.try_get("", "now")
}
