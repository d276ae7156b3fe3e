//! The events table: what every berth process did (`berth events`, the dashboard's event
//! stream). There is no daemon to broadcast them, so writers append rows and readers poll
//! the indexed sequence number.
use std::collections::BTreeMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::containers::now_nanos;
use crate::store::db::Db;

/// One stored event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: i64,
    pub time: i64,
    pub kind: String,
    pub action: String,
    pub actor: String,
    pub attributes: BTreeMap<String, String>,
}

/// Append an event of type `kind` (`container`) about `actor`, with `attributes` in order.
/// Best effort: an event that cannot be written never fails the operation it describes.
pub fn record(db: &mut Db, kind: &str, action: &str, actor: &str, attributes: &[(&str, String)]) {
    let attrs: serde_json::Map<String, serde_json::Value> =
        attributes.iter().map(|(k, v)| ((*k).to_string(), serde_json::Value::from(v.as_str()))).collect();
    let attrs = serde_json::Value::Object(attrs).to_string();
    let _ = db.write(|tx| {
        tx.execute(
            "INSERT INTO events (time, type, action, actor, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now_nanos(), kind, action, actor, attrs],
        )
    });
}

/// Events after `after_seq` (and at or after `since` nanoseconds), oldest first.
pub fn after(db: &Db, after_seq: i64, since: i64) -> Result<Vec<EventRecord>> {
    db.query_all(
        "SELECT seq, time, type, action, actor, attributes FROM events WHERE seq > ?1 AND time >= ?2 ORDER BY seq",
        params![after_seq, since],
        |r| {
            let a: String = r.get(5)?;
            Ok(EventRecord {
                seq: r.get(0)?,
                time: r.get(1)?,
                kind: r.get(2)?,
                action: r.get(3)?,
                actor: r.get(4)?,
                attributes: serde_json::from_str(&a).unwrap_or_default(),
            })
        },
    )
}

/// The newest sequence number (0 when there are none).
#[cfg(test)]
pub fn last_seq(db: &Db) -> Result<i64> {
    Ok(db.query_opt("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_back_in_order_after_a_sequence_number() {
        let t = tempfile::tempdir().unwrap();
        let mut db = Db::open(t.path()).unwrap();
        assert_eq!(last_seq(&db).unwrap(), 0);
        record(&mut db, "container", "create", "abc", &[("name", "web".into()), ("image", "busybox".into())]);
        record(&mut db, "container", "start", "abc", &[]);
        let all = after(&db, 0, 0).unwrap();
        assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["create", "start"]);
        assert_eq!(all[0].attributes["name"], "web");
        assert_eq!(after(&db, all[0].seq, 0).unwrap().len(), 1);
        assert_eq!(last_seq(&db).unwrap(), all[1].seq);
        assert!(after(&db, 0, now_nanos() + 1_000_000_000).unwrap().is_empty());
    }
}
