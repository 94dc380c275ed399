//! The harness of the relay's PostgreSQL tests: a fresh database per test (dropped even
//! after a failure), a node (an event bus with a running relay), and markers that tell when
//! everything sent before them has been handled.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use entity::camera;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, IntoActiveModel,
};
use tokio::sync::broadcast;

use super::fixtures;
use crate::{
    cluster::relay::{Relay, RelayHandle, RelaySettings},
    events::{Event, EventBus, UnknownFace},
};

/// The variable naming a PostgreSQL server whose user may create databases.
pub const POSTGRES_URL_VAR: &str = "HADIR_TEST_POSTGRES_URL";
/// The longest any step is waited for.
pub const WAIT: Duration = Duration::from_secs(25);

/// A fresh database, dropped (even after a failure) when this is.
pub struct Scratch {
    base: String,
    name: String,
    pub url: String,
    pub db: DatabaseConnection,
}

impl Scratch {
    pub async fn create(test: &str) -> Option<Self> {
        let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
            println!("SKIPPED {test}: {POSTGRES_URL_VAR} is not set");
            return None;
        };
        let name = format!("hadir_relay_{:016x}", rand::random::<u64>());
        let admin = Database::connect(&base)
            .await
            .expect("connect to the server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&base).expect("a URL");
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let db = crate::db::connect_and_migrate(&url).await.expect("migrate");
        Some(Self {
            base,
            name,
            url,
            db,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Database::connect(&base).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// One node: its bus, its relay, the relay's two tasks (aborted when dropped).
pub struct Node {
    pub events: EventBus,
    pub relay: RelayHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub async fn node(scratch: &Scratch, name: &str) -> Node {
    let events = EventBus::default();
    let relay = Relay::new(
        scratch.db.clone(),
        &events,
        RelaySettings {
            instance_id: crate::cluster::identity::new_instance_id(),
            node_id: name.to_owned(),
            listen_url: scratch.url.clone(),
        },
    )
    .expect("a relay on PostgreSQL");
    let node = Node {
        events,
        relay: relay.handle,
        tasks: vec![tokio::spawn(relay.sender), tokio::spawn(relay.receiver)],
    };
    until("the listener hears its own ping", || {
        node.relay.health().listener_up
    })
    .await;
    node
}

pub async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {WAIT:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An event no test publishes otherwise, told apart by `n`.
pub fn marker(n: u32) -> Event {
    Event::UnknownFaceSeen(UnknownFace {
        camera: fixtures::camera(&format!("MARK{n}"), 0),
        seen_at: Utc::now(),
        best_score: None,
        track_id: None,
    })
}

pub fn is_marker(event: &Event, n: u32) -> bool {
    matches!(event, Event::UnknownFaceSeen(u) if u.camera.camera_id == format!("MARK{n}"))
}

pub fn is_any_marker(event: &Event) -> bool {
    matches!(event, Event::UnknownFaceSeen(u) if u.camera.camera_id.starts_with("MARK"))
}

/// Publishes marker `n` on `from` and returns what `to` received before it arrived, other
/// markers aside: the relay keeps one node's order, so everything sent before it has been
/// handled.
pub async fn through_marker(
    from: &Node,
    to: &mut broadcast::Receiver<Arc<Event>>,
    n: u32,
) -> Vec<Arc<Event>> {
    from.events.publish(marker(n));
    let mut before = Vec::new();
    loop {
        let event = tokio::time::timeout(WAIT, to.recv())
            .await
            .unwrap_or_else(|_| panic!("marker {n} did not arrive"))
            .expect("the bus is open");
        if is_marker(&event, n) {
            return before;
        }
        if !is_any_marker(&event) {
            before.push(event);
        }
    }
}

pub async fn insert_camera(db: &DatabaseConnection, camera_id: &str) -> camera::Model {
    camera::Entity::insert(fixtures::camera(camera_id, 0).into_active_model())
        .exec_with_returning(db)
        .await
        .expect("insert a camera")
}

pub async fn insert_employee(db: &DatabaseConnection, employee_id: &str) {
    fixtures::employee(employee_id)
        .into_active_model()
        .insert(db)
        .await
        .expect("insert an employee");
}
