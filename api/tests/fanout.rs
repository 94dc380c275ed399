//! Shared subscriptions: the same selection for the same role runs once, whoever asks.

mod common;

use std::{sync::Arc, time::Duration};

use api::{
    auth::{Principal, Role},
    clock::SystemClock,
    config::Config,
    db,
    graphql::{
        self,
        fanout::{SharedOutput, SubscriptionHub},
    },
    state::AppState,
};
use common::{Backend, TestDb};
use serde_json::json;

#[tokio::test]
async fn one_execution_per_selection_and_role() {
    let test_db = TestDb::create(Backend::Sqlite, "one_execution_per_selection_and_role").unwrap();
    let database = db::connect_and_migrate(&test_db.url).await.unwrap();
    let config = Config::default();
    let faces = api::faces::FaceService::open(
        database.clone(),
        api::faces::FaceSettings::from_settings(&config.recognition).unwrap(),
    )
    .await
    .unwrap();
    let cluster =
        api::cluster::membership::Cluster::single(api::cluster::identity::local(&config.cluster));
    let app = AppState::new(
        config.clone(),
        database,
        Arc::new(SystemClock),
        faces,
        cluster,
    );
    let hub = SubscriptionHub::new(graphql::build_schema(app.clone(), &config.server));
    let viewer = Principal {
        token_id: Some(1),
        role: Role::Viewer,
    };
    let other_viewer = Principal {
        token_id: Some(2),
        role: Role::Viewer,
    };
    let admin = Principal {
        token_id: None,
        role: Role::Admin,
    };
    let query = "subscription { presenceSummaryChanged { present total } }".to_owned();

    let mut a = hub.subscribe(&viewer, query.clone(), json!({}), None);
    let mut b = hub.subscribe(&other_viewer, query.clone(), json!({}), None);
    assert_eq!(hub.running(), 1, "two viewers share one execution");
    let c = hub.subscribe(&admin, query.clone(), json!({}), None);
    assert_eq!(hub.running(), 2, "another role gets its own");
    let d = hub.subscribe(&viewer, query.clone(), json!({ "unused": 1 }), None);
    assert_eq!(hub.running(), 3, "other variables get their own");

    // Let the executions subscribe to the bus, then publish through a real service.
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.employees
        .create(api::employees::NewEmployee {
            employee_id: "E1".into(),
            name: "Ann".into(),
            department: None,
            role: None,
            demo: false,
        })
        .await
        .unwrap();
    let mut frames = Vec::new();
    for subscriber in [&mut a, &mut b] {
        let frame = tokio::time::timeout(Duration::from_secs(5), subscriber.frames.recv())
            .await
            .unwrap()
            .unwrap();
        frames.push(frame.clone());
        let SharedOutput::Next(payload) = &*frame else {
            panic!("a result expected, got {frame:?}")
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(payload).unwrap(),
            json!({ "data": { "presenceSummaryChanged": { "present": 0, "total": 1 } } })
        );
    }
    assert!(
        Arc::ptr_eq(&frames[0], &frames[1]),
        "both got the very same serialised result"
    );
    drop((a, b, c, d));
    assert_eq!(
        hub.running(),
        0,
        "executions stop with their last subscriber"
    );
}
