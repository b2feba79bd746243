//! Logging a repeated failure once per change of state: when it starts and when it ends.

/// Whether an operation that is retried has been failing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streak {
    failing: bool,
}

impl Streak {
    /// Records a failure; true if it is the first of a streak (log it).
    pub fn failed(&mut self) -> bool {
        !std::mem::replace(&mut self.failing, true)
    }

    /// Records a success; true if it ends a streak of failures (log the recovery).
    pub fn succeeded(&mut self) -> bool {
        std::mem::replace(&mut self.failing, false)
    }

    /// Whether the last attempt failed.
    pub fn is_failing(&self) -> bool {
        self.failing
    }
}

#[cfg(test)]
mod tests {
    use super::Streak;

    #[test]
    fn only_the_first_failure_and_the_recovery_are_news() {
        let mut streak = Streak::default();
        assert!(!streak.succeeded());
        assert!(streak.failed());
        assert!(!streak.failed());
        assert!(streak.is_failing());
        assert!(streak.succeeded());
        assert!(!streak.succeeded());
    }
}
