//! RabbitMQ for baocao. Everything that speaks AMQP goes through this crate: the ingest worker,
//! the API's look at the queues, `baocao sim` and `baocao dead-letters`.
//!
//! - [`topology`]: the exchanges and queues of SPEC §3.1, as configured (`[broker]`), and
//!   declaring them.
//! - [`budget`]: a bound in bytes on the messages a consumer's connection has read and not
//!   yet let go, kept by the frame reader.
//! - [`connection`]: connecting once, failing fast, and closing within a bounded time.
//! - [`nodes`]: the nodes `BAOCAO_AMQP_URL` lists (one, or a cluster's several, separated by
//!   commas) and the order they are tried in.
//! - [`frames`]: the broker's frames screened before lapin parses them, so that bytes a
//!   publisher can send (a routing key that is not UTF-8, headers nested thousands deep) never
//!   drop the connection or overflow the stack.
//! - [`publish`]: publishing persistent messages with confirms, mandatory, and the header
//!   helpers.
//! - [`inspect`]: how many messages and consumers a queue has, without touching its messages.
//!
//! Reconnecting is the caller's loop (with `lifecycle::Backoff`), not lapin's automatic
//! recovery: see [`connection::connect`].

pub mod budget;
pub mod connection;
pub mod frames;
pub mod inspect;
pub mod nodes;
pub mod publish;
pub mod topology;

pub use budget::{Budget, Held};
pub use connection::{close, connect, connect_within, lost_the_connection};
pub use inspect::{QueueDepth, queue_depth};
pub use lapin::Connection;
pub use publish::{
    OutgoingMessage, Publisher, SOURCE_HEADER, encoded_size, header_text, long_string, text_headers,
};
pub use topology::{QueueType, Topology, declare};
