//! Requests between nodes, signed: HMAC-SHA256 with the cluster's key (a row of
//! `server_secrets`, made by whichever node starts first) over the method, the path and a
//! time, which must lie within [`MAX_CLOCK_GAP`] of the receiver's. A node's video route
//! (`/internal/…`) answers only such requests; no API token is involved.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::server_secret;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use sha2::Sha256;

use crate::error::{AppError, AppResult};

/// The `server_secrets` row of the cluster's key.
pub const CLUSTER_KEY: &str = "cluster_secret";
/// The header with the request's time, in seconds since the epoch.
pub const TIME_HEADER: &str = "x-hadir-node-time";
/// The header with the request's signature, in hex.
pub const SIGNATURE_HEADER: &str = "x-hadir-node-signature";
/// The widest gap between the sender's time and the receiver's.
pub const MAX_CLOCK_GAP: Duration = Duration::from_secs(60);
/// Bytes of the key.
const KEY_BYTES: usize = 32;

/// Why a signed request was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no {TIME_HEADER} and {SIGNATURE_HEADER}: a request between hadir nodes is signed")]
    Missing,
    #[error("{TIME_HEADER} is not a time in seconds")]
    BadTime,
    #[error("the request's time lies more than {}s from this node's", MAX_CLOCK_GAP.as_secs())]
    Stale,
    #[error("the signature does not match (another cluster's key, or a changed request)")]
    Mismatch,
}

/// The cluster's key.
#[derive(Clone)]
pub struct NodeKey([u8; KEY_BYTES]);

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeKey(…)")
    }
}

impl NodeKey {
    /// The key every node on the database shares (made by the first to ask).
    pub async fn load(db: &DatabaseConnection) -> AppResult<Self> {
        let mut fresh = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut fresh);
        server_secret::Entity::insert(server_secret::ActiveModel {
            name: Set(CLUSTER_KEY.to_owned()),
            value: Set(hex::encode(fresh)),
            created_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([server_secret::Column::Name])
        .exec(db)
        .await?;
        let stored = server_secret::Entity::find_by_id(CLUSTER_KEY.to_owned())
            .one(db)
            .await?
            .ok_or_else(|| AppError::Refused("the cluster key could not be stored".into()))?;
        let bytes = hex::decode(&stored.value)
            .ok()
            .filter(|b| b.len() == KEY_BYTES)
            .ok_or_else(|| {
                AppError::Refused("the stored cluster key is not 32 hex bytes".into())
            })?;
        let mut key = [0u8; KEY_BYTES];
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// A key of its own (tests).
    pub fn with_bytes(key: [u8; KEY_BYTES]) -> Self {
        Self(key)
    }

    fn mac(&self, method: &str, path: &str, time: i64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(time.to_string().as_bytes());
        mac
    }

    /// The headers that sign `method path` sent at `now`: (time, signature).
    pub fn sign(&self, method: &str, path: &str, now: DateTime<Utc>) -> (String, String) {
        let time = now.timestamp();
        let signature = hex::encode(self.mac(method, path, time).finalize().into_bytes());
        (time.to_string(), signature)
    }

    /// Checks the headers of `method path` received at `now`.
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        time: Option<&str>,
        signature: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), SignatureError> {
        let (Some(time), Some(signature)) = (time, signature) else {
            return Err(SignatureError::Missing);
        };
        let time: i64 = time.trim().parse().map_err(|_| SignatureError::BadTime)?;
        if (now.timestamp() - time).unsigned_abs() > MAX_CLOCK_GAP.as_secs() {
            return Err(SignatureError::Stale);
        }
        let signature = hex::decode(signature.trim()).map_err(|_| SignatureError::Mismatch)?;
        self.mac(method, path, time)
            .verify_slice(&signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_method_path_and_time() {
        let key = NodeKey::with_bytes([7; KEY_BYTES]);
        let now = Utc::now();
        let path = "/internal/cameras/C1/frames";
        let (time, signature) = key.sign("GET", path, now);
        let check = |method: &str, path: &str, time: &str, sig: &str, at| {
            key.verify(method, path, Some(time), Some(sig), at)
        };
        assert_eq!(check("GET", path, &time, &signature, now), Ok(()));
        assert_eq!(
            check(
                "GET",
                path,
                &time,
                &signature,
                now + chrono::TimeDelta::seconds(59)
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "GET",
                path,
                &time,
                &signature,
                now + chrono::TimeDelta::seconds(61)
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check("GET", "/internal/cameras/C2/frames", &time, &signature, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("POST", path, &time, &signature, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("GET", path, "soon", &signature, now),
            Err(SignatureError::BadTime)
        );
        assert_eq!(
            check("GET", path, &time, "zz", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            key.verify("GET", path, None, Some(&signature), now),
            Err(SignatureError::Missing)
        );
        let other = NodeKey::with_bytes([8; KEY_BYTES]);
        assert_eq!(
            other.verify("GET", path, Some(&time), Some(&signature), now),
            Err(SignatureError::Mismatch)
        );
    }
}
