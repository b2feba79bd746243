//! How many live streams (`/api/units/{unit}/stream`) one client and the whole server may hold
//! open: each holds a connection for as long as it lives, so without a cap a few clients could
//! take every connection the server has.
//!
//! A client is a signed-in person (by their subject at the provider, wherever they connect
//! from), else its peer address (an IPv4 address seen through an IPv6 socket counts as the IPv4
//! one). Behind a proxy every browser without a session arrives from the proxy's address: see
//! `[http]` in `README.md` for what to set there.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The caps and the streams open now.
pub struct StreamCaps {
    per_client: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<Client, usize>,
}

/// Who holds a stream, for the per-client cap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// A signed-in person, by subject.
    Person(String),
    /// Anyone else, by peer address.
    Address(IpAddr),
}

impl From<IpAddr> for Client {
    fn from(address: IpAddr) -> Self {
        Self::Address(address.to_canonical())
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefused {
    /// This client holds its most streams already (429).
    #[error(
        "this client has {0} live streams open, the most one client may; close one (another tab?) and try again"
    )]
    PerClient(usize),
    /// The server holds its most streams already (503).
    #[error("the server has {0} live streams open, the most it serves at once; try again shortly")]
    Total(usize),
}

impl StreamRefused {
    /// The stable code of the answer, and the reason label of `baocao_http_refused_total`.
    pub fn code(self) -> &'static str {
        match self {
            Self::PerClient(_) => "streams_per_client",
            Self::Total(_) => "streams_total",
        }
    }
}

/// One open stream's place, given back when dropped.
pub struct StreamSlot {
    caps: Arc<StreamCaps>,
    client: Client,
}

impl StreamCaps {
    /// At most `per_client` streams from one address, and `total` in all.
    pub fn new(per_client: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            per_client,
            total,
            open: Mutex::new(Open::default()),
        })
    }

    /// A place for one more stream of `client`, or why not.
    pub fn take(self: &Arc<Self>, client: impl Into<Client>) -> Result<StreamSlot, StreamRefused> {
        let client = client.into();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let of_client = open.by_client.get(&client).copied().unwrap_or(0);
        if of_client >= self.per_client {
            return Err(StreamRefused::PerClient(self.per_client));
        }
        if open.total >= self.total {
            return Err(StreamRefused::Total(self.total));
        }
        open.total += 1;
        *open.by_client.entry(client.clone()).or_default() += 1;
        Ok(StreamSlot {
            caps: Arc::clone(self),
            client,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_and_the_server_are_capped_and_places_come_back() {
        let caps = StreamCaps::new(2, 3);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "::ffff:10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
        );
        let first = caps.take(a).unwrap();
        let _second = caps.take(b).unwrap();
        // The mapped address is the same client.
        assert_eq!(caps.take(a).err(), Some(StreamRefused::PerClient(2)));
        let _third = caps.take(c).unwrap();
        assert_eq!(caps.take(c).err(), Some(StreamRefused::Total(3)));
        drop(first);
        assert!(caps.take(c).is_ok());
        let person = || Client::Person("editor-a".into());
        let caps = StreamCaps::new(1, 3);
        let _held = caps.take(person()).unwrap();
        assert_eq!(caps.take(person()).err(), Some(StreamRefused::PerClient(1)));
        assert!(caps.take(a).is_ok());
    }
}
