//! Short-lived signed grants for a camera's live view, so that an `<img src>` needs no
//! long-lived token in its URL (URLs end up in browser history and proxy logs).
//!
//! A grant names one camera, the role it was issued to, and when it expires, signed with
//! HMAC-SHA256 under a key every process on the database shares (stored in
//! `server_secrets`, made on first use). It is checked against the camera asked for and the
//! clock. It is bound to the role, not the token: subscribers of one role share one
//! execution of their subscriptions, so the URLs they receive are the same; a revoked
//! token's grants therefore live out their few minutes. Expiry times are rounded so that
//! the same role gets the same URL for a while (a dashboard that re-reads its cameras keeps
//! its open stream).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::server_secret;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use sha2::Sha256;

use crate::{
    auth::{Principal, Role},
    error::{AppError, AppResult},
};

/// Bytes of the signing key.
pub const KEY_BYTES: usize = 32;
/// What a grant's signature covers first: the format's version.
const CONTEXT: &str = "hadir-live-grant-v1";

/// Why a grant is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the grant is malformed")]
    Malformed,
    #[error("the grant is not for this camera, or not signed by this server")]
    BadSignature,
    #[error("the grant expired; ask for the camera's liveUrl again")]
    Expired,
}

/// What a valid grant says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub role: Role,
    pub expires: DateTime<Utc>,
}

/// Issues and checks grants.
#[derive(Clone)]
pub struct Grants {
    key: [u8; KEY_BYTES],
    lifetime: Duration,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl Grants {
    /// The shared key from the database, made there first if no process has yet.
    pub async fn load(db: &DatabaseConnection, lifetime: Duration) -> AppResult<Self> {
        let mut fresh = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut fresh);
        // Whoever inserts first wins; everyone reads the same key after.
        server_secret::Entity::insert(server_secret::ActiveModel {
            name: Set(server_secret::GRANT_KEY.to_owned()),
            value: Set(hex::encode(fresh)),
            created_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([server_secret::Column::Name])
        .exec(db)
        .await?;
        let stored = server_secret::Entity::find_by_id(server_secret::GRANT_KEY.to_owned())
            .one(db)
            .await?
            .ok_or_else(|| AppError::Refused("the grant key could not be stored".into()))?;
        let bytes = hex::decode(&stored.value)
            .ok()
            .filter(|b| b.len() == KEY_BYTES)
            .ok_or_else(|| AppError::Refused("the stored grant key is not 32 hex bytes".into()))?;
        let mut key = [0u8; KEY_BYTES];
        key.copy_from_slice(&bytes);
        Ok(Self::with_key(key, lifetime))
    }

    /// Grants under a random key of this process's own.
    pub fn random(lifetime: Duration) -> Self {
        let mut key = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        Self::with_key(key, lifetime)
    }

    /// Grants under a given key (tests).
    pub fn with_key(key: [u8; KEY_BYTES], lifetime: Duration) -> Self {
        Self {
            key,
            lifetime: lifetime.max(Duration::from_secs(2)),
        }
    }

    /// The MAC over a grant's claims.
    fn mac(&self, camera_id: &str, expires: i64, role: Role) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        // The camera id's length first: no two different claims sign the same bytes.
        mac.update(
            format!(
                "{CONTEXT}\n{}:{camera_id}\n{expires}\n{role}",
                camera_id.len()
            )
            .as_bytes(),
        );
        mac
    }

    /// A grant for `principal`'s role to watch `camera_id`, valid for between half the
    /// lifetime and the whole of it (the expiry is rounded up, so it stays the same for a
    /// while).
    pub fn issue(&self, camera_id: &str, principal: &Principal, now: DateTime<Utc>) -> String {
        let half = (self.lifetime.as_secs() / 2).max(1) as i64;
        let expires = (now.timestamp() / half + 1) * half + half;
        let signature = self
            .mac(camera_id, expires, principal.role)
            .finalize()
            .into_bytes();
        format!(
            "{expires}.{}.{}",
            principal.role,
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The claims of `grant` for `camera_id`, if it is valid at `now`.
    pub fn check(
        &self,
        grant: &str,
        camera_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Claims, GrantError> {
        let mut parts = grant.splitn(3, '.');
        let (Some(expires), Some(role), Some(signature)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(GrantError::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| GrantError::Malformed)?;
        let role = Role::parse(role).ok_or(GrantError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| GrantError::Malformed)?;
        // Compared in constant time.
        self.mac(camera_id, expires, role)
            .verify_slice(&signature)
            .map_err(|_| GrantError::BadSignature)?;
        let expires = DateTime::from_timestamp(expires, 0).ok_or(GrantError::Malformed)?;
        if now >= expires {
            return Err(GrantError::Expired);
        }
        Ok(Claims { role, expires })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn viewer() -> Principal {
        Principal {
            token_id: Some(7),
            role: Role::Viewer,
        }
    }

    #[test]
    fn a_grant_opens_one_camera_for_a_while() {
        let grants = Grants::with_key([1; KEY_BYTES], Duration::from_secs(300));
        let now = Utc::now();
        let grant = grants.issue("CAM1", &viewer(), now);
        let claims = grants.check(&grant, "CAM1", now).unwrap();
        assert_eq!(claims.role, Role::Viewer);
        assert!(claims.expires - now >= TimeDelta::seconds(150));
        assert!(claims.expires - now <= TimeDelta::seconds(300));
        assert_eq!(
            grants.check(&grant, "CAM2", now),
            Err(GrantError::BadSignature)
        );
        assert_eq!(
            grants.check(&grant, "CAM1", now + TimeDelta::seconds(301)),
            Err(GrantError::Expired)
        );
        let other = Grants::with_key([2; KEY_BYTES], Duration::from_secs(300));
        assert_eq!(
            other.check(&grant, "CAM1", now),
            Err(GrantError::BadSignature)
        );
        // Changing the role invalidates it.
        let forged = grant.replacen(".viewer.", ".admin.", 1);
        assert_eq!(
            grants.check(&forged, "CAM1", now),
            Err(GrantError::BadSignature)
        );
        assert_eq!(grants.check("x", "CAM1", now), Err(GrantError::Malformed));
        assert_eq!(
            grants.check("1.viewer.%%%", "CAM1", now),
            Err(GrantError::Malformed)
        );
    }

    #[test]
    fn the_same_caller_gets_the_same_grant_for_a_while() {
        let grants = Grants::with_key([1; KEY_BYTES], Duration::from_secs(300));
        let start = DateTime::from_timestamp(1_000_050, 0).unwrap();
        let a = grants.issue("CAM1", &viewer(), start);
        let b = grants.issue("CAM1", &viewer(), start + TimeDelta::seconds(90));
        assert_eq!(a, b);
    }
}
