//! `GET /internal/cameras/{id}/frames`: the frames of a camera this node reads, for the other
//! nodes of the cluster (their live views of it, [`crate::cluster::proxy`]). Signed with the
//! cluster's key ([`crate::cluster::signing`]), not with an API token; 404 on a cluster of
//! one, 409 when this node does not read the camera (it moved: the caller looks it up again).
//!
//! The body is multipart: before each full-size JPEG a JSON part with its capture time and
//! faces ([`crate::cluster::proxy::FrameMeta`]).

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::state::HttpState;
use crate::cluster::{
    proxy::{FrameMeta, frames_path},
    signing::{SIGNATURE_HEADER, TIME_HEADER},
};

/// The boundary of the frames' multipart body.
pub const BOUNDARY: &str = "hadirnode";

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new().route("/internal/cameras/{id}/frames", get(frames))
}

async fn frames(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(key) = state.app.node_key.as_ref() else {
        return (
            StatusCode::NOT_FOUND,
            "no cluster: one node serves everything\n",
        )
            .into_response();
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(error) = key.verify(
        "GET",
        &frames_path(&id),
        header(TIME_HEADER),
        header(SIGNATURE_HEADER),
        chrono::Utc::now(),
    ) {
        return (StatusCode::UNAUTHORIZED, format!("{error}\n")).into_response();
    }
    if !state.app.live_cameras.reads(&id) {
        return (
            StatusCode::CONFLICT,
            format!(
                "camera {id:?} is not read by node {}\n",
                state.app.cluster.identity.node_id
            ),
        )
            .into_response();
    }
    let receiver = state.app.live_cameras.watch_live(&id);
    let encoder = state.app.live_encoder.clone();
    let parts = futures_util::stream::unfold((receiver, true), move |(mut receiver, first)| {
        let encoder = encoder.clone();
        async move {
            loop {
                if !first && receiver.changed().await.is_err() {
                    return None;
                }
                let Some(frame) = receiver.borrow_and_update().clone() else {
                    if receiver.changed().await.is_err() {
                        return None;
                    }
                    continue;
                };
                let Ok(encoded) = encoder.jpeg(&frame, None, false).await else {
                    continue;
                };
                let meta = serde_json::to_vec(&FrameMeta::of(&frame)).unwrap_or_default();
                let mut body = Vec::with_capacity(meta.len() + encoded.jpeg.len() + 200);
                for (kind, bytes) in [
                    ("application/json", &meta[..]),
                    ("image/jpeg", &encoded.jpeg[..]),
                ] {
                    body.extend_from_slice(
                        format!(
                            "--{BOUNDARY}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
                            bytes.len()
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(bytes);
                    body.extend_from_slice(b"\r\n");
                }
                return Some((Ok::<_, std::convert::Infallible>(body), (receiver, false)));
            }
        }
    });
    (
        [
            (
                header::CONTENT_TYPE,
                format!("multipart/mixed; boundary={BOUNDARY}"),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        axum::body::Body::from_stream(parts),
    )
        .into_response()
}
