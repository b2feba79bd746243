//! Capped exponential backoff with jitter, for reconnecting to the broker and waiting for the
//! database.

use std::time::Duration;

/// Waits that double from `initial` up to `cap` with each failure, less up to a quarter of
/// jitter so that replicas do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at `initial` and doubles up to `cap`.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap,
            failures: 0,
        }
    }

    /// The failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next attempt, counting one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let exponential = self.initial.saturating_mul(1 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        exponential
            .min(self.cap)
            .mul_f64(1.0 - 0.25 * fastrand::f64())
    }

    /// Back to the initial delay after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_less_a_quarter_at_most() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for expected in [100, 200, 400, 800, 1000, 1000] {
            let delay = backoff.next_delay().as_millis();
            assert!(
                (expected * 3 / 4..=expected).contains(&delay),
                "{delay} ms, expected about {expected}"
            );
        }
        assert_eq!(backoff.failures(), 6);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }
}
