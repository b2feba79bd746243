//! A bound in bytes on the messages a connection has read and its consumers not yet let go.
//!
//! RabbitMQ limits what it pushes to a consumer by count only (`prefetch_size` is refused), so a
//! count that is fast for small events would hold gigabytes of the broker's largest messages.
//! The bound is kept where the bytes come in instead: [`crate::frames::Screened`] takes each
//! message's size from the [`Budget`] when its content header arrives, before lapin reads it,
//! and reads nothing more from the socket while the next message does not fit. Messages not
//! read yet wait in the socket's buffers and in the broker (which holds them anyway, in the
//! queue). The consumer gives a message's bytes back when it is done with the message
//! ([`Budget::hold`]).
//!
//! While reading waits, the broker's heartbeats wait too: lapin closes a connection it has read
//! nothing from for twice the heartbeat, and the messages held come again on the next one.
//! That takes a consumer holding a full budget that long (its database away, say).

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What the messages read and not yet given back may take, in bytes, shared by a connection's
/// reader and its consumers.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    held: usize,
    /// The reader waiting for room.
    waiting: Option<Waker>,
}

impl Budget {
    /// A budget of `limit` bytes. One message is let in whatever its size when nothing is held,
    /// so what is held never passes the greater of `limit` and the largest message.
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(Inner {
            limit,
            state: Mutex::new(State::default()),
        }))
    }

    /// The bytes held now.
    pub fn held(&self) -> usize {
        self.state().held
    }

    /// Takes `bytes` for a message about to be read if they fit (or nothing is held); otherwise
    /// `Pending`, and `cx` is woken once some are given back.
    pub(crate) fn poll_take(&self, bytes: usize, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.state();
        if state.held == 0 || state.held.saturating_add(bytes) <= self.0.limit {
            state.held += bytes;
            return Poll::Ready(());
        }
        state.waiting = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Marks `bytes` of a message read as held until the returned guard is dropped: the
    /// consumer keeps it with the message and drops it once the message is acknowledged or
    /// given up.
    pub fn hold(&self, bytes: usize) -> Held {
        Held {
            budget: self.clone(),
            bytes,
        }
    }

    fn give_back(&self, bytes: usize) {
        let waiting = {
            let mut state = self.state();
            state.held = state.held.saturating_sub(bytes);
            state.waiting.take()
        };
        if let Some(reader) = waiting {
            reader.wake();
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A message's bytes in a [`Budget`], given back on drop.
#[derive(Debug)]
pub struct Held {
    budget: Budget,
    bytes: usize,
}

impl Held {
    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds `other`'s bytes to this one's, to be given back together.
    pub fn join(&mut self, mut other: Held) {
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.give_back(self.bytes);
        }
    }
}
