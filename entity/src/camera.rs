//! `cameras`: one row per camera, from `camera_configs/*.json` or created through the API.

use std::fmt;

use sea_orm::entity::prelude::*;

/// Whether a camera delivers frames: the `status` column (`VARCHAR(16)`, lower case).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CameraStatus {
    /// It delivers frames.
    #[sea_orm(string_value = "online")]
    Online,
    /// It delivers nothing (the default until its first frame).
    #[sea_orm(string_value = "offline")]
    Offline,
}

impl CameraStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }
}

impl fmt::Display for CameraStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a camera is defined: the `source` column (`VARCHAR(16)`, lower case).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CameraSource {
    /// Synced from a file in `camera_configs/`.
    #[sea_orm(string_value = "config_file")]
    ConfigFile,
    /// Created through the API.
    #[sea_orm(string_value = "api")]
    Api,
}

impl CameraSource {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigFile => "config_file",
            Self::Api => "api",
        }
    }
}

impl fmt::Display for CameraSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cameras")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub camera_id: String,
    pub camera_name: String,
    /// The stream: `rtsp://…`, `http(s)://…`, a local device such as `"0"`, or a file path.
    pub rtsp_url: String,
    pub status: CameraStatus,
    /// Whether the camera is delivering frames now (the seed's column).
    pub is_active: bool,
    /// Whether hadir should capture from it (false when its config file disappeared).
    pub enabled: bool,
    pub sample_fps: f64,
    pub source: CameraSource,
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
    /// Grows by one at every write that changes `status` (a node told a status twice delivers
    /// only what is newer).
    pub status_version: i64,
    /// The node that alone may read it (a webcam or a file is readable only where it is);
    /// None: any node of the cluster.
    pub pinned_node: Option<String>,
    /// The demo site's camera (removed with it when the demo is switched off).
    pub demo: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_sources_are_stored_under_their_names() {
        crate::check_stored_values(CameraStatus::as_str);
        crate::check_stored_values(CameraSource::as_str);
    }
}
