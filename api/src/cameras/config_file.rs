//! One camera file: `{"id": "CAM1", "name": "Lobby", "rtsp_url": "rtsp://…", "fps": 1}`.
//!
//! Keys (`camera_configs/README.md` documents them for operators):
//! - `id` (or `camera_id`): required, 1–64 of `A-Z a-z 0-9 . _ -`.
//! - `name` (or `camera_name`): required.
//! - `rtsp_url` (or `stream_url`): required: `rtsp://…`, `http(s)://…`, `file://…` or `"0"`.
//! - `fps`: optional sampling rate, default [`DEFAULT_SAMPLE_FPS`].
//! - `enabled`: optional, default true; false keeps the camera listed but not captured.
//! - `ignore_regions`: optional, `[[x1, y1, x2, y2], …]` in fractions of the picture where
//!   faces are ignored (see [`super::regions`]).
//! - `node`: optional, the cluster node that alone reads the camera. A webcam or a file is
//!   always read only by the node whose folder declares it (its file is there); a network
//!   camera with no `node` moves between nodes.
//!
//! Any other key is an error: a misspelt key must not be ignored silently.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::validate;

use super::regions::{self, Region};

/// Frames sampled per second when a camera does not say.
pub const DEFAULT_SAMPLE_FPS: f64 = 1.0;
/// Largest camera file read (a camera file is a few hundred bytes).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// A camera as its file defines it, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraFile {
    pub path: PathBuf,
    pub id: String,
    pub name: String,
    pub stream_url: String,
    pub fps: f64,
    pub enabled: bool,
    pub ignore_regions: Vec<Region>,
    /// The node that alone reads it, as the file says (None: the file does not say).
    pub node: Option<String>,
}

impl CameraFile {
    /// The node that alone may read this camera when `this_node` syncs the file: the one the
    /// file names, else this node for a webcam or a file (readable only here), else none.
    pub fn pinned_node(&self, this_node: &str) -> Option<String> {
        match &self.node {
            Some(node) => Some(node.clone()),
            None if !vision::source::is_network(&self.stream_url) => Some(this_node.to_owned()),
            None => None,
        }
    }
}

/// A camera file that cannot be used: the file, the field (where one is at fault), and why.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}: {}{reason}", path.display(), field.as_ref().map(|f| format!("field {f:?}: ")).unwrap_or_default())]
pub struct CameraFileError {
    pub path: PathBuf,
    pub field: Option<String>,
    pub reason: String,
}

impl CameraFileError {
    fn new(path: &Path, field: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            field: field.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

const ID_KEYS: [&str; 2] = ["id", "camera_id"];
const NAME_KEYS: [&str; 2] = ["name", "camera_name"];
const URL_KEYS: [&str; 2] = ["rtsp_url", "stream_url"];
const KNOWN_KEYS: [&str; 10] = [
    "id",
    "camera_id",
    "name",
    "camera_name",
    "rtsp_url",
    "stream_url",
    "fps",
    "enabled",
    "ignore_regions",
    "node",
];

/// Reads and checks one camera file. At most [`MAX_FILE_BYTES`] are read, whatever the
/// file claims or turns out to be (a link to `/dev/zero`, a file growing as it is read).
pub fn read(path: &Path) -> Result<CameraFile, CameraFileError> {
    use std::io::Read;
    let cannot = |e: std::io::Error| CameraFileError::new(path, None, format!("cannot read: {e}"));
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    let too_large = |size: String| {
        CameraFileError::new(
            path,
            None,
            format!("{size} bytes is too large for a camera file (at most {MAX_FILE_BYTES})"),
        )
    };
    if size > MAX_FILE_BYTES {
        return Err(too_large(size.to_string()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(format!("more than {MAX_FILE_BYTES}")));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| CameraFileError::new(path, None, format!("not UTF-8 text: {e}")))?;
    parse(path, &text)
}

/// Checks the text of a camera file (`path` is used in errors only).
pub fn parse(path: &Path, text: &str) -> Result<CameraFile, CameraFileError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CameraFileError::new(path, None, format!("not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(CameraFileError::new(
            path,
            None,
            "expected one JSON object such as {\"id\": \"CAM1\", \"name\": \"Lobby\", \"rtsp_url\": \"rtsp://…\"}",
        ));
    };
    if let Some(unknown) = object.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(CameraFileError::new(
            path,
            Some(unknown),
            format!("unknown key; the keys are {}", KNOWN_KEYS.join(", ")),
        ));
    }
    let field_error = |field: &str, e: crate::error::AppError| {
        let reason = match e {
            crate::error::AppError::InvalidInput { reason, .. } => reason,
            other => other.to_string(),
        };
        CameraFileError::new(path, Some(field), reason)
    };
    let (id_key, id) = required_string(path, &object, &ID_KEYS)?;
    let id = validate::identifier(id_key, &id).map_err(|e| field_error(id_key, e))?;
    let (name_key, name) = required_string(path, &object, &NAME_KEYS)?;
    let name = validate::required_text(name_key, &name, validate::MAX_NAME_CHARS)
        .map_err(|e| field_error(name_key, e))?;
    let (url_key, url) = required_string(path, &object, &URL_KEYS)?;
    let stream_url = validate::stream_url(url_key, &url).map_err(|e| field_error(url_key, e))?;
    let fps = match object.get("fps") {
        None | Some(Value::Null) => DEFAULT_SAMPLE_FPS,
        Some(Value::Number(n)) => {
            let fps = n.as_f64().unwrap_or(f64::NAN);
            validate::sample_fps("fps", fps).map_err(|e| field_error("fps", e))?
        }
        Some(other) => {
            return Err(CameraFileError::new(
                path,
                Some("fps"),
                format!("expected a number of frames per second, found {other}"),
            ));
        }
    };
    let enabled = match object.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(CameraFileError::new(
                path,
                Some("enabled"),
                format!("expected true or false, found {other}"),
            ));
        }
    };
    let ignore_regions = match object.get("ignore_regions") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => {
            let numbers: Vec<Vec<f64>> = serde_json::from_value(value.clone()).map_err(|_| {
                CameraFileError::new(
                    path,
                    Some("ignore_regions"),
                    format!("expected [[x1, y1, x2, y2], …], found {value}"),
                )
            })?;
            regions::check("ignore_regions", &numbers)
                .map_err(|e| field_error("ignore_regions", e))?
        }
    };
    let node = match object.get("node") {
        None | Some(Value::Null) => None,
        Some(Value::String(node)) => {
            Some(validate::identifier("node", node).map_err(|e| field_error("node", e))?)
        }
        Some(other) => {
            return Err(CameraFileError::new(
                path,
                Some("node"),
                format!("expected a node id, found {other}"),
            ));
        }
    };
    Ok(CameraFile {
        path: path.to_path_buf(),
        id,
        name,
        stream_url,
        fps,
        enabled,
        ignore_regions,
        node,
    })
}

/// The one string under one of `keys` (aliases of one field).
fn required_string<'k>(
    path: &Path,
    object: &Map<String, Value>,
    keys: &[&'k str],
) -> Result<(&'k str, String), CameraFileError> {
    let present: Vec<&'k str> = keys
        .iter()
        .copied()
        .filter(|k| object.contains_key(*k))
        .collect();
    match present.as_slice() {
        [] => Err(CameraFileError::new(path, Some(keys[0]), "is missing")),
        [key] => match &object[*key] {
            Value::String(s) => Ok((key, s.clone())),
            other => Err(CameraFileError::new(
                path,
                Some(key),
                format!("expected a string, found {other}"),
            )),
        },
        many => Err(CameraFileError::new(
            path,
            Some(many[1]),
            format!("give either {:?} or {:?}, not both", many[0], many[1]),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<CameraFile, CameraFileError> {
        parse(Path::new("camera_configs/lobby.json"), text)
    }

    #[test]
    fn the_seed_format_loads() {
        let camera = parse_text(
            r#"{"id": "CAM1", "name": "Lobby", "rtsp_url": "rtsp://u:p@10.0.0.5/s1", "fps": 2}"#,
        )
        .unwrap();
        assert_eq!(camera.id, "CAM1");
        assert_eq!(camera.name, "Lobby");
        assert_eq!(camera.stream_url, "rtsp://u:p@10.0.0.5/s1");
        assert_eq!(camera.fps, 2.0);
        assert!(camera.enabled);
        let camera =
            parse_text(r#"{"camera_id": "CAM2", "camera_name": "Gate", "stream_url": "0"}"#)
                .unwrap();
        assert_eq!(camera.fps, DEFAULT_SAMPLE_FPS);
        assert!(camera.ignore_regions.is_empty());
    }

    #[test]
    fn ignore_regions_are_read_and_checked() {
        let camera = parse_text(
            r#"{"id": "CAM1", "name": "Lobby", "rtsp_url": "0", "ignore_regions": [[0.75, 0, 1, 0.4]]}"#,
        )
        .unwrap();
        assert_eq!(camera.ignore_regions[0].to_array(), [0.75, 0.0, 1.0, 0.4]);
        for (regions, why) in [
            (r#""top""#, "expected [[x1, y1, x2, y2]"),
            ("[[0.75, 0, 1]]", "is not [x1, y1, x2, y2]"),
            ("[[0, 0, 2, 1]]", "from 0 to 1"),
        ] {
            let error = parse_text(&format!(
                r#"{{"id": "CAM1", "name": "Lobby", "rtsp_url": "0", "ignore_regions": {regions}}}"#
            ))
            .unwrap_err();
            assert_eq!(error.field.as_deref(), Some("ignore_regions"), "{error}");
            assert!(error.reason.contains(why), "{error}");
        }
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let cases = [
            (r#"{"id": "CAM1", "name": "Lobby""#, None, "not valid JSON"),
            (r#"[1]"#, None, "one JSON object"),
            (
                r#"{"name": "Lobby", "rtsp_url": "0"}"#,
                Some("id"),
                "missing",
            ),
            (
                r#"{"id": 7, "name": "Lobby", "rtsp_url": "0"}"#,
                Some("id"),
                "string",
            ),
            (
                r#"{"id": "CAM1", "name": " ", "rtsp_url": "0"}"#,
                Some("name"),
                "empty",
            ),
            (
                r#"{"id": "CAM1", "name": "L", "rtsp_url": "ftp://x/y"}"#,
                Some("rtsp_url"),
                "scheme",
            ),
            (
                r#"{"id": "CAM1", "name": "L", "rtsp_url": "0", "fps": "fast"}"#,
                Some("fps"),
                "number",
            ),
            (
                r#"{"id": "CAM1", "name": "L", "rtsp_url": "0", "fps": 0}"#,
                Some("fps"),
                "rate",
            ),
            (
                r#"{"id": "CAM1", "name": "L", "rtsp_url": "0", "fsp": 1}"#,
                Some("fsp"),
                "unknown key",
            ),
            (
                r#"{"id": "CAM1", "camera_id": "CAM2", "name": "L", "rtsp_url": "0"}"#,
                Some("camera_id"),
                "not both",
            ),
        ];
        for (text, field, reason) in cases {
            let error = parse_text(text).unwrap_err();
            assert_eq!(error.field.as_deref(), field, "{text}");
            let message = error.to_string();
            assert!(
                message.starts_with("camera_configs/lobby.json: "),
                "{message}"
            );
            assert!(message.contains(reason), "{message}");
            if let Some(field) = field {
                assert!(message.contains(&format!("field {field:?}")), "{message}");
            }
        }
    }
}
