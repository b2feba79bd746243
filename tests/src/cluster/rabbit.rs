//! Three RabbitMQ nodes of the installed server clustered on this machine, each with its own
//! node name, ports and folder: the first boots alone, the other two join it
//! (`classic_config` peer discovery). A quorum queue declared while the three run gets a member
//! on each. Nodes can be killed (SIGKILL) and started again on their data, or frozen (SIGSTOP)
//! and resumed.
//!
//! Each node runs with the Erlang shell on a pipe from this process (`RABBITMQ_ALLOW_INPUT`):
//! the start script then runs the VM in place, so the child is the node itself, and the VM
//! halts at the pipe's end if this process dies. The nodes share the machine's Erlang cookie
//! (`~rabbitmq/.erlang.cookie`) and its epmd; management and every other plugin are off, and
//! the machine's own node is never touched.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{Scratch, User, free_port, signal};
use crate::until_within;

/// The server's scripts (the `/usr/sbin` wrappers would run them as another user with their
/// own logs).
const SCRIPTS: &str = "/usr/lib/rabbitmq/bin";

/// The heartbeat the kit's URLs ask for, in seconds: a frozen node is noticed after two
/// (lapin closes a connection that has read nothing for twice the heartbeat).
pub const HEARTBEAT_SECONDS: u16 = 5;

/// How long a node may take to boot (a fresh one takes about 6 s on this machine, one joining
/// or starting again on its data up to 15 s).
const BOOT: Duration = Duration::from_secs(90);

/// Three clustered nodes; stopped when dropped.
pub struct RabbitCluster {
    nodes: Vec<Node>,
    user: User,
}

/// One node.
struct Node {
    /// `bct<tag>n<i>@localhost`.
    name: String,
    /// Its AMQP port on 127.0.0.1.
    port: u16,
    /// Its Erlang distribution port.
    dist_port: u16,
    /// Its folder: configuration, data, logs.
    dir: PathBuf,
    /// The running node, if any.
    process: Option<Child>,
}

/// A queue as one node sees it.
#[derive(Debug, Clone)]
pub struct QueueInfo {
    /// Its name.
    pub name: String,
    /// `quorum`, `classic`, …
    pub kind: String,
    /// The node of its leader.
    pub leader: String,
    /// The nodes of its members.
    pub members: Vec<String>,
    /// The members that are online.
    pub online: Vec<String>,
}

impl RabbitCluster {
    /// Starts three nodes in folders of `scratch` and clusters them: the first alone, then the
    /// other two joining it; returns once all three run in one cluster.
    pub async fn start(scratch: &Scratch) -> Self {
        let user = User::lookup("rabbitmq");
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
        let mut nodes: Vec<Node> = (1..=3)
            .map(|i| Node::new(scratch, &user, &format!("bct{tag}n{i}@localhost")))
            .collect();
        let first = nodes[0].name.clone();
        for (i, node) in nodes.iter().enumerate() {
            node.write_config(&user, (i > 0).then_some(first.as_str()));
        }
        let mut cluster = Self {
            nodes: Vec::new(),
            user,
        };
        nodes[0].process = Some(cluster.spawn(&nodes[0]));
        wait_for_port(nodes[0].port).await;
        for node in &mut nodes[1..] {
            node.process = Some(cluster.spawn(node));
        }
        for node in &nodes[1..] {
            wait_for_port(node.port).await;
        }
        cluster.nodes = nodes;
        cluster.wait_for_running(0, 3).await;
        cluster
    }

    /// The URL of the default vhost on every node, first to last, as `BAOCAO_AMQP_URL` takes
    /// them: comma-separated, each with [`HEARTBEAT_SECONDS`].
    pub fn url(&self) -> String {
        let order: Vec<usize> = (0..self.nodes.len()).collect();
        self.url_in_order(&order)
    }

    /// The same URLs in another order (node indexes from 0).
    pub fn url_in_order(&self, order: &[usize]) -> String {
        let urls: Vec<String> = order.iter().map(|&i| self.node_url(i)).collect();
        urls.join(",")
    }

    /// The URL of the default vhost on node `node` alone.
    pub fn node_url(&self, node: usize) -> String {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f?heartbeat={HEARTBEAT_SECONDS}",
            self.nodes[node].port
        )
    }

    /// Node `node`'s Erlang name.
    pub fn node_name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    /// The index of the node named `name`.
    pub fn index_of(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|node| node.name == name)
            .unwrap_or_else(|| panic!("{name} is not a node of the kit"))
    }

    /// Kills node `node` with SIGKILL, as a crashed machine or an OOM kill would, and reaps it.
    pub fn kill(&mut self, node: usize) {
        if let Some(mut process) = self.nodes[node].process.take() {
            process.kill().ok();
            process.wait().ok();
        }
    }

    /// Starts node `node` again on its data; returns once it runs in the cluster again.
    pub async fn restart(&mut self, node: usize) {
        assert!(self.nodes[node].process.is_none(), "the node still runs");
        let process = self.spawn(&self.nodes[node]);
        self.nodes[node].process = Some(process);
        wait_for_port(self.nodes[node].port).await;
        let other = (node + 1) % self.nodes.len();
        self.wait_for_running(other, self.nodes.len()).await;
    }

    /// Whether node `node` runs (frozen or not).
    pub fn is_running(&self, node: usize) -> bool {
        self.nodes[node].process.is_some()
    }

    /// Freezes node `node` (SIGSTOP): its sockets stay open and nothing answers on them.
    pub fn freeze(&self, node: usize) {
        signal(self.pid(node), "STOP");
    }

    /// Resumes a frozen node (SIGCONT).
    pub fn thaw(&self, node: usize) {
        signal(self.pid(node), "CONT");
    }

    fn pid(&self, node: usize) -> i64 {
        let process = self.nodes[node].process.as_ref().expect("the node runs");
        i64::from(process.id())
    }

    /// Runs `rabbitmqctl` against node `node` with `args`; its standard output. Panics if it
    /// fails.
    pub fn ctl(&self, node: usize, args: &[&str]) -> String {
        self.try_ctl(node, args)
            .unwrap_or_else(|error| panic!("rabbitmqctl {args:?}: {error}"))
    }

    /// Runs `rabbitmqctl` against node `node` with `args`: its standard output, or why it
    /// failed.
    pub fn try_ctl(&self, node: usize, args: &[&str]) -> Result<String, String> {
        let output = self
            .user
            .command(Path::new(SCRIPTS).join("rabbitmqctl"))
            .env(
                "RABBITMQ_CONF_ENV_FILE",
                self.nodes[node].dir.join("env.conf"),
            )
            .args(["-n", &self.nodes[node].name, "-q"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("rabbitmqctl does not run: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "on {}: {}",
                self.nodes[node].name,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// What `rabbitmqctl` with `args` (ending `--formatter json`) prints on node `via`, as JSON;
    /// null if it fails.
    fn ctl_json(&self, via: usize, args: &[&str]) -> Value {
        self.try_ctl(via, args)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// The rows of a listing by `rabbitmqctl` (see [`RabbitCluster::ctl_json`]); none if it
    /// fails.
    fn ctl_rows(&self, via: usize, args: &[&str]) -> Vec<Value> {
        match self.ctl_json(via, args) {
            Value::Array(rows) => rows,
            _ => Vec::new(),
        }
    }

    /// The nodes running in the cluster, as node `via` sees it (none if it does not answer).
    pub fn running_nodes(&self, via: usize) -> Vec<String> {
        let status = self.ctl_json(via, &["cluster_status", "--formatter", "json"]);
        strings(&status["running_nodes"])
    }

    /// The default vhost's queues as node `via` sees them (none if it does not answer).
    pub fn queues(&self, via: usize) -> Vec<QueueInfo> {
        let columns = ["name", "type", "leader", "members", "online"];
        let mut args = vec!["list_queues", "-p", "/"];
        args.extend(columns);
        args.extend(["--formatter", "json"]);
        self.ctl_rows(via, &args)
            .iter()
            .map(|row| QueueInfo {
                name: row["name"].as_str().unwrap_or_default().to_owned(),
                kind: row["type"].as_str().unwrap_or_default().to_owned(),
                leader: row["leader"].as_str().unwrap_or_default().to_owned(),
                members: strings(&row["members"]),
                online: strings(&row["online"]),
            })
            .collect()
    }

    /// The client connections of the cluster, as node `via` sees them: each one's name (as the
    /// client gave it) and the index of the node it is connected to.
    pub fn connections(&self, via: usize) -> Vec<(String, usize)> {
        let args = [
            "list_connections",
            "port",
            "client_properties",
            "--formatter",
            "json",
        ];
        self.ctl_rows(via, &args)
            .iter()
            .filter_map(|row| {
                let port = row["port"].as_u64()?;
                let node = self.nodes.iter().position(|n| u64::from(n.port) == port)?;
                let properties = row["client_properties"].as_array()?;
                let name = properties
                    .iter()
                    .find(|p| p[0] == "connection_name")
                    .and_then(|p| p[2].as_str())
                    .unwrap_or_default();
                Some((name.to_owned(), node))
            })
            .collect()
    }

    /// Waits until node `via` sees `count` nodes running.
    async fn wait_for_running(&self, via: usize, count: usize) {
        until_within("the RabbitMQ nodes clustered", BOOT, || async {
            self.running_nodes(via).len() == count
        })
        .await;
    }

    /// Waits until every quorum queue of the default vhost, as node `via` sees it, has a member
    /// on each node and all of them online.
    pub async fn wait_for_queue_members(&self, via: usize) {
        let count = self.nodes.len();
        until_within("every quorum queue's members online", BOOT, || async {
            self.queues(via)
                .iter()
                .filter(|queue| queue.kind == "quorum")
                .all(|queue| queue.members.len() == count && queue.online.len() == count)
        })
        .await;
    }

    /// Starts `node` as the RabbitMQ user, its output into its folder.
    fn spawn(&self, node: &Node) -> Child {
        let log = std::fs::File::create(node.dir.join("console.log")).expect("the console log");
        let errors = log.try_clone().expect("the console log twice");
        let mut command = self
            .user
            .command(Path::new(SCRIPTS).join("rabbitmq-server"));
        node.environment(&mut command);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(errors))
            .spawn()
            .expect("rabbitmq-server starts")
    }
}

impl Drop for RabbitCluster {
    fn drop(&mut self) {
        for node in 0..self.nodes.len() {
            if self.nodes[node].process.is_some() {
                // A frozen node would not notice the pipe's end: SIGKILL works on it too, but
                // resume it first so that nothing of it waits.
                super::try_signal(self.pid(node), "CONT");
                self.kill(node);
            }
        }
    }
}

impl Node {
    fn new(scratch: &Scratch, user: &User, name: &str) -> Self {
        let short = name.split('@').next().unwrap_or(name);
        Self {
            name: name.to_owned(),
            port: free_port(),
            dist_port: free_port(),
            dir: scratch.folder_for(short, user),
            process: None,
        }
    }

    /// Writes the node's configuration (joining `join`'s cluster at its first boot, if given),
    /// its empty plugin list and its empty environment file, readable by `user`.
    fn write_config(&self, user: &User, join: Option<&str>) {
        let mut config = format!(
            "listeners.tcp.default = 127.0.0.1:{}\n\
             loopback_users = none\n\
             cluster_partition_handling = pause_minority\n",
            self.port
        );
        if let Some(first) = join {
            config.push_str(&format!(
                "cluster_formation.peer_discovery_backend = classic_config\n\
                 cluster_formation.classic_config.nodes.1 = {first}\n"
            ));
        }
        for (file, text) in [
            ("rabbitmq.conf", config.as_str()),
            ("enabled_plugins", "[].\n"),
            ("env.conf", ""),
        ] {
            let path = self.dir.join(file);
            std::fs::write(&path, text).expect("a node's file");
            std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid)).expect("chown");
        }
    }

    /// The node's environment: its own name, ports, folders and files; nothing of the
    /// machine's node's configuration.
    fn environment(&self, command: &mut Command) {
        let dir = |name: &str| self.dir.join(name);
        command
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir("log"))
            .env("RABBITMQ_CONFIG_FILE", dir("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir("enabled_plugins"))
            .env("RABBITMQ_CONF_ENV_FILE", dir("env.conf"))
            .env("RABBITMQ_ALLOW_INPUT", "true")
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            );
    }
}

/// The strings of a JSON array.
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`: a node opens its AMQP
/// listener last, once it has booted (and joined its cluster).
async fn wait_for_port(port: u16) {
    until_within(
        &format!("a RabbitMQ node listening on {port}"),
        BOOT,
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
}
