//! `cameras`: one row per camera, from `camera_configs/*.json` or created through the API.

use sea_orm::entity::prelude::*;

/// `status` of a camera that delivers frames.
pub const STATUS_ONLINE: &str = "online";
/// `status` of a camera that delivers nothing (the default until its first frame).
pub const STATUS_OFFLINE: &str = "offline";

/// `source` of a camera synced from a file in `camera_configs/`.
pub const SOURCE_CONFIG_FILE: &str = "config_file";
/// `source` of a camera created through the API.
pub const SOURCE_API: &str = "api";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cameras")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub camera_id: String,
    pub camera_name: String,
    /// The stream: `rtsp://…`, `http(s)://…`, a local device such as `"0"`, or a file path.
    pub rtsp_url: String,
    /// `online` or `offline`.
    pub status: String,
    /// Whether the camera is delivering frames now (the seed's column).
    pub is_active: bool,
    /// Whether hadir should capture from it (false when its config file disappeared).
    pub enabled: bool,
    pub sample_fps: f64,
    /// `config_file` or `api`.
    pub source: String,
    /// The JSON file it came from, for `config_file` cameras.
    pub config_path: Option<String>,
    pub last_frame_at: Option<DateTimeUtc>,
    /// Why the camera is in its status, in words (an error from the stream, for example).
    pub status_message: Option<String>,
    pub status_changed_at: Option<DateTimeUtc>,
    /// Where faces are ignored: JSON `[[x1, y1, x2, y2], …]` in fractions of the picture
    /// (`NULL`: nowhere).
    #[sea_orm(column_type = "Text", nullable)]
    pub ignore_regions: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
