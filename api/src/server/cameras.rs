//! A camera's live frames over plain HTTP, for `<img>`: `snapshot.jpg` (the latest sampled
//! frame) and `live.mjpeg` (the frames as they come). Frames are encoded off the async
//! runtime and shared between viewers ([`crate::recognition::live::LiveEncoder`]).

use std::time::Duration;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    state::{ClientPeer, HttpState},
    viewer::{ingest_refused, viewer},
};
use crate::recognition::supervisor::NoFrame;

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/cameras/{id}/snapshot.jpg", get(camera_snapshot))
        .route("/cameras/{id}/live.mjpeg", get(camera_live))
}
use crate::auth::{Principal, Role};

/// The caller of an image route of `camera_id`: the header's token, else a grant for this
/// camera, else (where allowed) a token in the URL.
async fn camera_viewer(
    state: &HttpState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    query: &ImageQuery,
    camera_id: &str,
) -> Result<Principal, Response> {
    let Some(grant) = query
        .grant
        .as_deref()
        .filter(|_| !headers.contains_key(header::AUTHORIZATION))
    else {
        return viewer(state, peer, headers, query.token.as_deref()).await;
    };
    let ip = state.gate.client(peer, headers);
    if let Err(wait) = state.gate.check_address(ip) {
        return Err(super::gate::Refusal::TooManyFailures(wait).plain_response());
    }
    match state
        .app
        .grants
        .check(grant, camera_id, state.app.clock.now())
    {
        Ok(claims) if claims.role == Role::Ingest => Err(ingest_refused()),
        Ok(claims) => Ok(Principal {
            token_id: None,
            role: claims.role,
        }),
        Err(error) => {
            state.gate.record_failure(ip);
            Err(plain(StatusCode::UNAUTHORIZED, format!("{error}\n")))
        }
    }
}

/// The multipart boundary of `live.mjpeg`.
pub const MJPEG_BOUNDARY: &str = "hadirframe";
/// Frames per second of `live.mjpeg` when none is asked for, and the most it sends.
pub const MAX_LIVE_FPS: f64 = 30.0;
/// The fewest frames per second `live.mjpeg` may be asked for.
pub const MIN_LIVE_FPS: f64 = 0.1;

/// The query of the camera image routes.
#[derive(serde::Deserialize)]
pub struct ImageQuery {
    /// A grant from the camera's `liveUrl`/`snapshotUrl` (for `<img src>`, where no header
    /// can be set).
    pub grant: Option<String>,
    /// A bearer token, where `query_token` allows one in URLs.
    pub token: Option<String>,
    pub width: Option<u32>,
    #[serde(default)]
    pub annotate: bool,
    /// Frames per second at most (live stream).
    pub fps: Option<f64>,
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

async fn known_camera(state: &HttpState, id: &str) -> Result<(), Response> {
    match state.app.cameras.get(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(plain(
            StatusCode::NOT_FOUND,
            format!("camera {id:?} does not exist\n"),
        )),
        Err(_) => Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable\n".into(),
        )),
    }
}

/// The caller may watch camera `id`, and it exists.
async fn watched_camera(
    state: &HttpState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    query: &ImageQuery,
    id: &str,
) -> Result<(), Response> {
    camera_viewer(state, peer, headers, query, id).await?;
    known_camera(state, id).await
}

/// `GET /cameras/{id}/snapshot.jpg`: the camera's latest sampled frame.
pub async fn camera_snapshot(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<ImageQuery>,
) -> Response {
    if let Err(response) = watched_camera(&state, peer, &headers, &query, &id).await {
        return response;
    }
    let frame = match state.app.live_cameras.latest_anywhere(&id).await {
        Ok(frame) => frame,
        Err(error @ NoFrame::NotYet(_)) => {
            return plain(StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n"));
        }
        // The node reading the camera cannot be reached (or none reads it): 502, naming it.
        Err(error @ NoFrame::Proxy(_)) => {
            return plain(StatusCode::BAD_GATEWAY, format!("{error}\n"));
        }
    };
    match state
        .app
        .live_encoder
        .jpeg(&frame, query.width, query.annotate)
        .await
    {
        Ok(encoded) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            encoded.jpeg,
        )
            .into_response(),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the frame: {e}\n"),
        ),
    }
}

/// The gap between frames of `live.mjpeg` for `fps` (None: [`MAX_LIVE_FPS`]); an error for
/// a value that is not a number of frames per second.
pub fn live_gap(fps: Option<f64>) -> Result<Duration, String> {
    let fps = fps.unwrap_or(MAX_LIVE_FPS);
    if !fps.is_finite() || fps <= 0.0 {
        return Err(format!(
            "fps: {fps} is not a frame rate; ask for {MIN_LIVE_FPS} to {MAX_LIVE_FPS}\n"
        ));
    }
    Ok(Duration::from_secs_f64(
        1.0 / fps.clamp(MIN_LIVE_FPS, MAX_LIVE_FPS),
    ))
}

/// `GET /cameras/{id}/live.mjpeg`: the camera's sampled frames as an MJPEG stream that an
/// `<img>` shows.
pub async fn camera_live(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<ImageQuery>,
) -> Response {
    if let Err(response) = watched_camera(&state, peer, &headers, &query, &id).await {
        return response;
    }
    let min_gap = match live_gap(query.fps) {
        Ok(gap) => gap,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let receiver = state.app.live_cameras.watch_live(&id);
    let encoder = state.app.live_encoder.clone();
    let (width, annotate) = (query.width, query.annotate);
    let parts = futures_util::stream::unfold(
        (receiver, None::<tokio::time::Instant>, true),
        move |(mut receiver, mut last, first)| {
            let encoder = encoder.clone();
            async move {
                loop {
                    if !first && receiver.changed().await.is_err() {
                        return None;
                    }
                    if let Some(at) = last {
                        tokio::time::sleep_until(at + min_gap).await;
                    }
                    let Some(frame) = receiver.borrow_and_update().clone() else {
                        // Nothing yet: wait for the first frame.
                        if receiver.changed().await.is_err() {
                            return None;
                        }
                        continue;
                    };
                    let Ok(encoded) = encoder.jpeg(&frame, width, annotate).await else {
                        continue;
                    };
                    last = Some(tokio::time::Instant::now());
                    let mut part = format!(
                        "--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                        encoded.jpeg.len()
                    )
                    .into_bytes();
                    part.extend_from_slice(&encoded.jpeg);
                    part.extend_from_slice(b"\r\n");
                    return Some((
                        Ok::<_, std::convert::Infallible>(part),
                        (receiver, last, false),
                    ));
                }
            }
        },
    );
    (
        [
            (
                header::CONTENT_TYPE,
                format!("multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}"),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        axum::body::Body::from_stream(parts),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_must_be_numbers() {
        assert_eq!(live_gap(None).unwrap(), Duration::from_secs_f64(1.0 / 30.0));
        assert_eq!(live_gap(Some(1.0)).unwrap(), Duration::from_secs(1));
        assert_eq!(
            live_gap(Some(1000.0)).unwrap(),
            Duration::from_secs_f64(1.0 / 30.0)
        );
        assert_eq!(live_gap(Some(0.001)).unwrap(), Duration::from_secs(10));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -1.0] {
            assert!(live_gap(Some(bad)).is_err(), "{bad}");
        }
    }
}
