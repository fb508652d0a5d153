//! What a coalescing window gathers, and the `NOTIFY` payload it becomes.
//!
//! A window's publishes merge into one [`Pending`]: the union of their
//! topics and, for the `slots` topic, the ids of the slots that changed —
//! as long as every publish of `slots` in the window named its slots and
//! they fit in [`MAX_SLOT_IDS`] and the payload limit. Otherwise the notice
//! says only "slots changed" and readers reload their slot lists whole.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

use super::Topic;

/// Most slot ids one notice carries; a window that changed more says only
/// that the slots changed.
pub const MAX_SLOT_IDS: usize = 200;

/// PostgreSQL refuses a `NOTIFY` payload of 8000 bytes or more; a payload
/// this long or longer is sent without its slot ids.
pub const PAYLOAD_LIMIT: usize = 7900;

/// Which slots changed, as far as a window knows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rows {
    /// No publish of `slots` yet.
    Untouched,
    /// Only these slots changed (possibly none: e.g. capacity given back
    /// while every row stayed as it was).
    Only(BTreeSet<i64>),
    /// Unknown or too many: the slot list as a whole.
    Whole,
}

/// The topics (and changed slots) recorded since the last flush.
#[derive(Debug)]
pub(super) struct Pending {
    topics: BTreeSet<Topic>,
    rows: Rows,
}

/// One window's changes, taken out of [`Pending`] to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Notice {
    pub topics: Vec<Topic>,
    /// `Some`: among the slots only these changed; `None`: the slot list
    /// (or no slot at all when `topics` lacks `slots`).
    pub slot_ids: Option<Vec<i64>>,
}

impl Pending {
    pub fn new() -> Self {
        Pending {
            topics: BTreeSet::new(),
            rows: Rows::Untouched,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// Records `topics`; with `slot_ids` (`Some`), the publish changed only
    /// those slots; without, a publish of `slots` changed the list as a whole.
    pub fn add(&mut self, topics: &[Topic], slot_ids: Option<&[i64]>) {
        self.topics.extend(topics.iter().copied());
        if !topics.contains(&Topic::Slots) {
            return;
        }
        self.rows = match (std::mem::replace(&mut self.rows, Rows::Whole), slot_ids) {
            (Rows::Whole, _) | (_, None) => Rows::Whole,
            (Rows::Untouched, Some(ids)) => Rows::Only(ids.iter().copied().collect()),
            (Rows::Only(mut known), Some(ids)) => {
                known.extend(ids.iter().copied());
                Rows::Only(known)
            }
        };
        if matches!(&self.rows, Rows::Only(ids) if ids.len() > MAX_SLOT_IDS) {
            self.rows = Rows::Whole;
        }
    }

    /// Takes everything recorded, leaving this empty.
    pub fn take(&mut self) -> Notice {
        let topics = std::mem::take(&mut self.topics).into_iter().collect();
        let slot_ids = match std::mem::replace(&mut self.rows, Rows::Untouched) {
            Rows::Only(ids) => Some(ids.into_iter().collect()),
            Rows::Untouched | Rows::Whole => None,
        };
        Notice { topics, slot_ids }
    }

    /// Puts back a notice that could not be sent.
    pub fn restore(&mut self, notice: Notice) {
        self.add(&notice.topics, notice.slot_ids.as_deref());
    }
}

/// A notice as sent through `NOTIFY`.
#[derive(Serialize, Deserialize)]
pub(super) struct Payload {
    pub origin: Uuid,
    pub topics: Vec<Topic>,
    /// When the notice was sent (Unix ms, the sender's wall clock), for the
    /// feed's lag metric. Absent from an older instance's notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at_ms: Option<i64>,
    /// The slots that changed, when they are known (absent from an older
    /// instance's notices, which readers take as the whole list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<Vec<i64>>,
}

impl Payload {
    /// The payload's text, under [`PAYLOAD_LIMIT`]: without its slot ids
    /// when they would not fit.
    pub fn encode(mut self) -> serde_json::Result<String> {
        let text = serde_json::to_string(&self)?;
        if text.len() < PAYLOAD_LIMIT || self.slots.is_none() {
            return Ok(text);
        }
        self.slots = None;
        serde_json::to_string(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_that_named_its_slots_carries_their_ids_once_each() {
        let mut p = Pending::new();
        p.add(&[Topic::Slots, Topic::Audit], Some(&[7, 3]));
        p.add(&[Topic::Queue], None);
        p.add(&[Topic::Slots], Some(&[3, 9]));
        assert_eq!(
            p.take(),
            Notice {
                topics: vec![Topic::Slots, Topic::Queue, Topic::Audit],
                slot_ids: Some(vec![3, 7, 9]),
            }
        );
        assert!(p.is_empty());
        assert_eq!(p.take().slot_ids, None, "taking leaves nothing behind");
    }

    #[test]
    fn one_publish_of_slots_without_ids_makes_the_window_the_whole_list() {
        for order in [[true, false], [false, true]] {
            let mut p = Pending::new();
            for with_ids in order {
                p.add(&[Topic::Slots], with_ids.then_some(&[1][..]));
            }
            assert_eq!(p.take().slot_ids, None, "order {order:?}");
        }
    }

    #[test]
    fn no_slot_ids_without_the_slots_topic_and_an_empty_set_is_kept() {
        let mut p = Pending::new();
        p.add(&[Topic::Bots], None);
        assert_eq!(p.take().slot_ids, None);
        p.add(&[Topic::Slots, Topic::Bots], Some(&[]));
        assert_eq!(
            p.take().slot_ids,
            Some(vec![]),
            "rows unchanged: nothing to patch"
        );
    }

    #[test]
    fn more_ids_than_the_bound_fall_back_to_the_whole_list() {
        let mut p = Pending::new();
        let ids: Vec<i64> = (0..MAX_SLOT_IDS as i64).collect();
        p.add(&[Topic::Slots], Some(&ids));
        assert_eq!(p.take().slot_ids.map(|v| v.len()), Some(MAX_SLOT_IDS));
        p.add(&[Topic::Slots], Some(&ids));
        p.add(&[Topic::Slots], Some(&[MAX_SLOT_IDS as i64]));
        assert_eq!(p.take().slot_ids, None, "one more than the bound");
        // Still the whole list for the rest of the window.
        p.add(&[Topic::Slots], Some(&ids));
        p.add(&[Topic::Slots], Some(&[MAX_SLOT_IDS as i64 + 1]));
        p.add(&[Topic::Slots], Some(&[1]));
        assert_eq!(p.take().slot_ids, None);
    }

    #[test]
    fn a_notice_put_back_merges_with_what_came_meanwhile() {
        let mut p = Pending::new();
        p.add(&[Topic::Slots], Some(&[1]));
        let failed = p.take();
        p.add(&[Topic::Slots], Some(&[2]));
        p.restore(failed);
        assert_eq!(p.take().slot_ids, Some(vec![1, 2]));
    }

    fn payload(slots: Option<Vec<i64>>) -> Payload {
        Payload {
            origin: Uuid::nil(),
            topics: vec![Topic::Slots],
            sent_at_ms: Some(1),
            slots,
        }
    }

    #[test]
    fn the_bound_fits_the_notify_limit_and_a_payload_over_it_drops_its_ids() {
        let widest: Vec<i64> = vec![i64::MIN; MAX_SLOT_IDS];
        let text = payload(Some(widest.clone())).encode().unwrap();
        assert!(text.len() < PAYLOAD_LIMIT, "{} bytes", text.len());
        let back: Payload = serde_json::from_str(&text).unwrap();
        assert_eq!(back.slots, Some(widest));
        let too_many: Vec<i64> = vec![i64::MIN; 2 * MAX_SLOT_IDS];
        let text = payload(Some(too_many)).encode().unwrap();
        assert!(text.len() < PAYLOAD_LIMIT);
        let back: Payload = serde_json::from_str(&text).unwrap();
        assert_eq!(back.slots, None, "the whole list instead");
        assert_eq!(back.topics, vec![Topic::Slots]);
    }

    #[test]
    fn an_older_instances_notice_means_the_whole_list() {
        let old = format!(r#"{{"origin":"{}","topics":["slots"]}}"#, Uuid::nil());
        let p: Payload = serde_json::from_str(&old).unwrap();
        assert_eq!(p.slots, None);
    }
}
