//! What a receiving node works out from its own database instead of trusting another node's
//! payload: the aggregates (the presence summary, the unread count), recomputed at most
//! [`AGGREGATES_PER_SECOND`] times a second however many events ask for them; and the
//! stream URLs of the cameras an event holds (never sent).

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use entity::{camera, notification};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use super::wire;
use crate::{
    events::{Event, EventBus},
    presence::store,
};

/// How many times a second the summary and the unread count are recomputed at most.
pub const AGGREGATES_PER_SECOND: u32 = 5;

/// Aggregates to recompute at the next flush.
#[derive(Debug, Default)]
pub struct Aggregates {
    /// The presence summary changed somewhere.
    pub summary: bool,
    /// Notifications read elsewhere: their ids, and whether all were.
    read: Option<(BTreeSet<i64>, bool)>,
}

impl Aggregates {
    /// Folds an aggregate event into the next flush; false for any other event.
    pub fn fold(&mut self, event: &Event) -> bool {
        match event {
            Event::PresenceSummaryChanged(_) => {
                self.summary = true;
                true
            }
            Event::NotificationsRead {
                notification_ids,
                all,
                ..
            } => {
                let (ids, every) = self.read.get_or_insert_default();
                ids.extend(notification_ids);
                *every |= *all;
                true
            }
            _ => false,
        }
    }

    /// Recomputes what is due and delivers it; what fails stays due.
    pub async fn flush(&mut self, db: &DatabaseConnection, events: &EventBus) {
        if self.summary {
            match store::counts(db).await {
                Ok(counts) => {
                    self.summary = false;
                    events.deliver_remote(Arc::new(Event::PresenceSummaryChanged(counts)));
                }
                Err(error) => tracing::warn!(%error, "cluster relay: cannot count presence"),
            }
        }
        if let Some((ids, all)) = self.read.take() {
            let unread = notification::Entity::find()
                .filter(notification::Column::IsRead.eq(false))
                .count(db)
                .await;
            match unread {
                Ok(unread_count) => events.deliver_remote(Arc::new(Event::NotificationsRead {
                    notification_ids: ids.into_iter().collect(),
                    all,
                    unread_count,
                })),
                Err(error) => {
                    tracing::warn!(%error, "cluster relay: cannot count unread notifications");
                    self.read = Some((ids, all));
                }
            }
        }
    }
}

/// The most cameras whose URLs a receiver keeps (more: it starts over).
pub const MAX_CACHED_URLS: usize = 10_000;

/// Stream URLs this node read from its table, by camera, with the record's `updated_at`
/// they were read at: an event whose camera changed since (a new URL changes `updated_at`)
/// reads again; the others need no query.
#[derive(Debug, Default)]
pub struct UrlCache(HashMap<String, (DateTime<Utc>, String)>);

/// Puts back the stream URLs of the event's cameras from this node's table (one query for
/// those not cached at the event's version); a camera no longer there keeps the payload's
/// fields with an empty URL.
pub async fn restore_urls(db: &DatabaseConnection, cache: &mut UrlCache, event: &mut Event) {
    let wanted = wire::camera_versions(event);
    if wanted.is_empty() {
        return;
    }
    let stale: Vec<String> = wanted
        .iter()
        .filter(|(id, at)| cache.0.get(*id).is_none_or(|(cached, _)| cached < *at))
        .map(|(id, _)| id.clone())
        .collect();
    if !stale.is_empty() {
        match camera::Entity::find()
            .select_only()
            .column(camera::Column::CameraId)
            .column(camera::Column::UpdatedAt)
            .column(camera::Column::RtspUrl)
            .filter(camera::Column::CameraId.is_in(stale.iter().cloned()))
            .into_tuple::<(String, DateTime<Utc>, String)>()
            .all(db)
            .await
        {
            Ok(rows) => {
                if cache.0.len() + rows.len() > MAX_CACHED_URLS {
                    cache.0.clear();
                }
                for id in &stale {
                    cache.0.remove(id);
                }
                for (id, at, url) in rows {
                    cache.0.insert(id, (at, url));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cluster relay: cannot read camera URLs; delivering without");
            }
        }
    }
    let urls: HashMap<String, String> = wanted
        .keys()
        .filter_map(|id| cache.0.get(id).map(|(_, url)| (id.clone(), url.clone())))
        .collect();
    wire::restore_urls(event, &urls);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::view::PresenceCounts;

    #[test]
    fn aggregates_fold_into_one_recomputation() {
        let mut due = Aggregates::default();
        assert!(due.fold(&Event::PresenceSummaryChanged(PresenceCounts::default())));
        assert!(due.fold(&Event::PresenceSummaryChanged(PresenceCounts::default())));
        for (ids, all) in [(vec![1, 2], false), (vec![2, 5], false), (vec![], true)] {
            assert!(due.fold(&Event::NotificationsRead {
                notification_ids: ids,
                all,
                unread_count: 99,
            }));
        }
        assert!(due.summary);
        assert_eq!(due.read, Some((BTreeSet::from([1, 2, 5]), true)));
        assert!(!due.fold(&Event::CameraStatusChanged(
            crate::cluster::tests::fixtures::camera("C1", 1)
        )));
    }
}
