//! A brute-force counter: wrong trials within a window, then a lockout.

use std::time::Duration;

use crate::config::Policy;

/// Wrong trials of one credential of one user.
#[derive(Debug, Default, Clone)]
pub(crate) struct TrialCounter {
    failures: u32,
    window_start_ms: u64,
    locked_until_ms: Option<u64>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl TrialCounter {
    /// Forgets what the policy says is over: an ended lockout, an elapsed window.
    fn expire(&mut self, now_ms: u64, policy: &Policy) {
        if let Some(until) = self.locked_until_ms {
            if now_ms >= until {
                *self = TrialCounter::default();
            }
        } else if self.failures > 0
            && now_ms
                >= self
                    .window_start_ms
                    .saturating_add(millis(policy.reset_window))
        {
            *self = TrialCounter::default();
        }
    }

    /// `Err(locked_until_ms)` while locked.
    pub(crate) fn check(&mut self, now_ms: u64, policy: &Policy) -> Result<(), u64> {
        self.expire(now_ms, policy);
        match self.locked_until_ms {
            Some(until) => Err(until),
            None => Ok(()),
        }
    }

    /// Counts one wrong trial. Returns the attempts left and, when this trial
    /// reached the threshold, the end of the lockout it started.
    pub(crate) fn fail(&mut self, now_ms: u64, policy: &Policy) -> (u32, Option<u64>) {
        self.expire(now_ms, policy);
        if self.failures == 0 {
            self.window_start_ms = now_ms;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= policy.attempt_threshold {
            let until = now_ms.saturating_add(millis(policy.lockout));
            self.locked_until_ms = Some(until);
            (0, Some(until))
        } else {
            (policy.attempt_threshold - self.failures, None)
        }
    }

    /// Wrong trials counted now, the lockout end if locked.
    pub(crate) fn snapshot(&mut self, now_ms: u64, policy: &Policy) -> (u32, Option<u64>) {
        self.expire(now_ms, policy);
        (self.failures, self.locked_until_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            attempt_threshold: 3,
            reset_window: Duration::from_secs(10),
            lockout: Duration::from_secs(60),
            ..Policy::default()
        }
    }

    #[test]
    fn locks_at_threshold_and_unlocks_after_lockout() {
        let p = policy();
        let mut c = TrialCounter::default();
        assert_eq!(c.fail(1_000, &p), (2, None));
        assert_eq!(c.fail(2_000, &p), (1, None));
        assert_eq!(c.fail(3_000, &p), (0, Some(63_000)));
        assert_eq!(c.check(62_999, &p), Err(63_000));
        assert_eq!(c.check(63_000, &p), Ok(()));
        assert_eq!(c.snapshot(63_000, &p), (0, None));
    }

    #[test]
    fn window_forgets_old_failures() {
        let p = policy();
        let mut c = TrialCounter::default();
        c.fail(0, &p);
        c.fail(9_999, &p);
        assert_eq!(c.snapshot(9_999, &p), (2, None));
        // The window counts from the first failure; after it, counting restarts.
        assert_eq!(c.fail(10_000, &p), (2, None));
    }
}
