//! A shutdown signal that every long-running loop takes from outside (SIGTERM, or a test).

use tokio::sync::watch;

/// The receiving side: cheap to clone, one per loop.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side, held by whoever decides to stop.
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
}

impl ShutdownTrigger {
    /// Asks every loop holding a [`Shutdown`] to finish its work in flight and return.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}
