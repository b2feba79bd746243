//! Frames the AMQP client library cannot parse (SPEC §3.4): a routing key, a `type` property or
//! a header key that is not UTF-8 (a Vietnamese name cut at 255 bytes by a publisher; RabbitMQ
//! does not check), and headers nested 20,000 arrays deep (100 KB, inside one frame). Published
//! byte by byte among valid events, each ends in `baocao.dead` with its bytes escaped, every
//! valid event counts, the queues drain, and the worker stays up; `dead-letters list` and
//! `replay` read them too.

use std::path::Path;
use std::time::Duration;

use baocao_tests::raw_amqp::{RawMessage, RawPublisher, nested_arrays_entry, text_entry};
use baocao_tests::{TestEnv, documents, terminate};

const WAIT: Duration = Duration::from_secs(60);

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// "Phường Trí Quả" cut in the middle of "ả" (two of its three bytes), as a publisher that
/// cuts at a byte count would.
fn cut_name() -> Vec<u8> {
    let name = "document.signed.Phường Trí Quả".as_bytes();
    name[..name.len() - 1].to_vec()
}

/// A valid event's body: what the hostile frames carry, so that only the frame is wrong.
fn valid_body(prefix: &str) -> Vec<u8> {
    serde_json::to_vec(&documents(prefix, 1)[0]).expect("JSON")
}

/// The four messages lapin cannot read, each with a valid event as its body.
fn unreadable_messages() -> Vec<RawMessage> {
    let base = |prefix: &str| RawMessage {
        exchange: "eoffice.events".into(),
        routing_key: b"document.signed".to_vec(),
        body: valid_body(prefix),
        ..RawMessage::default()
    };
    vec![
        RawMessage {
            routing_key: cut_name(),
            ..base("routing-key")
        },
        RawMessage {
            headers: Some(text_entry(&cut_name(), "a value")),
            ..base("header-key")
        },
        RawMessage {
            headers: Some(nested_arrays_entry("x-deep", 20_000)),
            ..base("deep")
        },
        RawMessage {
            type_property: Some(cut_name()),
            ..base("type-property")
        },
    ]
}

async fn publish_raw(env: &TestEnv, messages: &[RawMessage]) {
    let mut publisher = RawPublisher::connect(&env.name).await.expect("connected");
    for message in messages {
        publisher.publish(message).await.expect("published");
    }
    publisher.close().await.expect("closed");
}

#[tokio::test]
async fn frames_lapin_cannot_parse_are_dead_lettered_and_the_valid_events_around_them_count() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    broker.publish_events(&documents("before", 10)).await;
    publish_raw(&env, &unreadable_messages()).await;
    broker.publish_events(&documents("after", 30)).await;
    let (mut worker, _) = env.spawn_ingest(binary()).await;

    env.wait_for_stored(40, WAIT).await;
    env.wait_for_dead_letters(4, WAIT).await;
    assert_eq!(env.queue_depth("baocao.eoffice").await, 0);
    assert_eq!(env.queue_depth("baocao.portal").await, 0);
    assert!(
        worker.try_wait().expect("the worker's status").is_none(),
        "the worker died"
    );
    // The valid bodies of the unreadable frames were not counted.
    assert_eq!(env.stored_events().await, 40);
    terminate(worker).await;

    let letters = env.dead_letters().await;
    assert_eq!(letters.len(), 4, "{letters:?}");
    for letter in &letters {
        assert_eq!(letter.reason, "unreadable_frame", "{letter:?}");
        assert!(letter.detail.len() <= 1024, "{}", letter.detail.len());
    }
    let details: Vec<&str> = letters.iter().map(|l| l.detail.as_str()).collect();
    // The bytes are shown escaped, not hidden: "ả" is e1 ba a3 in UTF-8.
    let escaped = "Qu\\xe1\\xba";
    assert!(
        details
            .iter()
            .any(|d| d.contains("routing key") && d.contains(escaped)),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("header key") && d.contains(escaped)),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.contains("nested deeper")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("type") && d.contains(escaped)),
        "{details:?}"
    );
    broker.close().await;
}

#[tokio::test]
async fn dead_letters_list_and_replay_survive_letters_lapin_cannot_parse() {
    let env = TestEnv::new().await;
    let broker = env.broker().await;
    // Letters straight on the dead-letter exchange, as a publisher or the broker could leave
    // them: no baocao header says where they came from.
    let mut hostile = unreadable_messages();
    for message in &mut hostile {
        message.exchange = env.config.broker.dead_exchange.clone();
    }
    publish_raw(&env, &hostile).await;
    // And one ordinary letter baocao could replay.
    broker
        .publish_raw("eoffice.events", "document.signed", b"not json")
        .await;
    let (worker, _) = env.spawn_ingest(binary()).await;
    env.wait_for_dead_letters(5, WAIT).await;
    terminate(worker).await;

    let list = env
        .command(binary())
        .args(["dead-letters", "list"])
        .output()
        .expect("dead-letters list runs");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(listed.matches("unreadable_frame").count(), 4, "{listed}");
    assert!(listed.contains("Qu\\xe1\\xba"), "{listed}");

    let replay = env
        .command(binary())
        .args(["dead-letters", "replay"])
        .output()
        .expect("dead-letters replay runs");
    let told = format!(
        "{}{}",
        String::from_utf8_lossy(&replay.stdout),
        String::from_utf8_lossy(&replay.stderr)
    );
    // The four are reported and left, the ordinary one is put back on its queue.
    assert!(told.contains("replayed 1 dead letters; 4 left"), "{told}");
    assert_eq!(told.matches("unreadable_frame").count(), 4, "{told}");
    assert_eq!(env.queue_depth("baocao.dead").await, 4);
    assert_eq!(env.queue_depth("baocao.eoffice").await, 1);
    broker.close().await;
}
