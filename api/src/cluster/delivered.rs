//! What this node has delivered, so that an event told twice (relayed, then found again by a
//! resync; or relayed twice) reaches subscribers once: the sequence number last heard from
//! each origin, the `status_version` last delivered per employee and camera, and the ids of
//! notifications delivered. Pure state, no I/O.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::events::{ChangeKind, Event};

/// Notification ids remembered one by one; older ones are summed up by a high-water mark.
pub const DELIVERED_NOTIFICATIONS_KEPT: usize = 4_096;
/// Origins remembered before those not heard from for [`ORIGIN_FORGET_AFTER`] are forgotten.
pub const ORIGINS_KEPT: usize = 256;
/// How long an origin not heard from is remembered once [`ORIGINS_KEPT`] is exceeded.
pub const ORIGIN_FORGET_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// What a sequence number says about the events before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequence {
    /// The first heard from this origin (or since the sequences were forgotten).
    First,
    /// The one after the last heard.
    Next,
    /// Heard already.
    Repeat,
    /// `missing` events were lost; the last before them was heard at `since`.
    Gap { missing: u64, since: DateTime<Utc> },
}

/// Whether an event should reach subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Fresh,
    /// A status no newer than the one delivered.
    Stale,
    /// A notification delivered already.
    Repeat,
}

#[derive(Clone, Copy, Debug)]
struct Heard {
    sequence: u64,
    at: DateTime<Utc>,
}

/// The state.
#[derive(Debug, Default)]
pub struct Delivered {
    origins: HashMap<String, Heard>,
    employees: HashMap<String, i64>,
    cameras: HashMap<String, i64>,
    notifications: BTreeSet<i64>,
    /// Every notification id up to this one counts as delivered.
    notifications_through: i64,
}

impl Delivered {
    /// Where `sequence` from `origin`, heard at `now`, stands; recorded when new.
    pub fn sequence(&mut self, origin: &str, sequence: u64, now: DateTime<Utc>) -> Sequence {
        let verdict = match self.origins.get(origin) {
            None => Sequence::First,
            Some(last) if sequence <= last.sequence => return Sequence::Repeat,
            Some(last) if sequence == last.sequence + 1 => Sequence::Next,
            Some(last) => Sequence::Gap {
                missing: sequence - last.sequence - 1,
                since: last.at,
            },
        };
        if verdict == Sequence::First && self.origins.len() >= ORIGINS_KEPT {
            self.origins
                .retain(|_, heard| now - heard.at < ORIGIN_FORGET_AFTER);
        }
        self.origins
            .insert(origin.to_owned(), Heard { sequence, at: now });
        verdict
    }

    /// Forgets every origin's sequence (after a resync made good whatever was missed: the
    /// next event of each is taken as it comes).
    pub fn forget_sequences(&mut self) {
        self.origins.clear();
    }

    /// Records an event this node published itself (its subscribers have it).
    pub fn note_local(&mut self, event: &Event) {
        let _ = self.admit(event);
    }

    /// Whether an event from elsewhere should be delivered; recorded when it is.
    pub fn admit(&mut self, event: &Event) -> Admission {
        match event {
            Event::EmployeeStatusChanged(presence) => match &presence.tracking {
                Some(row) => newer(&mut self.employees, &row.employee_id, row.status_version),
                None => Admission::Fresh,
            },
            Event::CameraStatusChanged(camera) => {
                newer(&mut self.cameras, &camera.camera_id, camera.status_version)
            }
            Event::NotificationCreated(record) => self.notification(record.notification.id),
            // A deleted (or new) record starts its versions again.
            Event::EmployeeChanged {
                kind: ChangeKind::Deleted | ChangeKind::Created,
                employee_id,
                ..
            } => {
                self.employees.remove(employee_id);
                Admission::Fresh
            }
            Event::CameraChanged {
                kind: ChangeKind::Deleted | ChangeKind::Created,
                camera_id,
                ..
            } => {
                self.cameras.remove(camera_id);
                Admission::Fresh
            }
            _ => Admission::Fresh,
        }
    }

    /// Whether the notification `id` is new; recorded when it is.
    fn notification(&mut self, id: i64) -> Admission {
        if id <= self.notifications_through || !self.notifications.insert(id) {
            return Admission::Repeat;
        }
        while self.notifications.len() > DELIVERED_NOTIFICATIONS_KEPT {
            if let Some(oldest) = self.notifications.pop_first() {
                self.notifications_through = self.notifications_through.max(oldest);
            }
        }
        Admission::Fresh
    }
}

/// Whether `version` is newer than the one delivered for `id`; recorded when it is.
fn newer(delivered: &mut HashMap<String, i64>, id: &str, version: i64) -> Admission {
    match delivered.get_mut(id) {
        Some(last) if *last >= version => Admission::Stale,
        Some(last) => {
            *last = version;
            Admission::Fresh
        }
        None => {
            delivered.insert(id.to_owned(), version);
            Admission::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::fixtures;

    #[test]
    fn sequences_tell_repeats_and_gaps() {
        let mut d = Delivered::default();
        let t0 = Utc::now();
        let t1 = t0 + chrono::TimeDelta::seconds(1);
        assert_eq!(d.sequence("a", 5, t0), Sequence::First);
        assert_eq!(d.sequence("a", 6, t0), Sequence::Next);
        assert_eq!(d.sequence("a", 6, t1), Sequence::Repeat);
        assert_eq!(d.sequence("a", 3, t1), Sequence::Repeat);
        assert_eq!(
            d.sequence("a", 9, t1),
            Sequence::Gap {
                missing: 2,
                since: t0
            }
        );
        assert_eq!(d.sequence("a", 10, t1), Sequence::Next);
        assert_eq!(d.sequence("b", 1, t1), Sequence::First, "origins apart");
        d.forget_sequences();
        assert_eq!(d.sequence("a", 20, t1), Sequence::First);
    }

    #[test]
    fn statuses_are_delivered_only_when_newer() {
        let mut d = Delivered::default();
        let camera = |version| Event::CameraStatusChanged(fixtures::camera("C1", version));
        d.note_local(&camera(3));
        assert_eq!(d.admit(&camera(3)), Admission::Stale);
        assert_eq!(d.admit(&camera(2)), Admission::Stale);
        assert_eq!(d.admit(&camera(4)), Admission::Fresh);
        assert_eq!(d.admit(&camera(4)), Admission::Stale);
        let employee = |version| Event::EmployeeStatusChanged(fixtures::presence("E1", version));
        assert_eq!(d.admit(&employee(1)), Admission::Fresh);
        assert_eq!(d.admit(&employee(1)), Admission::Stale);
        d.note_local(&Event::EmployeeChanged {
            kind: ChangeKind::Deleted,
            employee_id: "E1".into(),
            presence: None,
        });
        assert_eq!(
            d.admit(&employee(1)),
            Admission::Fresh,
            "a deleted employee's versions start again"
        );
    }

    #[test]
    fn notifications_are_delivered_once_and_old_ids_stay_delivered() {
        let mut d = Delivered::default();
        let note = |id| Event::NotificationCreated(fixtures::notification(id, "m"));
        assert_eq!(d.admit(&note(7)), Admission::Fresh);
        assert_eq!(d.admit(&note(7)), Admission::Repeat);
        for id in 100..=100 + DELIVERED_NOTIFICATIONS_KEPT as i64 {
            assert_eq!(d.admit(&note(id)), Admission::Fresh);
        }
        assert_eq!(
            d.admit(&note(7)),
            Admission::Repeat,
            "below the high-water mark"
        );
        assert_eq!(d.admit(&note(99)), Admission::Repeat);
        assert_eq!(d.admit(&note(100)), Admission::Repeat);
        assert_eq!(d.admit(&note(1_000_000)), Admission::Fresh);
    }
}
