//! The relay's transport behind a small trait ([`ClusterBus`]), so that another one (NATS
//! JetStream, say) could stand in for PostgreSQL's: [`PgBus`], `NOTIFY` on `hadir_events`
//! and `hadir_control`, heard by a dedicated `LISTEN` session, with payloads too large for a
//! `NOTIFY` stored in `cluster_payloads`.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement,
    sqlx::{
        self, PgPool,
        postgres::{PgConnectOptions, PgListener, PgPoolOptions},
    },
};

use super::{
    control::{self, ControlMessage},
    wire::{self, MAX_NOTIFY_PAYLOAD},
};

/// The channel events travel on (named in [`PgBus::send_events`]'s SQL too).
pub const EVENTS_CHANNEL: &str = "hadir_events";
/// The channel control messages travel on.
pub const CONTROL_CHANNEL: &str = "hadir_control";
/// How long to wait for the listening session's connection.
pub const LISTEN_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the transport failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("PostgreSQL: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("{0}")]
    Wire(#[from] wire::WireError),
    #[error("a control message of {0} bytes is longer than a NOTIFY may carry")]
    TooLong(usize),
    #[error("the listening session ended")]
    ListenerEnded,
}

/// Which channel a message came on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Events,
    Control,
}

/// A message heard.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub channel: Channel,
    pub payload: String,
}

/// An event to send: its sequence number and its full envelope ([`wire::encode`]).
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub sequence: u64,
    pub envelope: String,
}

/// The transport.
#[async_trait]
pub trait ClusterBus: Send + Sync + 'static {
    /// Sends events in order, all or none, on their own (never inside a state change's
    /// transaction).
    async fn send_events(&self, batch: &[Outgoing]) -> Result<(), BusError>;
    /// Sends a control message (an encoded [`control`] envelope).
    async fn send_control(&self, payload: &str) -> Result<(), BusError>;
    /// Starts hearing both channels.
    async fn listen(&self) -> Result<Box<dyn BusListener>, BusError>;
    /// An event sent by reference: the envelope stored under `id` (None: gone).
    async fn load_payload(&self, id: i64) -> Result<Option<String>, BusError>;
    /// How full the transport's queue is, 0 to 1 (None: it has none to tell).
    async fn queue_usage(&self) -> Result<Option<f64>, BusError>;
    /// Deletes stored payloads older than `age`; how many.
    async fn purge_payloads(&self, age: Duration) -> Result<u64, BusError>;
}

/// A session hearing both channels.
#[async_trait]
pub trait BusListener: Send {
    /// The next message. `Ok(None)`: the connection was lost and made again, and what was
    /// sent in between is lost. An error: the session is broken; drop it and listen anew.
    async fn recv(&mut self) -> Result<Option<Incoming>, BusError>;
}

/// [`ClusterBus`] over PostgreSQL's `NOTIFY`/`LISTEN`.
pub struct PgBus {
    pool: PgPool,
    origin: String,
    listen_url: String,
    application_name: String,
}

impl PgBus {
    /// Sends on `db`'s pool and listens on `listen_url` (a direct, session-mode URL) under
    /// `application_name` (so that an operator, or a test, can find the session).
    /// `db` must be a PostgreSQL connection.
    pub fn new(
        db: &DatabaseConnection,
        origin: &str,
        listen_url: &str,
        application_name: &str,
    ) -> Option<Self> {
        (db.get_database_backend() == DbBackend::Postgres).then(|| Self {
            pool: db.get_postgres_connection_pool().clone(),
            origin: origin.to_owned(),
            listen_url: listen_url.to_owned(),
            application_name: application_name.to_owned(),
        })
    }
}

#[async_trait]
impl ClusterBus for PgBus {
    async fn send_events(&self, batch: &[Outgoing]) -> Result<(), BusError> {
        let mut tx = self.pool.begin().await?;
        let mut notices = Vec::with_capacity(batch.len());
        for outgoing in batch {
            if wire::fits_inline(&outgoing.envelope) {
                notices.push(outgoing.envelope.clone());
                continue;
            }
            // Stored in the same transaction: visible when the notification is.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO cluster_payloads (payload, created_at) VALUES ($1, now()) \
                 RETURNING id",
            )
            .bind(&outgoing.envelope)
            .fetch_one(&mut *tx)
            .await?;
            notices.push(wire::reference(&self.origin, outgoing.sequence, id));
        }
        // One notification per row, in the array's order.
        sqlx::query("SELECT pg_notify('hadir_events', p) FROM unnest($1::text[]) AS p")
            .bind(&notices)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn send_control(&self, payload: &str) -> Result<(), BusError> {
        notify_control(&self.pool, payload).await
    }

    async fn listen(&self) -> Result<Box<dyn BusListener>, BusError> {
        let options =
            PgConnectOptions::from_str(&self.listen_url)?.application_name(&self.application_name);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(LISTEN_CONNECT_TIMEOUT)
            .connect_with(options)
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.ignore_pool_close_event(true);
        listener
            .listen_all([EVENTS_CHANNEL, CONTROL_CHANNEL])
            .await?;
        Ok(Box::new(PgBusListener { listener }))
    }

    async fn load_payload(&self, id: i64) -> Result<Option<String>, BusError> {
        Ok(
            sqlx::query_scalar("SELECT payload FROM cluster_payloads WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn queue_usage(&self) -> Result<Option<f64>, BusError> {
        let usage: f64 = sqlx::query_scalar("SELECT pg_notification_queue_usage()")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(usage))
    }

    async fn purge_payloads(&self, age: Duration) -> Result<u64, BusError> {
        let millis = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        Ok(sqlx::query(
            "DELETE FROM cluster_payloads WHERE created_at < now() - $1 * interval '1 millisecond'",
        )
        .bind(millis)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

async fn notify_control(pool: &PgPool, payload: &str) -> Result<(), BusError> {
    if payload.len() > MAX_NOTIFY_PAYLOAD {
        return Err(BusError::TooLong(payload.len()));
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CONTROL_CHANNEL)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// Announces a control message on a database connection directly, for a process that runs
/// no relay (`hadir enroll`) or a service that holds only the connection. Nothing on SQLite
/// (a cluster of one has no one to tell).
pub async fn announce(
    db: &impl ConnectionTrait,
    origin: &str,
    message: &ControlMessage,
) -> Result<(), BusError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let payload = control::encode(origin, message)?;
    if payload.len() > MAX_NOTIFY_PAYLOAD {
        return Err(BusError::TooLong(payload.len()));
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CONTROL_CHANNEL.into(), payload.into()],
    ))
    .await?;
    Ok(())
}

struct PgBusListener {
    listener: PgListener,
}

#[async_trait]
impl BusListener for PgBusListener {
    async fn recv(&mut self) -> Result<Option<Incoming>, BusError> {
        loop {
            let Some(notification) = self.listener.try_recv().await? else {
                return Ok(None);
            };
            let channel = match notification.channel() {
                EVENTS_CHANNEL => Channel::Events,
                CONTROL_CHANNEL => Channel::Control,
                _ => continue,
            };
            return Ok(Some(Incoming {
                channel,
                payload: notification.payload().to_owned(),
            }));
        }
    }
}
