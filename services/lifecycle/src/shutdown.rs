//! The shutdown signal: one [`ShutdownTrigger`] held by whoever decides to stop (the signal
//! handler of `baocao run`, a test), and a [`Shutdown`] for each loop.

use std::time::Duration;

use tokio::sync::watch;

/// The receiving side: cheap to clone, one per loop.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side. Dropping it also stops every loop.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger(sender), Shutdown(receiver))
    }

    /// Whether shutdown has been asked for.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has been asked for (at once if it already has).
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        // An error means the trigger was dropped, which also means: stop.
        let _ = receiver.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `duration` unless shutdown comes first; true if the whole time passed.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            () = self.wait() => false,
        }
    }
}

impl ShutdownTrigger {
    /// Asks every loop holding a [`Shutdown`] to finish its work in flight and return.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_triggered_signal_ends_waits_and_sleeps_at_once() {
        let (trigger, shutdown) = Shutdown::new();
        assert!(!shutdown.is_triggered());
        assert!(shutdown.sleep(Duration::from_millis(1)).await);
        trigger.trigger();
        assert!(shutdown.is_triggered());
        shutdown.wait().await;
        assert!(!shutdown.sleep(Duration::from_secs(3600)).await);
    }

    #[tokio::test]
    async fn dropping_the_trigger_stops_too() {
        let (trigger, shutdown) = Shutdown::new();
        drop(trigger);
        shutdown.wait().await;
    }
}
