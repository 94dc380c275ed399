//! The effective configuration as TOML by section, its secrets masked: what
//! `hadir config print` shows.
//!
//! Masked: `admin_token` and each webhook's `secret` (shown as [`MASK`]), the passwords in
//! `database_url`, `[mqtt] url` and `[cluster] listen_url`, and each webhook's URL but its scheme, host and port (its
//! path often is the receiver's secret, as [`crate::webhooks::settings::shown`] says). Keys
//! without a value (none) are left out.

use super::Config;

/// What a secret is shown as.
pub const MASK: &str = crate::redact::HIDDEN;

impl Config {
    /// This configuration with its secrets replaced by [`MASK`].
    pub fn masked(&self) -> Config {
        let mut masked = self.clone();
        masked.database_url = password_masked(&self.database_url);
        masked.admin_token = self.admin_token.as_ref().map(|_| MASK.to_owned());
        masked.mqtt.url = self.mqtt.url.as_deref().map(password_masked);
        masked.cluster.listen_url = self.cluster.listen_url.as_deref().map(password_masked);
        for webhook in &mut masked.webhooks {
            webhook.url = crate::webhooks::settings::shown(&webhook.url);
            webhook.secret = webhook.secret.as_ref().map(|_| MASK.to_owned());
        }
        masked
    }

    /// This configuration as TOML, by section, secrets masked.
    pub fn to_masked_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(&self.masked())
    }
}

/// A URL with its password, if it has one, shown as [`MASK`] (as
/// [`crate::db::redact_database_url`] does); one that does not parse as a URL keeps nothing
/// of what stands before an `@` ([`crate::redact::url_for_logs`]).
fn password_masked(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(MASK));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => crate::redact::url_for_logs(url),
    }
}
