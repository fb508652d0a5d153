//! How deliveries are made and retried: the HTTP timeout, the concurrency,
//! and exponential backoff with jitter for up to a day.

use rand::Rng;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Each request's whole time limit (connect, send, answer).
    pub timeout: std::time::Duration,
    /// Attempts in flight at once, per instance.
    pub concurrency: usize,
    /// How long a delivery is retried, from its first attempt, before it
    /// is marked failed.
    pub retry_for: chrono::Duration,
    /// The wait after the first failure; each further failure doubles it.
    pub first_retry: chrono::Duration,
    /// The longest wait between two attempts.
    pub max_retry: chrono::Duration,
    /// How often the loop looks for work without being woken (real time; a
    /// safety net: the change feed and the clock wake it otherwise).
    pub poll: std::time::Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            timeout: std::time::Duration::from_secs(10),
            concurrency: 16,
            retry_for: chrono::Duration::hours(24),
            first_retry: chrono::Duration::seconds(5),
            max_retry: chrono::Duration::hours(1),
            poll: std::time::Duration::from_secs(1),
        }
    }
}

impl DeliveryConfig {
    /// The wait before retry number `failures` (1 after the first failed
    /// attempt): `first_retry · 2^(failures-1)`, at most `max_retry`, with
    /// "equal jitter" (a random point in its upper half), so receivers that
    /// come back are not hit by every instance's retries at once.
    pub fn backoff(&self, failures: i32) -> chrono::Duration {
        let ceiling = self.backoff_ceiling(failures);
        let ms = ceiling.num_milliseconds().max(2);
        chrono::Duration::milliseconds(ms / 2 + rand::rng().random_range(0..=ms / 2))
    }

    /// The longest [`DeliveryConfig::backoff`] after `failures` failures.
    pub fn backoff_ceiling(&self, failures: i32) -> chrono::Duration {
        let doublings = failures.clamp(1, 30) - 1;
        let ms = self
            .first_retry
            .num_milliseconds()
            .saturating_mul(1_i64 << doublings);
        chrono::Duration::milliseconds(ms.min(self.max_retry.num_milliseconds()))
    }

    /// How long an attempt's claim lasts: its timeout and a margin.
    pub(super) fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.timeout).unwrap_or(chrono::Duration::seconds(10))
            + chrono::Duration::seconds(30)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap() {
        let cfg = DeliveryConfig::default();
        assert_eq!(cfg.backoff_ceiling(1), chrono::Duration::seconds(5));
        assert_eq!(cfg.backoff_ceiling(2), chrono::Duration::seconds(10));
        assert_eq!(cfg.backoff_ceiling(11), chrono::Duration::hours(1));
        assert_eq!(cfg.backoff_ceiling(1000), chrono::Duration::hours(1));
        for failures in [1, 3, 12] {
            let ceiling = cfg.backoff_ceiling(failures);
            for _ in 0..50 {
                let b = cfg.backoff(failures);
                assert!(b <= ceiling && b * 2 >= ceiling, "{b} vs {ceiling}");
            }
        }
    }
}
