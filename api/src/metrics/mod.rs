//! `GET /metrics`: the Prometheus text format. Per camera: frames received, processed and
//! dropped, reconnects, status; recognition time per frame (histogram); faces, recognitions
//! and unknown faces. Plus WebSocket event subscribers, enrolled embeddings, and the MQTT and
//! webhook deliveries where those are configured.
//!
//! - [`integrations`]: the counters the MQTT and webhook tasks keep.
//! - [`cluster`](mod@cluster): this node in the cluster: its id, leases, leadership, clock.
//!
//! In a cluster, per-camera counters cover the cameras this node reads now, and gauges read
//! from the database (`hadir_camera_online`) come from the leader only, so that a sum over
//! the nodes counts each camera once.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering},
};

use entity::camera;
use sea_orm::EntityTrait;

use crate::{
    recognition::counters::{CameraCounters, INFERENCE_BUCKETS},
    state::AppState,
};

pub mod cluster;
pub mod integrations;

fn integration_metrics(out: &mut String, app: &AppState) {
    let c = &app.integrations;
    let load = |v: &AtomicU64| v.load(Ordering::Relaxed);
    if app.config.mqtt.url.is_some() {
        let _ = writeln!(
            out,
            "# HELP hadir_mqtt_connected Whether the MQTT broker is connected (1) or not (0).\n# TYPE hadir_mqtt_connected gauge\nhadir_mqtt_connected {}",
            u8::from(c.mqtt_connected.load(Ordering::Relaxed))
        );
        let _ = writeln!(
            out,
            "# HELP hadir_mqtt_messages_total MQTT messages published, and dropped while the broker was away.\n# TYPE hadir_mqtt_messages_total counter\nhadir_mqtt_messages_total{{result=\"published\"}} {}\nhadir_mqtt_messages_total{{result=\"dropped\"}} {}",
            load(&c.mqtt_published),
            load(&c.mqtt_dropped)
        );
    }
    if !app.config.webhooks.is_empty() {
        let _ = writeln!(
            out,
            "# HELP hadir_webhook_deliveries_total Webhook deliveries accepted, attempts retried, deliveries dropped.\n# TYPE hadir_webhook_deliveries_total counter\nhadir_webhook_deliveries_total{{result=\"delivered\"}} {}\nhadir_webhook_deliveries_total{{result=\"retried\"}} {}\nhadir_webhook_deliveries_total{{result=\"dropped\"}} {}",
            load(&c.webhook_delivered),
            load(&c.webhook_retried),
            load(&c.webhook_dropped)
        );
    }
}

/// Renders every metric.
pub async fn render(app: &AppState) -> String {
    let mut out = String::new();
    let counters = app.live_cameras.all_counters();
    let counter =
        |out: &mut String, name: &str, help: &str, pick: &dyn Fn(&CameraCounters) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (id, c) in &counters {
                let _ = writeln!(out, "{name}{{camera=\"{}\"}} {}", escape(id), pick(c));
            }
        };
    counter(
        &mut out,
        "hadir_camera_frames_total",
        "Frames delivered by the camera's source.",
        &|c| c.frames.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_camera_frames_processed_total",
        "Frames recognition ran on.",
        &|c| c.processed.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_camera_frames_dropped_total",
        "Frames replaced by a newer one before recognition (latest wins).",
        &|c| c.dropped.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_camera_frames_unchanged_total",
        "Frames not looked at: nothing changed since the last (motion gating).",
        &|c| c.unchanged.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_camera_reconnects_total",
        "Times the camera's stream failed and was reopened.",
        &|c| c.reconnects.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_faces_total",
        "Faces found on processed frames.",
        &|c| c.faces.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_recognitions_total",
        "Views of faces that confirmed a track's employee (each refreshes presence).",
        &|c| c.recognitions.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_unknown_faces_total",
        "Face tracks nobody enrolled matched (one per track).",
        &|c| c.unknown_faces.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_camera_inferences_total",
        "Model runs: a detector pass per frame looked at, an embedding per face embedded (not faces a recognised track already knows).",
        &|c| c.inferences.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "hadir_camera_looked_more_total",
        "Times the camera was sampled faster for a while (look_more_fps for look_more_secs): a new face whose track was not yet decided.",
        &|c| c.looked_more.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        out,
        "# HELP hadir_camera_tracks_live Face tracks live at the camera now.\n# TYPE hadir_camera_tracks_live gauge"
    );
    for (id, c) in &counters {
        let _ = writeln!(
            out,
            "hadir_camera_tracks_live{{camera=\"{}\"}} {}",
            escape(id),
            c.live_tracks.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP hadir_camera_tracks_total Face tracks ended, by outcome: taken for an employee, or nobody matched.\n# TYPE hadir_camera_tracks_total counter"
    );
    for (id, c) in &counters {
        for (outcome, value) in [
            ("recognised", &c.tracks_recognised),
            ("unknown", &c.tracks_unknown),
        ] {
            let _ = writeln!(
                out,
                "hadir_camera_tracks_total{{camera=\"{}\",outcome=\"{outcome}\"}} {}",
                escape(id),
                value.load(Ordering::Relaxed)
            );
        }
    }
    counter(
        &mut out,
        "hadir_ignored_faces_total",
        "Faces in the camera's ignore regions (posters, TVs), not looked at further.",
        &|c| c.ignored_faces.load(Ordering::Relaxed),
    );

    let _ = writeln!(
        out,
        "# HELP hadir_recognition_seconds Time to detect, align, embed and match one frame.\n# TYPE hadir_recognition_seconds histogram"
    );
    for (id, c) in &counters {
        let id = escape(id);
        for (bucket, bound) in c.inference_buckets.iter().zip(INFERENCE_BUCKETS) {
            let _ = writeln!(
                out,
                "hadir_recognition_seconds_bucket{{camera=\"{id}\",le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = c.inference_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "hadir_recognition_seconds_bucket{{camera=\"{id}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "hadir_recognition_seconds_sum{{camera=\"{id}\"}} {}",
            c.inference_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "hadir_recognition_seconds_count{{camera=\"{id}\"}} {count}"
        );
    }

    let _ = writeln!(
        out,
        "# HELP hadir_camera_online Whether the camera delivers frames (1) or not (0).\n# TYPE hadir_camera_online gauge"
    );
    if app.cluster.is_leader()
        && let Ok(cameras) = camera::Entity::find().all(&app.db).await
    {
        for c in cameras {
            let online = u8::from(c.status == camera::CameraStatus::Online);
            let _ = writeln!(
                out,
                "hadir_camera_online{{camera=\"{}\"}} {online}",
                escape(&c.camera_id)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP hadir_enrolled_embeddings Face embeddings in the gallery.\n# TYPE hadir_enrolled_embeddings gauge\nhadir_enrolled_embeddings {}",
        app.faces.gallery_size()
    );
    let _ = writeln!(
        out,
        "# HELP hadir_event_subscribers Receivers of the event bus (shared subscriptions and tasks).\n# TYPE hadir_event_subscribers gauge\nhadir_event_subscribers {}",
        app.events.subscriber_count()
    );
    integration_metrics(&mut out, app);
    cluster::render(&mut out, &app.cluster);
    if let Some(relay) = &app.relay {
        out.push_str(&relay.render_metrics());
    }
    out
}

/// A label value as the text format wants it.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
