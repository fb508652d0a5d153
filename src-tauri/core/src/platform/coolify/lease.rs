//! The lease check: one application is a slot's only workload, so a late
//! start or stop of an older lease must leave it alone.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::CoolifyPlatform;
use crate::platform::call::Fault;
use crate::platform::{PlatformError, SlotRef};

impl CoolifyPlatform {
    /// The slot id and lease epoch the application's workload was last
    /// configured for (its `BERTH_SLOT_ID` and `BERTH_EPOCH`), as far as set.
    pub(super) async fn configured_lease(
        &self,
        uuid: &str,
    ) -> Result<(Option<i64>, Option<i64>), Fault> {
        #[derive(Deserialize)]
        struct Env {
            key: Option<String>,
            value: Option<Value>,
        }
        let envs: Vec<Env> = match self
            .json(self.request(Method::GET, &format!("/applications/{uuid}/envs")))
            .await
        {
            Ok(envs) => envs,
            // No application: no lease runs there.
            Err(Fault::NotFound(_)) => return Ok((None, None)),
            Err(f) => return Err(f),
        };
        let number = |key: &str| {
            envs.iter()
                .filter(|e| e.key.as_deref() == Some(key))
                .filter_map(|e| match e.value.as_ref()? {
                    Value::String(v) => v.trim().parse().ok(),
                    Value::Number(n) => n.as_i64(),
                    _ => None,
                })
                .max()
        };
        Ok((number("BERTH_SLOT_ID"), number("BERTH_EPOCH")))
    }

    /// Whether a newer lease of `slot` than its own runs in the
    /// application: one application is the slot's only workload, so a start
    /// or stop of an older lease (a late deploy) must leave it alone. A
    /// lease of another slot of the same name (deleted and created again,
    /// its epochs started over) does not count.
    pub(super) async fn newer_lease(
        &self,
        slot: &SlotRef,
        uuid: &str,
    ) -> Result<Option<i64>, PlatformError> {
        let (slot_id, epoch) = self
            .caller
            .run("lease_check", Some(&slot.slot_name), || {
                self.configured_lease(uuid)
            })
            .await?;
        let same_slot = slot_id.is_none_or(|id| id == slot.slot_id);
        Ok(epoch.filter(|e| same_slot && *e > slot.epoch))
    }
}
