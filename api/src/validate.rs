//! Checks on what users and files hand in: identifiers, names, URLs, rates. Each failure
//! names the field at fault.

use crate::error::{AppError, AppResult};

/// Longest identifier (employee and camera ids).
pub const MAX_ID_CHARS: usize = 64;
/// Longest name, department or role.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest stream URL.
pub const MAX_URL_CHARS: usize = 2_048;
/// Highest sampling rate a camera may ask for, in frames per second.
pub const MAX_SAMPLE_FPS: f64 = 30.0;

/// An identifier: 1 to 64 of `A-Z a-z 0-9 . _ -`, trimmed.
pub fn identifier(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(AppError::invalid(
            field,
            format!("must be at most {MAX_ID_CHARS} characters"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(AppError::invalid(
            field,
            format!("{bad:?} is not allowed (use letters, digits, '.', '_' and '-')"),
        ));
    }
    Ok(value.to_owned())
}

/// A required line of text: trimmed, not empty, at most `max` characters, no control
/// characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    line_of_text(field, value, max)
}

/// An optional line of text; blank means none.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => line_of_text(field, value, max).map(Some),
    }
}

fn line_of_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// A camera stream: `rtsp://` or `rtsps://` (IP cameras), `http://` or `https://` (MJPEG or
/// JPEG snapshots), a local device number such as `"0"` or a `/dev/video…` path, or a
/// `file://` URL (recordings, tests).
pub fn stream_url(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > MAX_URL_CHARS {
        return Err(AppError::invalid(
            field,
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    if value.chars().all(|c| c.is_ascii_digit()) || value.starts_with("/dev/video") {
        return Ok(value.to_owned());
    }
    let parsed = url::Url::parse(value).map_err(|e| {
        AppError::invalid(
            field,
            format!(
                "{:?} is not a stream URL ({e}); expected rtsp://…, http(s)://…, file://… \
                 or a webcam number such as \"0\"",
                crate::redact::url_for_logs(value)
            ),
        )
    })?;
    match parsed.scheme() {
        "rtsp" | "rtsps" | "http" | "https" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(AppError::invalid(
                    field,
                    format!("{:?} names no host", crate::redact::url_for_logs(value)),
                ));
            }
        }
        "file" => {}
        other => {
            return Err(AppError::invalid(
                field,
                format!(
                    "scheme {other:?} is not supported; expected rtsp, rtsps, http, https or file"
                ),
            ));
        }
    }
    Ok(value.to_owned())
}

/// A sampling rate: more than 0 and at most [`MAX_SAMPLE_FPS`] frames per second.
pub fn sample_fps(field: &str, value: f64) -> AppResult<f64> {
    if !value.is_finite() || value <= 0.0 || value > MAX_SAMPLE_FPS {
        return Err(AppError::invalid(
            field,
            format!(
                "{value} is not a rate between 0 (excluded) and {MAX_SAMPLE_FPS} frames per second"
            ),
        ));
    }
    Ok(value)
}

/// A setting (of `hadir.toml` or the environment) that cannot be used: its key, as
/// `section.key`, and why. The configuration's own error adds the key's flat alias.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("setting {key}: {reason}")]
pub struct InvalidSetting {
    pub key: &'static str,
    pub reason: String,
}

impl InvalidSetting {
    pub fn new(key: &'static str, reason: impl Into<String>) -> Self {
        Self {
            key,
            reason: reason.into(),
        }
    }
}

/// Settings that must be greater than 0, as `(key, value)`: the first at 0 is named.
pub fn positive_settings(values: &[(&'static str, u64)]) -> Result<(), InvalidSetting> {
    match values.iter().find(|(_, value)| *value == 0) {
        Some((key, _)) => Err(InvalidSetting::new(key, "must be greater than 0")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_trimmed_and_checked() {
        assert_eq!(identifier("id", " CAM1 ").unwrap(), "CAM1");
        assert!(identifier("id", "").is_err());
        assert!(identifier("id", "a b").is_err());
        assert!(identifier("id", &"x".repeat(65)).is_err());
        let error = identifier("employeeId", "é").unwrap_err().to_string();
        assert!(error.starts_with("employeeId:"), "{error}");
    }

    #[test]
    fn texts_refuse_blank_long_and_control() {
        assert_eq!(required_text("name", " Ann ", 10).unwrap(), "Ann");
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "a\nb", 10).is_err());
        assert!(required_text("name", &"a".repeat(11), 10).is_err());
        assert_eq!(optional_text("role", Some("  "), 10).unwrap(), None);
        assert_eq!(optional_text("role", None, 10).unwrap(), None);
    }

    #[test]
    fn stream_urls_of_every_supported_kind() {
        for ok in [
            "rtsp://user:pw@10.0.0.5:554/stream1",
            "http://cam.local/mjpeg",
            "https://cam.local/snapshot.jpg",
            "0",
            "/dev/video2",
            "file:///srv/replay.mp4",
        ] {
            assert_eq!(stream_url("rtsp_url", ok).unwrap(), ok);
        }
        for bad in ["", "ftp://x/y", "rtsp://", "lobby camera"] {
            assert!(stream_url("rtsp_url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_show_no_credentials() {
        let error = stream_url("rtsp_url", "rtsp://admin:s3cret@/path")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn rates_are_bounded() {
        assert!(sample_fps("fps", 1.0).is_ok());
        assert!(sample_fps("fps", 0.0).is_err());
        assert!(sample_fps("fps", f64::NAN).is_err());
        assert!(sample_fps("fps", 31.0).is_err());
    }
}
