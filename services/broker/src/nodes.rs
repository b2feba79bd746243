//! The nodes of `BAOCAO_AMQP_URL`: one AMQP URL, or several separated by commas (the nodes of a
//! RabbitMQ cluster reached without a load-balancing Service), and the order in which
//! [`crate::connect`] tries them.
//!
//! The order is the listed one, except that a node that failed lately (a connection attempt
//! refused or unanswered, or an established connection lost) is tried after the others for
//! [`SUSPECT_FOR`]: a node that is frozen accepts TCP and then answers nothing, and each try at
//! it would cost the whole attempt's bound. This memory is the process's, shared by every
//! connection made to the same nodes. Nothing here ever shows a password: a node is named by
//! its host and port.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use lapin::uri::AMQPUri;

/// How long a node that failed is tried after the others.
pub const SUSPECT_FOR: Duration = Duration::from_secs(30);

/// The nodes of one `BAOCAO_AMQP_URL`, in the order listed.
#[derive(Debug, Clone)]
pub struct Nodes {
    nodes: Vec<Node>,
}

/// One node: its URL, parsed, and its name for messages.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's URL, credentials included: never printed.
    pub uri: AMQPUri,
    /// `host:port`, for messages and logs.
    pub name: String,
}

impl Nodes {
    /// Parses `url`: one AMQP URL, or several separated by commas. An error names the node by
    /// its place in the list, never quoting the URL (it holds the password; the parse error of
    /// amq-protocol-uri would quote it whole).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let parts: Vec<&str> = url.split(',').map(str::trim).collect();
        let mut nodes = Vec::with_capacity(parts.len());
        for (at, part) in parts.iter().enumerate() {
            let uri = part
                .parse::<AMQPUri>()
                .map_err(|_| invalid(at, parts.len()))?;
            let name = format!("{}:{}", uri.authority.host, uri.authority.port);
            nodes.push(Node { uri, name });
        }
        Ok(Self { nodes })
    }

    /// How many nodes are listed.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the list is empty (it never is once parsed).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes in the order to try them: as listed, those that failed within
    /// [`SUSPECT_FOR`] last.
    pub fn in_order(&self) -> Vec<&Node> {
        let suspects = suspects();
        let (mut trusted, suspected): (Vec<&Node>, Vec<&Node>) = self
            .nodes
            .iter()
            .partition(|node| !is_suspect(&suspects, &node.name));
        trusted.extend(suspected);
        trusted
    }
}

/// The error for the node at `at` of `count`, without the URL.
fn invalid(at: usize, count: usize) -> anyhow::Error {
    let which = if count == 1 {
        String::new()
    } else {
        format!(" (node {} of {count})", at + 1)
    };
    anyhow::anyhow!(
        "BAOCAO_AMQP_URL is not a valid AMQP URL{which}: amqp://user:password@host:port/vhost, \
         several separated by commas"
    )
}

/// When each node (by name) last failed, for the whole process.
static FAILED: LazyLock<Mutex<HashMap<String, Instant>>> = LazyLock::new(Mutex::default);

fn suspects() -> HashMap<String, Instant> {
    match FAILED.lock() {
        Ok(failed) => failed.clone(),
        // Only a panic while holding the lock poisons it; the times inside are still right.
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn is_suspect(suspects: &HashMap<String, Instant>, name: &str) -> bool {
    suspects
        .get(name)
        .is_some_and(|at| at.elapsed() < SUSPECT_FOR)
}

/// Notes that the node `name` failed now: it is tried last for a while.
pub fn suspect(name: &str) {
    let mut failed = FAILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    failed.insert(name.to_owned(), Instant::now());
}

/// Notes that the node `name` answered: it takes its listed place again.
pub fn trust(name: &str) {
    let mut failed = FAILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    failed.remove(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_nodes_are_tried_in_the_listed_order_a_failed_one_last() {
        let nodes = Nodes::parse(
            "amqp://u:p@10.0.0.1:5672/v, amqp://u:p@10.0.0.2:5673/v,amqp://u:p@10.0.0.3/v",
        )
        .expect("three nodes");
        let names = |nodes: &Nodes| -> Vec<String> {
            nodes.in_order().iter().map(|n| n.name.clone()).collect()
        };
        assert_eq!(
            names(&nodes),
            ["10.0.0.1:5672", "10.0.0.2:5673", "10.0.0.3:5672"]
        );
        suspect("10.0.0.1:5672");
        assert_eq!(
            names(&nodes),
            ["10.0.0.2:5673", "10.0.0.3:5672", "10.0.0.1:5672"]
        );
        trust("10.0.0.1:5672");
        assert_eq!(names(&nodes)[0], "10.0.0.1:5672");
    }

    #[test]
    fn a_bad_node_is_named_by_its_place_never_by_its_url() {
        let error = Nodes::parse("amqp://u:s3cret@good/v,amqp:u:s3cret@bad/v")
            .expect_err("the second node is malformed");
        let message = format!("{error:#}");
        assert!(message.contains("node 2 of 2"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
        assert!(Nodes::parse("amqp://u:p@one/v,").is_err(), "an empty node");
    }
}
