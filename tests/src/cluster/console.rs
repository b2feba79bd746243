//! The kit for a person (`scripts/cluster`): every part started, the environment to point
//! `baocao` at it printed, then one command a line on standard input to cause the faults the
//! tests cause, until `quit`, the input's end or Ctrl-C; everything is removed on the way out.

use super::Scratch;
use super::endpoint::Endpoint;
use super::postgres::PgPair;
use super::rabbit::RabbitCluster;

/// What a person can type.
const HELP: &str = "\
commands (nodes are 1, 2, 3):
  nodes                 the nodes and where the queues' leaders are
  kill N | start N      SIGKILL node N / start it again on its data
  freeze N | thaw N     SIGSTOP node N / SIGCONT it
  kill-primary          SIGKILL the PostgreSQL primary
  promote               promote the standby
  point primary|standby where the endpoint sends new connections
  cut                   end the connections through the endpoint
  help | quit";

/// Every part of the kit; stopped and removed when dropped (the servers before their folder).
pub struct Kit {
    rabbit: RabbitCluster,
    pair: PgPair,
    endpoint: Endpoint,
    scratch: Scratch,
}

impl Kit {
    /// Starts the three RabbitMQ nodes, the primary and its standby, and the endpoint on the
    /// primary.
    pub async fn start() -> Self {
        let scratch = Scratch::new();
        let rabbit = RabbitCluster::start(&scratch).await;
        let pair = PgPair::start(&scratch).await;
        let endpoint = Endpoint::start(pair.primary.port).await;
        Self {
            rabbit,
            pair,
            endpoint,
            scratch,
        }
    }

    /// Prints how to use the kit, then runs the commands read from standard input.
    pub async fn serve(mut self) {
        println!("the kit runs in {}", self.scratch.path().display());
        println!("export BAOCAO_AMQP_URL='{}'", self.rabbit.url());
        println!(
            "export BAOCAO_DATABASE_URL='{}/baocao'",
            self.endpoint.postgres_base_url()
        );
        println!(
            "PostgreSQL: primary 127.0.0.1:{}, synchronous standby 127.0.0.1:{}",
            self.pair.primary.port, self.pair.standby.port
        );
        println!("{HELP}");
        let mut lines = stdin_lines();
        loop {
            let line = tokio::select! {
                line = lines.recv() => line,
                _ = tokio::signal::ctrl_c() => None,
            };
            let Some(line) = line else { break };
            let words: Vec<&str> = line.split_whitespace().collect();
            match self.run(&words).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(problem) => println!("{problem}\n{HELP}"),
            }
        }
        println!("removing the kit");
    }

    /// Runs one command; false to stop.
    async fn run(&mut self, words: &[&str]) -> Result<bool, String> {
        match words {
            [] => {}
            ["quit"] => return Ok(false),
            ["help"] => println!("{HELP}"),
            ["nodes"] => self.show_nodes(),
            [action, node] if ["kill", "start", "freeze", "thaw"].contains(action) => {
                let node = node_index(node)?;
                if *action == "start" && self.rabbit.is_running(node) {
                    return Err(format!("{} runs already", self.rabbit.node_name(node)));
                }
                match *action {
                    "kill" => self.rabbit.kill(node),
                    "start" => self.rabbit.restart(node).await,
                    "freeze" => self.rabbit.freeze(node),
                    _ => self.rabbit.thaw(node),
                }
                println!("{action}: {} done", self.rabbit.node_name(node));
            }
            ["kill-primary"] => self.pair.primary.kill(),
            ["promote"] => self.pair.promote_standby().await,
            ["point", "primary"] => self.endpoint.point_at(self.pair.primary.port),
            ["point", "standby"] => self.endpoint.point_at(self.pair.standby.port),
            ["cut"] => self.endpoint.cut(),
            _ => return Err(format!("not a command: {}", words.join(" "))),
        }
        Ok(true)
    }

    fn show_nodes(&self) {
        for node in 0..3 {
            println!("{}: {}", node + 1, self.rabbit.node_name(node));
        }
        for queue in self.rabbit.queues(0) {
            println!(
                "{} ({}): leader {}, online {:?}",
                queue.name, queue.kind, queue.leader, queue.online
            );
        }
    }
}

/// The index of node `text` (1 to 3).
fn node_index(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(node @ 1..=3) => Ok(node - 1),
        _ => Err(format!("no node {text}: 1, 2 or 3")),
    }
}

/// The lines of standard input, read on a thread of their own (the kit's servers go on
/// meanwhile); the channel ends with the input.
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (send, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}
