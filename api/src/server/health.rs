//! `GET /healthz` (is the database answering?) and `GET /metrics` (Prometheus).

use std::fmt::Write as _;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    state::{ClientPeer, HttpState},
    viewer::{TokenQuery, viewer},
};

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
}

/// `GET /metrics` (Prometheus); a viewer or admin token in the header or `?token=`.
pub async fn metrics_text(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Err(response) = viewer(&state, peer, &headers, query.token.as_deref()).await {
        return response;
    }
    let mut text = crate::metrics::render(&state.app).await;
    connection_metrics(&mut text, &state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// How long `/healthz` waits for the database before it says 503.
pub const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /healthz`: 200 when the database answers within [`HEALTH_TIMEOUT`] and (in a
/// cluster) this node renews its leases, else 503; with this node's place in the cluster, and
/// why the camera folder was not synced if it was not. The database's error is shown only to
/// a caller with a valid token (it may name hosts and users); anonymous callers learn that
/// it is unavailable.
pub async fn healthz(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
) -> Response {
    let ping = tokio::time::timeout(HEALTH_TIMEOUT, state.app.db.ping())
        .await
        .unwrap_or_else(|_| {
            Err(sea_orm::DbErr::Custom(format!(
                "no answer within {HEALTH_TIMEOUT:?}"
            )))
        });
    let cluster = &state.app.cluster;
    let relay = state.app.relay.as_ref().map(|r| r.health());
    let renewing = cluster.renewing() && relay.as_ref().is_none_or(|r| r.healthy);
    let mut cluster_part = serde_json::json!({
        "node": cluster.identity.node_id,
        "leader": cluster.is_leader(),
        "leases": if cluster.renewing() { "renewed" } else { "not renewed" },
        "cameras": cluster.counters.cameras_held.load(std::sync::atomic::Ordering::Relaxed),
    });
    if let Some(relay) = &relay {
        cluster_part["listener"] = serde_json::json!(if relay.listener_up { "up" } else { "down" });
        if let Some(problem) = &relay.problem {
            cluster_part["problem"] = serde_json::json!(problem);
        }
    }
    let folder = state.app.folder_skipped.as_deref();
    match ping {
        Ok(()) if renewing => {
            let mut body = serde_json::json!({ "status": "ok", "version": crate::VERSION, "database": "ok", "cluster": cluster_part });
            if let Some(reason) = folder {
                body["camera_folder"] = serde_json::json!({ "synced": false, "reason": reason });
            }
            Json(body).into_response()
        }
        Ok(()) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "degraded",
                "version": crate::VERSION,
                "database": "ok",
                "cluster": cluster_part,
            })),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: the database does not answer");
            let ip = state.gate.client(peer, &headers);
            // Tokens are checked in the database, which may be the one not answering.
            let caller =
                tokio::time::timeout(HEALTH_TIMEOUT, state.gate.header(ip, &headers)).await;
            let detail = match caller {
                Ok(Ok(Some(_))) => Some(error.to_string()),
                _ => None,
            };
            let mut body = serde_json::json!({ "status": "degraded", "version": crate::VERSION, "database": "unavailable" });
            if let Some(detail) = detail {
                body["error"] = serde_json::Value::String(detail);
            }
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// The listener's and the gate's figures, for `/metrics`.
fn connection_metrics(out: &mut String, state: &HttpState) {
    use std::sync::atomic::Ordering::Relaxed;
    let c = &state.connections;
    let _ = writeln!(
        out,
        "# HELP hadir_http_connections Connections open now.\n# TYPE hadir_http_connections gauge\nhadir_http_connections {}\n\
         # HELP hadir_http_connections_total Connections accepted, and refused over max_connections.\n# TYPE hadir_http_connections_total counter\n\
         hadir_http_connections_total{{result=\"accepted\"}} {}\nhadir_http_connections_total{{result=\"refused\"}} {}\n\
         # HELP hadir_tls_handshake_failures_total TLS handshakes that failed or timed out.\n# TYPE hadir_tls_handshake_failures_total counter\nhadir_tls_handshake_failures_total {}\n\
         # HELP hadir_auth_failure_addresses Client addresses with failed authentications in the current minute.\n# TYPE hadir_auth_failure_addresses gauge\nhadir_auth_failure_addresses {}",
        c.open.load(Relaxed),
        c.accepted.load(Relaxed),
        c.refused.load(Relaxed),
        c.tls_failures.load(Relaxed),
        state.gate.tracked_addresses(),
    );
}
