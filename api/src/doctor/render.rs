//! The two forms of a [`Report`]: text for people, one line per check
//! (`STATUS  SECTION  NAME: DETAIL  → FIX`), then a summary line; and JSON for scripts, whose
//! shape is documented in the README (`hadir doctor --json`):
//!
//! ```json
//! {"version": "0.1.0", "status": "ok|warn|fail", "summary": {"ok": 20, "warn": 1, "fail": 0},
//!  "checks": [{"section": "config|database|models|disk|cameras", "name": "…",
//!              "status": "ok|warn|fail", "detail": "…", "fix": "…" or null}],
//!  "cameras": [{"id": "…", "name": "…", "url": "…", "source": "…", "sample_fps": 1.0,
//!               "reached": "…", "codec": "…", "profile": "…", "width": 1280, "height": 720,
//!               "fps": 25.0, "gop_frames": 25, "key_frame_interval_secs": 1.0,
//!               "key_frames_only": true, "faces": 1, "status": "ok"}]}
//! ```

use serde_json::{Value, json};

use super::{Report, Status};

/// The text form.
pub fn text(report: &Report) -> String {
    let mut out = format!("hadir doctor {}\n", crate::VERSION);
    for check in &report.checks {
        out.push_str(&format!(
            "{:<4}  {:<8}  {}: {}",
            check.status.label(),
            check.section.name(),
            check.name,
            check.detail
        ));
        if let Some(fix) = &check.fix {
            out.push_str("  → ");
            out.push_str(fix);
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{}, {}, {}: {}\n",
        count(report.count(Status::Ok), "ok", "ok"),
        count(report.count(Status::Warn), "warning", "warnings"),
        count(report.count(Status::Fail), "failure", "failures"),
        match report.status() {
            Status::Ok => "all is well",
            Status::Warn => "it works; see the warnings",
            Status::Fail => "fix the failures (exit status 1)",
        }
    ));
    out
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The JSON form.
pub fn json(report: &Report) -> Value {
    json!({
        "version": crate::VERSION,
        "status": report.status(),
        "summary": {
            "ok": report.count(Status::Ok),
            "warn": report.count(Status::Warn),
            "fail": report.count(Status::Fail),
        },
        "checks": report.checks,
        "cameras": report.cameras,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Check, Section};

    fn report() -> Report {
        Report {
            checks: vec![
                Check::ok(Section::Config, "server", "valid"),
                Check::fail(Section::Cameras, "CAM1: codec", "H.265", "switch to H.264"),
            ],
            cameras: Vec::new(),
        }
    }

    #[test]
    fn the_text_form_is_one_line_per_check_and_a_summary() {
        let text = text(&report());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("hadir doctor "));
        assert_eq!(lines[1], "ok    config    server: valid");
        assert_eq!(
            lines[2],
            "FAIL  cameras   CAM1: codec: H.265  → switch to H.264"
        );
        assert_eq!(
            lines.last().copied(),
            Some("1 ok, 0 warnings, 1 failure: fix the failures (exit status 1)")
        );
    }

    #[test]
    fn the_json_form_has_the_documented_shape() {
        let value = json(&report());
        assert_eq!(value["status"], "fail");
        assert_eq!(value["summary"], json!({"ok": 1, "warn": 0, "fail": 1}));
        assert_eq!(value["checks"][1]["section"], "cameras");
        assert_eq!(value["checks"][1]["fix"], "switch to H.264");
        assert!(value["cameras"].as_array().unwrap().is_empty());
    }
}
