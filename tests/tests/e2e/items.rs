//! Every figure traceable (SPEC §5.1): each figure's list of items through the API (paged JSON
//! and CSV), the command line and the report's workbook, as long as the figure on the seed
//! month and on the boundary cases; an issued revision's lists stay what it counted when late
//! events change the figures now; a summary lists its members' items, each with its unit.

use std::path::Path;

use baocao_tests::items::{ids, lists_matching_figures};
use baocao_tests::{TestEnv, event, received, resolved};
use serde_json::{Value, json};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// Runs `baocao report items …` against `env`; its exit status and standard output.
fn items_command(env: &TestEnv, args: &[&str]) -> (i32, Vec<u8>, String) {
    let output = env
        .command(binary())
        .args([
            "report", "items", "--unit", "tri-qua", "--period", "2026-05",
        ])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Late events for May 2026 (window 15 April to 15 May, Vietnam time): a dossier still pending
/// ten days after its due date, one resolved three calendar days late, one resolved on its due
/// day before the due time (on time), a petition carried over from April and still open, an
/// orphan resolution whose reception never came (counted nowhere), and a second, conflicting
/// reception of the overdue dossier (another channel and due date: a conflict, the first kept).
fn late_events() -> Vec<Value> {
    vec![
        received(
            "HS-OVERDUE-1",
            "2026-05-01T08:00:00+07:00",
            "direct",
            "2026-05-05T17:00:00+07:00",
            true,
        ),
        received(
            "HS-LATE-1",
            "2026-04-20T08:00:00+07:00",
            "online",
            "2026-04-25T17:00:00+07:00",
            true,
        ),
        resolved("HS-LATE-1", "2026-04-28T09:00:00+07:00"),
        received(
            "HS-DUE-DAY-1",
            "2026-04-21T08:00:00+07:00",
            "postal",
            "2026-04-27T17:00:00+07:00",
            false,
        ),
        resolved("HS-DUE-DAY-1", "2026-04-27T10:00:00+07:00"),
        event(
            "petition.received",
            "2026-04-10T08:00:00+07:00",
            json!({"petition_id": "PA-CARRIED-1"}),
        ),
        resolved("HS-ORPHAN-1", "2026-05-02T08:00:00+07:00"),
        received(
            "HS-OVERDUE-1",
            "2026-05-03T08:00:00+07:00",
            "online",
            "2026-05-20T17:00:00+07:00",
            false,
        ),
    ]
}

fn item<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {items:?}"))
}

#[tokio::test]
async fn every_list_is_its_figure_and_a_sent_revision_keeps_the_items_it_counted() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let api = env.start_api(None).await;

    // The seed month: every list as long as its figure.
    let now = lists_matching_figures(&api, "tri-qua", "2026-05", None).await;
    assert_eq!(now["procedures.received"].len(), 550);
    assert_eq!(now["documents.digitally_signed"].len(), 157);
    assert!(now["procedures.pending_overdue"].is_empty());
    let first = &now["procedures.received"][0];
    for field in ["unit", "id", "channel", "received_at", "due_at"] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }

    // Sent: revision 1 keeps its items.
    let sent = api
        .post("/api/units/tri-qua/reports/2026-05/send", &json!({}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    lists_matching_figures(&api, "tri-qua", "2026-05", Some(1)).await;

    // Late events change the figures now, not what was sent.
    env.ingest(&late_events()).await;
    let now = lists_matching_figures(&api, "tri-qua", "2026-05", None).await;
    let overdue = &now["procedures.pending_overdue"];
    assert_eq!(ids(overdue), ["HS-OVERDUE-1"]);
    assert_eq!(item(overdue, "HS-OVERDUE-1")["days_late"], 10);
    assert!(item(overdue, "HS-OVERDUE-1")["resolved_at"].is_null());
    // The conflicting reception is recorded, and counted and listed nowhere.
    assert_eq!(
        env.scalar("select count(*) from conflict where kind = 'dossier_received'")
            .await,
        1
    );
    let received_ids = ids(&now["procedures.received"]);
    assert_eq!(
        received_ids
            .iter()
            .filter(|id| **id == "HS-OVERDUE-1")
            .count(),
        1
    );
    assert!(ids(&now["procedures.direct"]).contains(&"HS-OVERDUE-1"));
    assert!(!ids(&now["procedures.online"]).contains(&"HS-OVERDUE-1"));
    let late = &now["procedures.resolved_late"];
    assert_eq!(ids(late), ["HS-LATE-1"]);
    assert_eq!(item(late, "HS-LATE-1")["days_late"], 3);
    let on_time = ids(&now["procedures.resolved_on_time"]);
    assert!(on_time.contains(&"HS-DUE-DAY-1"), "{on_time:?}");
    assert!(ids(&now["procedures.postal"]).contains(&"HS-DUE-DAY-1"));
    assert_eq!(ids(&now["petitions.carried_over"]), ["PA-CARRIED-1"]);
    assert!(ids(&now["petitions.pending"]).contains(&"PA-CARRIED-1"));
    for (figure, items) in &now {
        assert!(
            !ids(items).contains(&"HS-ORPHAN-1"),
            "an orphan resolution counts nowhere, yet it is in {figure}"
        );
    }
    let then = lists_matching_figures(&api, "tri-qua", "2026-05", Some(1)).await;
    assert!(then["procedures.pending_overdue"].is_empty());
    assert!(then["procedures.resolved_late"].is_empty());
    assert_eq!(then["procedures.received"].len(), 550);
    assert!(!ids(&then["procedures.received"]).contains(&"HS-OVERDUE-1"));

    // A revision that was never issued, a figure that does not exist, a bad order.
    let missing = api
        .get("/api/units/tri-qua/items?period=2026-05&figure=procedures.received&revision=2")
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    for query in [
        "figure=procedures.nothing",
        "figure=procedures.received&sort=citizen",
        "figure=procedures.received&order=up",
        "figure=procedures.received&format=pdf",
        "figure=procedures.received&per_page=0",
    ] {
        let refused = api
            .get(&format!("/api/units/tri-qua/items?period=2026-05&{query}"))
            .await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text());
    }

    // Sorted by days' column, descending: the latest due date first.
    let sorted = api
        .get("/api/units/tri-qua/items?period=2026-05&figure=procedures.received&sort=due_at&order=desc&per_page=2")
        .await
        .json();
    let dues: Vec<&str> = sorted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["due_at"].as_str().unwrap())
        .collect();
    assert_eq!(dues.len(), 2);
    assert!(dues[0] >= dues[1], "{dues:?}");

    // The whole list as a workbook.
    let book = api
        .get("/api/units/tri-qua/items?period=2026-05&figure=procedures.resolved_late&format=xlsx")
        .await;
    assert_eq!(book.status, 200);
    assert!(book.body.starts_with(b"PK"), "a workbook is a zip");

    // The command line: the same lists, now and as sent.
    let (status, csv, stderr) = items_command(
        &env,
        &["--figure", "procedures.pending_overdue", "--format", "csv"],
    );
    assert_eq!(status, 0, "{stderr}");
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[0].starts_with("unit,id,procedure_code,channel,"),
        "{csv}"
    );
    assert!(lines[1].starts_with("tri-qua,HS-OVERDUE-1,"), "{csv}");
    assert!(lines[1].ends_with(",10"), "days late last: {csv}");
    let (status, csv, stderr) = items_command(
        &env,
        &[
            "--figure",
            "procedures.pending_overdue",
            "--revision",
            "1",
            "--format",
            "csv",
        ],
    );
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        1,
        "the header only"
    );
    let (status, text, stderr) = items_command(&env, &["--figure", "procedures.resolved_late"]);
    assert_eq!(status, 0, "{stderr}");
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("1 item(s)"), "{text}");
    assert!(text.contains("HS-LATE-1"), "{text}");
    let (status, _, stderr) = items_command(&env, &["--figure", "procedures.nothing"]);
    assert_eq!(status, 1);
    assert!(stderr.contains("is not a figure"), "{stderr}");

    // The report's workbook: the sheet "Hồ sơ quá hạn", as sent (none) and as a draft now.
    let dir = std::env::temp_dir().join(format!("{}-items", env.name));
    std::fs::create_dir_all(&dir).unwrap();
    let read = |name: &str, bytes: &[u8], doc: Value| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut doc = doc;
        doc["_name"] = json!("Phường Trí Quả");
        std::fs::write(path.with_extension("json"), json!([doc]).to_string()).unwrap();
        baocao_tests::xlsx::read_back(&path)
    };
    let sent_doc = api
        .get("/api/units/tri-qua/reports/2026-05?format=json")
        .await
        .json();
    let sent_book = api
        .get("/api/units/tri-qua/reports/2026-05?format=xlsx")
        .await;
    let sent_book = read("sent.xlsx", &sent_book.body, sent_doc);
    assert_eq!(
        sent_book["sheets"],
        json!(["II.06a", "Chỉ tiêu", "Hồ sơ quá hạn"])
    );
    assert_eq!(sent_book["overdue_rows"], json!([]));
    assert!(
        sent_book["overdue_texts"]
            .as_array()
            .unwrap()
            .contains(&json!("Không có hồ sơ quá hạn"))
    );
    let draft_doc = api
        .get("/api/units/tri-qua/reports/2026-05?format=json&draft=true")
        .await
        .json();
    let draft = api
        .get("/api/units/tri-qua/reports/2026-05?format=xlsx&draft=true")
        .await;
    let draft = read("draft.xlsx", &draft.body, draft_doc);
    let rows = draft["overdue_rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        json!([
            1,
            "tri-qua",
            "HS-LATE-1",
            null,
            "20/04/2026 08:00",
            "25/04/2026 17:00",
            "28/04/2026 09:00",
            "Giải quyết quá hạn",
            3
        ])
    );
    assert_eq!(
        rows[1],
        json!([
            2,
            "tri-qua",
            "HS-OVERDUE-1",
            null,
            "01/05/2026 08:00",
            "05/05/2026 17:00",
            null,
            "Đang giải quyết quá hạn",
            10
        ])
    );
    std::fs::remove_dir_all(&dir).unwrap();
    api.stop().await;
}

#[tokio::test]
async fn a_summary_lists_its_members_items_each_with_its_unit_as_its_table_counts_them() {
    let summary = r#"
[[summary]]
code = "tinh-qn"
members = ["tri-qua", "an-phu"]
issuing_body = ["UBND TỈNH QUẢNG NGÃI", "SỞ KHOA HỌC VÀ CÔNG NGHỆ"]
short_name = "Sở Khoa học và Công nghệ"
place = "Quảng Ngãi"
mail_from = "So KH&CN <sokhcn@quangngai.gov.vn>"

[summary.numbering]
mode = "sequence"
start = 1
symbol = "BC-SKHCN"

[summary.signer]
authority = "KT. GIÁM ĐỐC"
title = "PHÓ GIÁM ĐỐC"
name = "Trần Văn Sở"

[[summary.recipients]]
label = "UBND tỉnh Quảng Ngãi (b/c)"
addresses = ["vanthu.ubnd@example.gov.vn"]
"#;
    let (env, _) = baocao_tests::two_wards(summary).await;
    let mut events = vec![
        received(
            "TQ-1",
            "2026-10-20T08:00:00+07:00",
            "online",
            "2026-10-25T17:00:00+07:00",
            true,
        ),
        received(
            "AP-1",
            "2026-10-21T08:00:00+07:00",
            "direct",
            "2026-10-23T17:00:00+07:00",
            false,
        ),
    ];
    events[1]["unit"] = json!("an-phu");
    env.ingest(&events).await;
    let api = env.start_api(None).await;

    // tri-qua issues; an-phu does not: the summary's row of tri-qua is its revision.
    let sent = api
        .post("/api/units/tri-qua/reports/2026-11/send", &json!({}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    // A late dossier of tri-qua, after its report: not in the summary's list of tri-qua.
    env.ingest(&[received(
        "TQ-2",
        "2026-10-22T08:00:00+07:00",
        "online",
        "2026-10-30T17:00:00+07:00",
        true,
    )])
    .await;

    let lists = lists_matching_figures(&api, "tinh-qn", "2026-11", None).await;
    let received = &lists["procedures.received"];
    let units: Vec<(&str, &str)> = received
        .iter()
        .map(|i| (i["unit"].as_str().unwrap(), i["id"].as_str().unwrap()))
        .collect();
    assert_eq!(units, [("an-phu", "AP-1"), ("tri-qua", "TQ-1")]);
    assert_eq!(ids(&lists["procedures.pending_overdue"]), ["AP-1", "TQ-1"]);
    let documents = &lists["documents.issued"];
    assert_eq!(documents.len(), 2);

    // The summary's own revision keeps what it counted.
    let sent = api
        .post("/api/units/tinh-qn/reports/2026-11/send", &json!({}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    let kept = lists_matching_figures(&api, "tinh-qn", "2026-11", Some(1)).await;
    assert_eq!(ids(&kept["procedures.received"]), ["AP-1", "TQ-1"]);
    // tri-qua's own list now has its late dossier; the summary's does not.
    let own = lists_matching_figures(&api, "tri-qua", "2026-11", None).await;
    assert_eq!(ids(&own["procedures.received"]), ["TQ-1", "TQ-2"]);
    api.stop().await;
}
