//! Which cameras a node reads: every one (a cluster of one), or those whose leases it holds,
//! each at its epoch; and the claim a camera task writes its status under.

use std::{collections::BTreeMap, sync::Arc};

use super::leases::LeaseClaim;

/// Which cameras this node reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holdings {
    /// Every enabled camera: a cluster of one.
    All,
    /// These cameras, each with the epoch of its lease, held by this instance.
    Only {
        instance_id: Arc<str>,
        cameras: BTreeMap<String, i64>,
    },
}

impl Holdings {
    /// Whether this node reads `camera_id`.
    pub fn holds(&self, camera_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only { cameras, .. } => cameras.contains_key(camera_id),
        }
    }

    /// The lease a task reading `camera_id` writes under (None: a cluster of one, or not
    /// held).
    pub fn claim(&self, camera_id: &str) -> Option<LeaseClaim> {
        match self {
            Self::All => None,
            Self::Only {
                instance_id,
                cameras,
            } => cameras.get(camera_id).map(|&epoch| LeaseClaim {
                instance_id: instance_id.to_string(),
                epoch,
            }),
        }
    }

    /// How many cameras are held (None: every one).
    pub fn count(&self) -> Option<usize> {
        match self {
            Self::All => None,
            Self::Only { cameras, .. } => Some(cameras.len()),
        }
    }
}
