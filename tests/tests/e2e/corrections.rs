//! A correction supersedes its earlier revision's messages whatever state they are in: one
//! being sent at that moment is recorded as sent if the server took it, and otherwise stays
//! superseded and is never attempted again, even after its lease expires. Only the correction
//! reaches the recipients after it.

use std::path::Path;
use std::time::Duration;

use baocao_tests::{SmtpServer, TestEnv, issue_reference_month, period};
use chrono::{DateTime, TimeDelta, Utc};
use reporter::job::{self, Issued, Resend, UnitJob};
use reporter::sender::{Mailer, RetryPolicy, Sender};
use store::outbox::{Claimed, Outcome, Recorded};
use uuid::Uuid;

const LEASE: TimeDelta = TimeDelta::minutes(5);

/// Issues revision 2 of the reference month, replacing revision 1.
async fn correct(env: &TestEnv, job: &UnitJob<'_>, at: DateTime<Utc>) {
    let correction = Resend::Correction { replaces: Some(1) };
    let stored = job::issue(&env.pool, job, period("2026-05"), at, correction)
        .await
        .unwrap();
    assert!(
        matches!(stored, Issued::Stored { revision: 2, .. }),
        "{stored:?}"
    );
}

/// The reference month issued, its first message claimed by a sender (returned) as its day
/// begins, then corrected a minute later, the message still in that sender's hands.
async fn claimed_then_corrected(env: &TestEnv) -> (Uuid, Claimed, DateTime<Utc>) {
    let (job, now) = issue_reference_month(env).await;
    let sender = Uuid::new_v4();
    let claimed = store::outbox::claim_next(&env.pool, sender, now, LEASE)
        .await
        .unwrap()
        .unwrap();
    correct(env, &job, now + TimeDelta::minutes(1)).await;
    (sender, claimed, now)
}

async fn state(env: &TestEnv, outbox_id: i64) -> String {
    sqlx::query_scalar("select state from outbox where outbox_id = $1")
        .bind(outbox_id)
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

/// Claims, as a new sender at `at`, every message due; returns each one's revision.
async fn claim_all(env: &TestEnv, at: DateTime<Utc>) -> Vec<(i64, i32)> {
    let sender = Uuid::new_v4();
    let mut claimed = Vec::new();
    while let Some(message) = store::outbox::claim_next(&env.pool, sender, at, LEASE)
        .await
        .unwrap()
    {
        claimed.push((message.outbox_id, message.revision));
    }
    claimed
}

#[tokio::test]
async fn a_message_being_sent_when_a_correction_is_issued_stays_superseded_when_its_attempt_fails()
{
    let env = TestEnv::new().await;
    let (sender, claimed, now) = claimed_then_corrected(&env).await;
    assert_eq!(state(&env, claimed.outbox_id).await, "superseded");

    // The attempt in flight fails: recorded, and the message stays superseded.
    let failed = Outcome::Retry("timed out".into(), now + TimeDelta::minutes(2));
    let recorded = store::outbox::record(&env.pool, claimed.outbox_id, sender, &failed, now)
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::Superseded);
    assert_eq!(state(&env, claimed.outbox_id).await, "superseded");
    let attempts = env
        .scalar("select count(*) from delivery_attempt where outcome = 'retry'")
        .await;
    assert_eq!(attempts, 1);

    // Long after its lease and its retry time, only the correction's messages are claimed.
    let claimed_later = claim_all(&env, now + TimeDelta::hours(1)).await;
    assert_eq!(claimed_later.len(), 5, "{claimed_later:?}");
    assert!(
        claimed_later.iter().all(|(_, revision)| *revision == 2),
        "{claimed_later:?}"
    );
}

#[tokio::test]
async fn a_message_whose_sender_died_during_a_correction_is_never_claimed_after_its_lease() {
    let env = TestEnv::new().await;
    let (dead, claimed, now) = claimed_then_corrected(&env).await;
    let after_lease = now + LEASE + TimeDelta::minutes(10);
    let claimed_later = claim_all(&env, after_lease).await;
    assert!(
        claimed_later
            .iter()
            .all(|(id, revision)| *id != claimed.outbox_id && *revision == 2),
        "{claimed_later:?}"
    );
    assert_eq!(state(&env, claimed.outbox_id).await, "superseded");
    // The sender was only slow: its failure, recorded late, changes nothing.
    let failed = Outcome::Failed("550 no such mailbox".into());
    let recorded = store::outbox::record(&env.pool, claimed.outbox_id, dead, &failed, after_lease)
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::Superseded);
    assert_eq!(state(&env, claimed.outbox_id).await, "superseded");
}

#[tokio::test]
async fn a_message_being_sent_when_a_correction_is_issued_is_recorded_sent_if_the_server_took_it() {
    let env = TestEnv::new().await;
    let (sender, claimed, now) = claimed_then_corrected(&env).await;
    let sent = Outcome::Sent("250 2.0.0 accepted".into());
    let at = now + TimeDelta::minutes(2);
    let recorded = store::outbox::record(&env.pool, claimed.outbox_id, sender, &sent, at)
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::Applied);
    assert_eq!(state(&env, claimed.outbox_id).await, "sent");
    let sent_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("select sent_at from outbox where outbox_id = $1")
            .bind(claimed.outbox_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(sent_at, Some(at));
}

#[tokio::test]
async fn a_correction_issued_while_the_server_stalls_on_a_message_leaves_only_the_correction_to_send()
 {
    let env = TestEnv::new().await;
    let (job, now) = issue_reference_month(&env).await;
    let mut server = SmtpServer::start_stalling(&[&env.first_in_line().await]);
    let mailer = Mailer::new(Some(&server.url()), Path::new("unused"))
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    let stalled = Sender::new(mailer, RetryPolicy::default());
    let pool = env.pool.clone();
    let attempt = tokio::spawn(async move { stalled.send_next(&pool, now).await });
    baocao_tests::until("the first message in flight", || async {
        env.scalar("select count(*) from outbox where state = 'sending'")
            .await
            == 1
    })
    .await;
    correct(&env, &job, now + TimeDelta::minutes(1)).await;
    let (outbox_id, outcome) = tokio::time::timeout(Duration::from_secs(30), attempt)
        .await
        .expect("the attempt ends within its bound")
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, Outcome::Retry(..)), "{outcome:?}");
    assert_eq!(state(&env, outbox_id).await, "superseded");

    // The server answers again: the correction reaches every address, revision 1 none.
    server.pause();
    server.set_stall(&[]);
    server.resume();
    let mailer = Mailer::new(Some(&server.url()), Path::new("unused")).unwrap();
    let sender = Sender::new(mailer, RetryPolicy::default());
    let later = now + TimeDelta::hours(1);
    while sender.send_next(&env.pool, later).await.unwrap().is_some() {}
    let messages = server.messages();
    assert_eq!(messages.len(), 5);
    for message in &messages {
        let id = message["message_id"].as_str().unwrap();
        assert!(id.starts_with("<baocao.tri-qua.2026-05.r2."), "{id}");
    }
}
