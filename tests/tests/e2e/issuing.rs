//! Issuing reports: each due period once, whatever the number of reporters; numbered in
//! sequence; frozen with one outbox message per address; corrected revisions on request.

use baocao_tests::{TestEnv, event, instant, period, tri_qua};
use chrono::{DateTime, Utc};
use domain::Period;
use reporter::job::{self, Issued, Resend, UnitJob};
use reporter::scheduler::{self, Done};
use reporter::state::ReportState;
use serde_json::json;

fn unit_job(env: &TestEnv) -> UnitJob<'_> {
    let profile = env.config.unit("tri-qua").unwrap();
    env.settings().reporter_config().unwrap().job(profile)
}

/// The scheduler's step at `now`, with every due period issued (none waiting or failing).
async fn step(
    env: &TestEnv,
    jobs: &[UnitJob<'_>],
    now: DateTime<Utc>,
) -> Vec<(String, Period, Issued)> {
    let done = scheduler::step(&env.pool, jobs, now, std::time::Duration::ZERO)
        .await
        .unwrap();
    done.into_iter()
        .map(|(unit, period, done)| match done {
            Done::Issued(issued) => (unit.to_string(), period, issued),
            other => panic!("{unit} {period}: {other:?}"),
        })
        .collect()
}

/// The reference month ingested, and the unit first run on 1 May: May is due on the 18th.
async fn registered_before_may(env: &TestEnv) -> [UnitJob<'_>; 1] {
    env.ingest_reference_month().await;
    let jobs = [unit_job(env)];
    step(env, &jobs, instant("2026-05-01T00:00:00Z")).await;
    jobs
}

/// The scheduler's step at May's sending time, a due report waiting at most `wait`.
async fn step_at_eight_on_the_eighteenth(
    env: &TestEnv,
    jobs: &[UnitJob<'_>],
    wait: std::time::Duration,
) -> Vec<(domain::UnitCode, Period, Done)> {
    scheduler::step(&env.pool, jobs, instant("2026-05-18T01:00:00Z"), wait)
        .await
        .unwrap()
}

/// Where May's report stands half an hour after its sending time.
async fn state_at_half_past_eight(
    env: &TestEnv,
    job: &UnitJob<'_>,
    wait: std::time::Duration,
) -> reporter::state::Judged {
    let at = instant("2026-05-18T01:30:00Z");
    reporter::state::of_period(&env.pool, job, period("2026-05"), at, wait)
        .await
        .unwrap()
}

/// The step an hour after May's sending time issues it, whatever ingest says.
async fn issued_at_its_bound(env: &TestEnv, jobs: &[UnitJob<'_>], wait: std::time::Duration) {
    let late = scheduler::step(&env.pool, jobs, instant("2026-05-18T02:00:00Z"), wait)
        .await
        .unwrap();
    assert!(
        matches!(&late[..], [(_, _, Done::Issued(Issued::Stored { .. }))]),
        "{late:?}"
    );
}

async fn outbox_rows(env: &TestEnv) -> Vec<(i32, String, String, String)> {
    sqlx::query_as(
        "select report.revision, outbox.address, outbox.state, outbox.message_id
         from outbox join report using (report_id) order by report.revision, outbox.address",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap()
}

/// The five addresses of the shipped "Nơi nhận" (the "Lưu: VT" line has none).
const ADDRESSES: usize = 5;

#[tokio::test]
async fn two_reporters_issuing_the_same_period_store_one_revision() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let job = unit_job(&env);
    let now = instant("2026-05-18T01:00:00Z");
    let (a, b) = tokio::join!(
        job::issue(&env.pool, &job, period("2026-05"), now, Resend::No),
        job::issue(&env.pool, &job, period("2026-05"), now, Resend::No),
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|issued| matches!(issued, Issued::AlreadyIssued { .. }));
    assert_eq!(
        outcomes,
        [
            Issued::Stored {
                revision: 1,
                number: Some(103),
                messages: ADDRESSES
            },
            Issued::AlreadyIssued { revision: 1 }
        ]
    );
    let rows = outbox_rows(&env).await;
    assert_eq!(rows.len(), ADDRESSES);
    assert!(rows.iter().all(|(_, _, state, _)| state == "queued"));
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    assert_eq!(ids.len(), ADDRESSES, "one Message-ID per address");

    // The stored text is the golden report: frozen as issued.
    let text: String = sqlx::query_scalar("select body_text from report")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let golden = std::fs::read_to_string(
        baocao_tests::repo_root().join("tests/golden/bao-cao-chuyen-doi-so-thang-5-2026.txt"),
    )
    .unwrap();
    assert_eq!(text, golden);
    let subject: String = sqlx::query_scalar("select subject from report")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        subject,
        "Báo cáo kết quả Chuyển đổi số tháng 5 năm 2026 - UBND phường Trí Quả (Số 103/BC-UBND)"
    );
}

#[tokio::test]
async fn the_scheduler_issues_at_eight_on_the_eighteenth_local_time_and_only_once() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let jobs = [unit_job(&env)];
    // baocao first runs for the unit on 10 May, inside May's window.
    let first = step(&env, &jobs, instant("2026-05-10T00:00:00Z")).await;
    assert!(first.is_empty(), "{first:?}");
    // 07:59:59 on the 18th in Vietnam is 00:59:59 UTC: not yet.
    let early = step(&env, &jobs, instant("2026-05-18T00:59:59Z")).await;
    assert!(early.is_empty(), "{early:?}");
    let due = step(&env, &jobs, instant("2026-05-18T01:00:00Z")).await;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1, period("2026-05"));
    assert!(
        matches!(due[0].2, Issued::Stored { revision: 1, .. }),
        "{due:?}"
    );
    // A reporter restarted a week later does not look at May again (it is settled) and sends
    // no second copy; June's window had no events, so nothing is issued for it.
    let later = step(&env, &jobs, instant("2026-06-25T01:00:00Z")).await;
    assert_eq!(
        later
            .iter()
            .map(|(_, p, issued)| (p.to_string(), issued.clone()))
            .collect::<Vec<_>>(),
        [("2026-06".to_owned(), Issued::NoEvents)]
    );
    assert_eq!(outbox_rows(&env).await.len(), ADDRESSES);
}

#[tokio::test]
async fn a_reporter_down_at_send_time_issues_the_missed_report_once_when_back() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let jobs = [unit_job(&env)];
    step(&env, &jobs, instant("2026-05-01T00:00:00Z")).await;
    // Down from the 17th to the 25th.
    for _ in 0..2 {
        step(&env, &jobs, instant("2026-05-25T03:00:00Z")).await;
    }
    assert_eq!(outbox_rows(&env).await.len(), ADDRESSES);
}

#[tokio::test]
async fn no_report_for_periods_that_ended_before_the_unit_was_configured() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let jobs = [unit_job(&env)];
    // First run on 20 May: May's window closed on the 15th, before baocao knew the unit.
    let done = step(&env, &jobs, instant("2026-05-20T00:00:00Z")).await;
    assert!(done.is_empty(), "{done:?}");
    assert!(outbox_rows(&env).await.is_empty());
}

#[tokio::test]
async fn a_late_event_makes_the_report_out_of_date_and_force_sends_a_numbered_correction() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let job = unit_job(&env);
    let may = period("2026-05");
    let sent_at = instant("2026-05-18T01:00:00Z");
    job::issue(&env.pool, &job, may, sent_at, Resend::No)
        .await
        .unwrap();
    let revisions = store::reports::revisions(&env.pool, &tri_qua(), may)
        .await
        .unwrap();
    let later = instant("2026-05-20T00:00:00Z");
    assert!(
        !job::out_of_date(&env.pool, &job, may, later, &revisions)
            .await
            .unwrap()
    );

    // A document signed on 14 May reaches baocao on the 19th.
    env.ingest(&[event(
        "document.signed",
        "2026-05-14T16:00:00+07:00",
        json!({"document_id": "VB-LATE-1", "digital": true}),
    )])
    .await;
    assert!(
        job::out_of_date(&env.pool, &job, may, later, &revisions)
            .await
            .unwrap()
    );

    let again = job::issue(&env.pool, &job, may, later, Resend::No)
        .await
        .unwrap();
    assert_eq!(again, Issued::AlreadyIssued { revision: 1 });
    assert_eq!(
        outbox_rows(&env).await.len(),
        ADDRESSES,
        "nothing sent without --force"
    );

    let forced = job::issue(
        &env.pool,
        &job,
        may,
        later,
        Resend::Correction { replaces: None },
    )
    .await
    .unwrap();
    assert_eq!(
        forced,
        Issued::Stored {
            revision: 2,
            number: Some(104),
            messages: ADDRESSES
        }
    );
    let (subject, text): (String, String) =
        sqlx::query_as("select subject, body_text from report where revision = 2")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(
        subject.starts_with("[Thay thế báo cáo số 103/BC-UBND] Báo cáo kết quả"),
        "{subject}"
    );
    assert!(subject.ends_with("(Số 104/BC-UBND)"), "{subject}");
    assert_eq!(
        text.lines().next().unwrap(),
        "Báo cáo này thay thế Báo cáo số 103/BC-UBND đã gửi trước đây, với số liệu được cập nhật."
    );
    assert!(
        text.contains("ban hành 158 văn bản, trong đó ký số 158 văn bản"),
        "{text}"
    );
    let rows = outbox_rows(&env).await;
    assert_eq!(rows.iter().filter(|r| r.0 == 2).count(), ADDRESSES);
    let revisions = store::reports::revisions(&env.pool, &tri_qua(), may)
        .await
        .unwrap();
    assert!(
        !job::out_of_date(&env.pool, &job, may, later, &revisions)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_unit_with_its_own_schedule_is_issued_on_its_own_day() {
    let mut config = baocao_tests::shipped_config();
    config.units[0].schedule.send_day = Some(domain::schedule::SendDay::try_from(20).unwrap());
    config.units[0].schedule.send_time =
        Some(domain::schedule::SendTime::try_from("09:30".to_owned()).unwrap());
    let env = TestEnv::with_config(config).await;
    env.ingest_reference_month().await;
    let jobs = [unit_job(&env)];
    step(&env, &jobs, instant("2026-05-01T00:00:00Z")).await;
    // The deployment's 18th at 08:00 passes; the unit's 20th at 09:30 (02:30 UTC) is the day.
    for now in ["2026-05-18T01:00:00Z", "2026-05-20T02:29:59Z"] {
        let done = step(&env, &jobs, instant(now)).await;
        assert!(done.is_empty(), "{now}: {done:?}");
    }
    let done = step(&env, &jobs, instant("2026-05-20T02:30:00Z")).await;
    assert!(
        matches!(done[..], [(_, _, Issued::Stored { revision: 1, .. })]),
        "{done:?}"
    );
    let issued_on: chrono::NaiveDate = sqlx::query_scalar("select issued_on from report")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(issued_on.to_string(), "2026-05-20");
}

#[tokio::test]
async fn a_due_report_waits_for_ingests_backlog_up_to_its_bound() {
    let env = TestEnv::new().await;
    let jobs = registered_before_may(&env).await;
    // Ingest says 250 messages still wait in the queues: May's events may be among them.
    store::schedule::heartbeat(&env.pool, uuid::Uuid::new_v4(), 250)
        .await
        .unwrap();
    let wait = std::time::Duration::from_secs(3600);
    let due = step_at_eight_on_the_eighteenth(&env, &jobs, wait).await;
    assert!(
        matches!(&due[..], [(_, _, Done::Waiting(why))] if why.contains("250 messages")),
        "{due:?}"
    );
    let judged = state_at_half_past_eight(&env, &jobs[0], wait).await;
    assert!(
        matches!(judged.view.state, ReportState::Waiting { .. }),
        "{judged:?}"
    );
    assert!(outbox_rows(&env).await.is_empty());
    // An hour after its time it goes out, whatever ingest says.
    issued_at_its_bound(&env, &jobs, wait).await;
}

#[tokio::test]
async fn a_silent_ingest_makes_a_due_report_wait() {
    let env = TestEnv::new().await;
    let jobs = registered_before_may(&env).await;
    // Ingest was heard from, ten minutes ago, and not since.
    store::schedule::heartbeat(&env.pool, uuid::Uuid::new_v4(), 0)
        .await
        .unwrap();
    sqlx::query("update ingest_heartbeat set heard_at = now() - interval '10 minutes'")
        .execute(&env.pool)
        .await
        .unwrap();
    let wait = std::time::Duration::from_secs(3600);
    let due = step_at_eight_on_the_eighteenth(&env, &jobs, wait).await;
    assert!(
        matches!(&due[..], [(_, _, Done::Waiting(why))] if why.contains("not been heard from")),
        "{due:?}"
    );
}

#[tokio::test]
async fn a_heartbeat_that_cannot_be_read_makes_a_due_report_wait_instead_of_issuing_it() {
    let env = TestEnv::new().await;
    let jobs = registered_before_may(&env).await;
    // Ingest's heartbeat cannot be read (the table is gone, as a read refused would be): that
    // says nothing about the queues, so the report must not go out before its events are in.
    sqlx::query("alter table ingest_heartbeat rename to ingest_heartbeat_away")
        .execute(&env.pool)
        .await
        .unwrap();
    let wait = std::time::Duration::from_secs(3600);
    let due = step_at_eight_on_the_eighteenth(&env, &jobs, wait).await;
    assert!(
        matches!(&due[..], [(_, _, Done::Waiting(why))] if why.contains("heartbeat cannot be read")),
        "{due:?}"
    );
    assert!(outbox_rows(&env).await.is_empty(), "issued before its time");
    let judged = state_at_half_past_eight(&env, &jobs[0], wait).await;
    assert!(
        matches!(&judged.view.state, ReportState::Waiting { why, .. } if why.contains("heartbeat")),
        "{judged:?}"
    );
    // At its bound it is issued, whatever ingest says.
    issued_at_its_bound(&env, &jobs, wait).await;
}
