//! The HTTP API as administrators and their browsers reach it: the api target on a real port,
//! over real TCP, against the test's own database and vhost.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use baocao_tests::http::Request;
use baocao_tests::{TestEnv, received};
use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

const TOKEN: &str = "test-admin-token-0123456789-abcdefghij";

fn now_text(offset: TimeDelta) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A dossier received now, in the open window.
fn fresh_dossier(id: &str) -> Value {
    received(
        id,
        &now_text(TimeDelta::seconds(-1)),
        "online",
        &now_text(TimeDelta::days(10)),
        true,
    )
}

/// Every GET path of the OpenAPI document, with its parameters filled in.
fn documented_paths(openapi: &Value) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{unit}", "tri-qua")
                .replace("{period}", "2026-05");
            paths.push((method.to_uppercase(), concrete));
        }
    }
    paths
}

#[tokio::test]
async fn everything_but_the_probes_needs_the_token() {
    let env = TestEnv::new().await;
    let api = env.start_api(Some(TOKEN)).await;
    let openapi = api.get("/api/openapi.json").await;
    assert_eq!(openapi.status, 200);
    let openapi = openapi.json();
    let mut guarded = documented_paths(&openapi);
    guarded.push(("GET".into(), "/api/openapi.json".into()));
    assert!(guarded.len() >= 14, "{guarded:?}");
    for (method, path) in &guarded {
        let open = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
        let mut request = Request::new(method, path);
        if method == "POST" {
            request = Request::post_json(path, &json!({"field": "strengths", "text": "x"}));
        }
        let without = request.clone().send(&api.address).await;
        let wrong = request
            .clone()
            .bearer(Some("not-the-token-0123456789-abcdefghij"))
            .send(&api.address)
            .await;
        if open {
            // Readiness may still be waiting for its first look at the broker: 503, not 401.
            let expected: &[u16] = if path == "/readyz" {
                &[200, 503]
            } else {
                &[200]
            };
            assert!(
                expected.contains(&without.status),
                "{method} {path}: {} {}",
                without.status,
                without.text()
            );
        } else {
            assert_eq!(without.status, 401, "{method} {path} without a token");
            assert_eq!(wrong.status, 401, "{method} {path} with a wrong token");
            assert_eq!(without.header("www-authenticate"), Some("Bearer"));
            // The machine routes answer in the shape their senders expect (SPEC §3.5).
            let message = match path.starts_with("/sync/") {
                true => without.json()["message"].clone(),
                false => without.json()["error"].clone(),
            };
            assert!(message.as_str().unwrap().contains("token"), "{path}");
        }
    }
    // The page asks for the token; it holds no data.
    let page = Request::get("/").send(&api.address).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("token-dialog"));
    assert!(!page.text().contains(TOKEN));
    api.stop().await;
}

#[tokio::test]
async fn the_openapi_document_covers_spec_section_10() {
    let env = TestEnv::new().await;
    let api = env.start_api(None).await;
    let openapi = api.get("/api/openapi.json").await.json();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    let paths = openapi["paths"].as_object().unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/units", "get"),
        ("/api/units/{unit}/indicators", "get"),
        ("/api/units/{unit}/stream", "get"),
        ("/api/units/{unit}/reports", "get"),
        ("/api/units/{unit}/reports/{period}", "get"),
        ("/api/units/{unit}/reports/{period}/send", "post"),
        ("/api/dead-letters", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let schemas = openapi["components"]["schemas"].as_object().unwrap();
    let procedures = &schemas["Procedures"]["properties"];
    for field in [
        "carried_over",
        "online",
        "resolved_early",
        "pending_overdue",
    ] {
        assert!(procedures.get(field).is_some(), "Procedures.{field}");
    }
    assert_eq!(
        openapi["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    api.stop().await;
}

#[tokio::test]
async fn indicators_units_and_probes() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let api = env.start_api(Some(TOKEN)).await;

    let units = api.get("/api/units").await.json();
    assert_eq!(units[0]["code"], "tri-qua");
    assert_eq!(units[0]["name"], "UBND phường Trí Quả");

    let may = api
        .get("/api/units/tri-qua/indicators?period=2026-05")
        .await;
    assert_eq!(may.status, 200);
    let expected: Value = serde_json::from_str(
        r#"{"unit":"tri-qua","period":"2026-05",
        "window":{"start":"2026-04-15T00:00:00+07:00","end":"2026-05-15T00:00:00+07:00"},
        "final":true,"documents":{"issued":157,"digitally_signed":157},
        "petitions":{"carried_over":0,"received":5,"resolved":5,"pending":0},
        "procedures":{"carried_over":0,"received":550,"online":465,"direct":85,"postal":0,
          "digitized":550,"resolved":513,"resolved_early":513,"resolved_on_time":0,
          "resolved_late":0,"resolved_without_result":0,"pending":37,"pending_on_time":37,
          "pending_overdue":0},
        "articles":{"published":78}}"#,
    )
    .unwrap();
    assert_eq!(may.json(), expected);

    // The trend: the report's three shares, as numbers for the chart and as the report
    // writes them.
    let trend = api.get("/api/units/tri-qua/trend?months=36").await.json();
    let points = trend.as_array().unwrap();
    assert_eq!(points.len(), 36);
    let may = points.iter().find(|p| p["period"] == "2026-05").unwrap();
    assert_eq!(
        may,
        &json!({"period": "2026-05", "final": true, "received": 550,
                "online_share": 84.55, "resolved_share": 93.27, "digitized_share": 100.0,
                "text": {"online": "84.55%", "resolved": "93.27%", "digitized": "100%"}})
    );
    let april = points.iter().find(|p| p["period"] == "2026-04").unwrap();
    assert_eq!(april["online_share"], Value::Null);
    assert_eq!(april["text"]["online"], "không phát sinh");
    assert_eq!(points.last().unwrap()["final"], false);

    let open = api.get("/api/units/tri-qua/indicators").await.json();
    assert_eq!(open["final"], false);
    assert_eq!(open["period"], units[0]["open_period"]);

    assert_eq!(api.get("/api/units/nowhere/indicators").await.status, 404);
    let bad = api.get("/api/units/tri-qua/indicators?period=May").await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("YYYY-MM"));
    let future = api
        .get("/api/units/tri-qua/indicators?period=2099-01")
        .await;
    assert_eq!(future.status, 422);
    assert_eq!(future.json()["code"], "not_started");

    let health = Request::get("/healthz").send(&api.address).await;
    assert_eq!((health.status, health.text().trim()), (200, "ok"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let ready = Request::get("/readyz").send(&api.address).await;
        if ready.status == 200 || Instant::now() > deadline {
            break ready;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json(), json!({"database": "ok", "broker": "ok"}));
    api.stop().await;
}

#[tokio::test]
async fn the_api_stays_ready_during_a_broker_outage_and_says_the_broker_is_down() {
    let env = TestEnv::new().await;
    let mut settings = env.settings();
    settings.env.amqp_url =
        baocao::config::Secret::new("amqp://guest:guest@127.0.0.1:1/nowhere".to_owned());
    let listener = api::bind("127.0.0.1:0", true, None).await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = lifecycle::Shutdown::new();
    let state = api::AppState::new(
        baocao::run::api_config(&settings).unwrap(),
        env.pool.clone(),
        stopped,
    );
    let server = tokio::spawn(api::serve(listener, std::sync::Arc::clone(&state), true));
    // Before the database is migrated the process is up but not ready.
    let starting = Request::get("/readyz").send(&address).await;
    assert_eq!(starting.status, 503);
    assert_eq!(starting.json()["database"], "starting");
    assert_eq!(Request::get("/healthz").send(&address).await.status, 200);
    state.mark_database_ready();
    // Wait for the first look at the broker to have failed, as the pipeline view says.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pipeline = Request::get("/api/pipeline").send(&address).await.json();
        let error = pipeline["broker_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if error.contains("RabbitMQ") || error.contains("connect") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed look: {pipeline}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The API stays ready (the dashboard is needed most during an outage) and says so.
    let ready = Request::get("/readyz").send(&address).await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.json(),
        json!({"database": "ok", "broker": "unavailable"})
    );
    let metrics = Request::get("/metrics").send(&address).await.text();
    assert!(
        metrics.contains("baocao_ready{target=\"api\"} 1"),
        "{metrics}"
    );
    // Prometheus sees the outage from the API's pods too (`BaocaoBrokerDown`).
    assert!(metrics.contains("baocao_broker_up 0"), "{metrics}");
    stop.trigger();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_stream_sends_each_commit_within_a_second_and_resumes() {
    let env = TestEnv::new().await;
    let api = env.start_api(Some(TOKEN)).await;
    let ingest = env.start_ingest();
    let broker = env.broker().await;

    let mut stream = api.events("/api/units/tri-qua/stream", None).await;
    let first = stream
        .next(Duration::from_secs(5))
        .await
        .expect("the open window at once");
    assert_eq!(first.retry, Some(2000));
    let doc: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(doc["final"], false);
    assert_eq!(doc["procedures"]["received"], 0);

    for n in 1..=3 {
        let published = Instant::now();
        broker
            .publish_event(&fresh_dossier(&format!("HS-{n}")))
            .await;
        let update = stream
            .next(Duration::from_secs(5))
            .await
            .expect("an update after the commit");
        let took = published.elapsed();
        let doc: Value = serde_json::from_str(&update.data).unwrap();
        assert_eq!(doc["procedures"]["received"], n, "{doc}");
        // The 1 s target is measured under load by `cargo bench --bench live`; here, on a
        // loaded CI machine, twice that is still a failure worth reporting.
        assert!(took < Duration::from_secs(2), "update {n} took {took:?}");
        assert_ne!(update.id, first.id);
    }

    // A burst is coalesced: 200 events make a handful of updates, the last one complete.
    let burst: Vec<Value> = (0..200)
        .map(|i| fresh_dossier(&format!("BURST-{i}")))
        .collect();
    broker.publish_events(&burst).await;
    let mut updates = 0;
    let mut last = None;
    while let Some(update) = stream.next(Duration::from_secs(2)).await {
        updates += 1;
        let doc: Value = serde_json::from_str(&update.data).unwrap();
        last = Some((update.id.clone(), doc["procedures"]["received"].clone()));
        if doc["procedures"]["received"] == 203 {
            break;
        }
    }
    let (last_id, received) = last.expect("updates for the burst");
    assert_eq!(received, 203);
    assert!(updates <= 20, "{updates} updates for one burst");
    drop(stream);

    // Reconnecting with the last id: nothing is repeated, the next change comes.
    let mut resumed = api
        .events("/api/units/tri-qua/stream", last_id.as_deref())
        .await;
    assert!(
        resumed.next(Duration::from_millis(800)).await.is_none(),
        "the document already seen was sent again"
    );
    broker.publish_event(&fresh_dossier("HS-AFTER")).await;
    let next = resumed
        .next(Duration::from_secs(5))
        .await
        .expect("the next change");
    let doc: Value = serde_json::from_str(&next.data).unwrap();
    assert_eq!(doc["procedures"]["received"], 204);

    // Streams end when the server stops.
    broker.close().await;
    ingest.stop().await;
    api.stop().await;
}

#[tokio::test]
async fn reports_are_listed_sent_downloaded_and_edited() {
    let env = TestEnv::new().await;
    env.ingest_reference_month().await;
    let api = env.start_api(Some(TOKEN)).await;

    let draft = api
        .get("/api/units/tri-qua/reports/2026-05?format=text")
        .await;
    assert_eq!(draft.status, 200);
    assert_eq!(draft.header("x-baocao-report"), Some("draft"));
    let golden = std::fs::read_to_string(
        baocao_tests::repo_root().join("tests/golden/bao-cao-chuyen-doi-so-thang-5-2026.txt"),
    )
    .unwrap();
    assert_eq!(
        draft.text(),
        golden,
        "the API's text is not the golden report"
    );

    // Narrative: edit, refuse a heading, reset.
    let edited = api
        .post(
            "/api/units/tri-qua/reports/2026-05/narrative",
            &json!({"field": "proposals", "text": "Đề nghị thứ nhất.\n\n- Đề nghị thứ hai."}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    let proposals = edited
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "proposals")
        .cloned()
        .unwrap();
    assert_eq!(
        proposals,
        json!({"field": "proposals", "paragraphs": ["Đề nghị thứ nhất.", "Đề nghị thứ hai."], "edited": true})
    );
    let text = api
        .get("/api/units/tri-qua/reports/2026-05?format=text")
        .await
        .text();
    assert!(text.contains("Đề nghị thứ hai."));
    let heading = api
        .post(
            "/api/units/tri-qua/reports/2026-05/narrative",
            &json!({"field": "proposals", "text": "# Không phải đoạn"}),
        )
        .await;
    // Well-formed (the document's schema cannot say where paragraphs start), refused by the
    // report's rule.
    assert_eq!(heading.status, 422);
    assert_eq!(heading.json()["code"], "narrative_refused");
    let bell = api
        .post(
            "/api/units/tri-qua/reports/2026-05/narrative",
            &json!({"field": "proposals", "action": "reset", "text": "chuông\u{7}"}),
        )
        .await;
    assert_eq!(
        bell.status, 400,
        "the text's pattern holds whatever the action"
    );
    let unknown = api
        .post(
            "/api/units/tri-qua/reports/2026-05/narrative",
            &json!({"field": "nothing", "text": "x"}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    let shown = api
        .get("/api/units/tri-qua/reports/2026-05/narrative")
        .await
        .json();
    assert_eq!(shown.as_array().unwrap().len(), 9);
    assert!(shown.as_array().unwrap().contains(&proposals));
    let reset = api
        .post(
            "/api/units/tri-qua/reports/2026-05/narrative",
            &json!({"field": "proposals", "action": "reset"}),
        )
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(
        api.get("/api/units/tri-qua/reports/2026-05?format=text")
            .await
            .text(),
        golden
    );

    // Writes from another site are refused, whatever the token.
    let cross = Request::post_json("/api/units/tri-qua/reports/2026-05/send", &json!({}))
        .bearer(Some(TOKEN))
        .header("origin", "http://evil.example")
        .send(&api.address)
        .await;
    assert_eq!(cross.status, 403);
    let form = Request::new("POST", "/api/units/tri-qua/reports/2026-05/send")
        .bearer(Some(TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(&api.address)
        .await;
    assert_eq!(form.status, 403);

    // The open window cannot be sent; May can, once.
    let open = api.get("/api/units").await.json()[0]["open_period"]
        .as_str()
        .unwrap()
        .to_owned();
    let early = api
        .post(
            &format!("/api/units/tri-qua/reports/{open}/send"),
            &json!({}),
        )
        .await;
    assert_eq!(early.status, 409);
    let sent = api
        .post("/api/units/tri-qua/reports/2026-05/send", &json!({}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    let sent = sent.json();
    assert_eq!(sent["revision"], 1);
    assert_eq!(sent["number"], 103);
    assert_eq!(sent["messages"], 5);
    let again = api
        .post("/api/units/tri-qua/reports/2026-05/send", &json!({}))
        .await;
    assert_eq!(again.status, 409);
    assert!(again.json()["error"].as_str().unwrap().contains("force"));
    let empty = api
        .post("/api/units/tri-qua/reports/2025-01/send", &json!({}))
        .await;
    assert_eq!(empty.status, 422);

    let reports = api.get("/api/units/tri-qua/reports").await.json();
    let may = &reports["periods"][0];
    assert_eq!(may["period"], "2026-05");
    assert_eq!(may["out_of_date"], false);
    assert_eq!(may["revisions"][0]["number"], 103);
    let deliveries = may["revisions"][0]["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 5);
    assert!(deliveries.iter().all(|d| d["state"] == "queued"));

    // Downloads are the revision as sent.
    let pdf = api
        .get("/api/units/tri-qua/reports/2026-05?format=pdf")
        .await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF-"));
    assert_eq!(pdf.header("x-baocao-report"), Some("sent; revision=1"));
    assert_eq!(
        pdf.header("content-disposition"),
        Some("attachment; filename=\"bao-cao-chuyen-doi-so-tri-qua-2026-05.pdf\"")
    );
    let docx = api
        .get("/api/units/tri-qua/reports/2026-05?format=docx")
        .await;
    assert!(docx.body.starts_with(b"PK"));
    let html = api.get("/api/units/tri-qua/reports/2026-05").await;
    assert!(
        html.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text().contains("Số: 103"), "{}", html.text());
    assert_eq!(
        api.get("/api/units/tri-qua/reports/2026-05?revision=7")
            .await
            .status,
        404
    );
    // A value the document forbids, an empty one included, is refused.
    for malformed in [
        "/api/units/tri-qua/reports/2026-05?format=odt",
        "/api/units/tri-qua/reports/2026-05?format=",
        "/api/units/tri-qua/reports/2026-05?revision=0",
        "/api/units/tri-qua/reports/2026-05?draft=",
        "/api/units/tri-qua/indicators?period=",
        "/api/units/tri-qua/trend?months=",
        "/api/dead-letters?limit=0",
    ] {
        assert_eq!(api.get(malformed).await.status, 400, "{malformed}");
    }

    // A late event makes it out of date; force sends revision 2.
    let late = received(
        "HS-LATE",
        "2026-05-10T03:00:00Z",
        "direct",
        "2026-05-20T10:00:00Z",
        true,
    );
    env.ingest(&[late]).await;
    let reports = api.get("/api/units/tri-qua/reports").await.json();
    assert_eq!(reports["periods"][0]["out_of_date"], true);
    let forced = api
        .post(
            "/api/units/tri-qua/reports/2026-05/send",
            &json!({"force": true}),
        )
        .await;
    assert_eq!(forced.status, 201);
    assert_eq!(forced.json()["revision"], 2);
    // `1.0` is the number 1, as JSON (and the document's `integer`) has it: revision 1 was
    // corrected already.
    let stale = api
        .post(
            "/api/units/tri-qua/reports/2026-05/send",
            &json!({"force": true, "replaces": 1.0}),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert_eq!(stale.json()["code"], "stale_revision");
    let reports = api.get("/api/units/tri-qua/reports").await.json();
    assert_eq!(reports["periods"][0]["out_of_date"], false);
    assert_eq!(
        reports["periods"][0]["revisions"].as_array().unwrap().len(),
        2
    );
    api.stop().await;
}

#[tokio::test]
async fn pipeline_dead_letters_and_metrics() {
    let env = TestEnv::new().await;
    let api = env.start_api(Some(TOKEN)).await;
    let ingest = env.start_ingest();
    let broker = env.broker().await;
    broker.publish_event(&fresh_dossier("HS-1")).await;
    broker
        .publish_raw("portal.events", "procedure.received", b"{not json")
        .await;
    let unknown_unit = json!({"id": uuid::Uuid::new_v4(), "type": "article.published",
        "occurred_at": now_text(TimeDelta::zero()), "unit": "nowhere",
        "data": {"article_id": "A-1"}});
    broker.publish_event(&unknown_unit).await;
    env.wait_for_stored(1, Duration::from_secs(10)).await;
    env.wait_for_dead_letters(2, Duration::from_secs(10)).await;

    // The queue's depth is looked at every 5 s; the letters come from baocao's record.
    let deadline = Instant::now() + Duration::from_secs(15);
    let dead = loop {
        let dead = api.get("/api/dead-letters").await;
        assert_eq!(dead.status, 200);
        let dead = dead.json();
        if dead["messages"] == 2 || Instant::now() > deadline {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead["messages"], 2, "{dead}");
    let letters = dead["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 2);
    let mut reasons: Vec<&str> = dead["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["malformed", "unknown_unit"], "{dead}");
    let malformed = letters.iter().find(|l| l["reason"] == "malformed").unwrap();
    assert_eq!(malformed["body"], "{not json");
    assert_eq!(malformed["routing_key"], "procedure.received");
    assert_eq!(malformed["body_bytes"], 9);
    // Looking never touched the queue.
    assert_eq!(env.dead_letters().await.len(), 2);

    let deadline = Instant::now() + Duration::from_secs(10);
    let pipeline = loop {
        let pipeline = api.get("/api/pipeline").await.json();
        let queues = pipeline["queues"].as_array().unwrap();
        assert_eq!(queues.len(), 3, "{pipeline}");
        if queues
            .iter()
            .any(|q| q["queue"] == "baocao.dead" && q["messages"] == 2)
        {
            break pipeline;
        }
        assert!(Instant::now() < deadline, "{pipeline}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let unit = &pipeline["units"][0];
    assert_eq!(unit["unit"], "tri-qua");
    assert_eq!(unit["events"], 1);
    let source = &unit["sources"][0];
    assert_eq!(source["event_type"], "procedure.received");
    assert_eq!(source["source"], "portal");
    assert_eq!(source["events"], 1);

    let _stream = api.events("/api/units/tri-qua/stream", None).await;
    let metrics = Request::get("/metrics").send(&api.address).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text();
    for line in [
        "baocao_events_ingested_total{unit=\"tri-qua\",type=\"procedure.received\"} 1",
        "baocao_consumer_lag_messages{queue=\"baocao.portal\"} 0",
        "baocao_dead_letter_messages 2",
        "baocao_broker_up 1",
        "baocao_sse_clients 1",
        "baocao_outbox_messages{state=\"queued\"} 0",
        "baocao_ingest_batch_size_count",
        "baocao_ingest_commit_seconds_count",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "missing {line:?} in\n{text}"
        );
    }
    let rejected: u64 = text
        .lines()
        .filter(|l| l.starts_with("baocao_events_rejected_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(rejected, 2);
    assert!(!text.contains("guest"), "credentials in metrics");
    broker.close().await;
    ingest.stop().await;
    api.stop().await;
}

#[tokio::test]
async fn without_a_token_only_requests_to_localhost_are_answered() {
    let env = TestEnv::new().await;
    let api = env.start_api(None).await;
    let local = api.get("/api/units").await;
    assert_eq!(local.status, 200);
    for host in ["evil.example", "evil.example:8080", "192.168.1.5:8080"] {
        let rebound = Request::get("/api/units")
            .header("host", host)
            .send(&api.address)
            .await;
        assert_eq!(rebound.status, 403, "Host: {host}");
    }
    let named = Request::get("/api/units")
        .header("host", "localhost:8080")
        .send(&api.address)
        .await;
    assert_eq!(named.status, 200);
    api.stop().await;
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

#[tokio::test]
async fn start_up_refuses_an_exposed_address_without_a_token() {
    let env = TestEnv::new().await;
    let refused = env
        .command(binary())
        .args(["run", "--target", "api"])
        .env("BAOCAO_HTTP_ADDR", "0.0.0.0:0")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without BAOCAO_ADMIN_TOKEN"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

async fn terminate(mut child: tokio::process::Child) {
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stops within 20 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn the_binary_serves_the_api_with_a_token_on_any_address() {
    let env = TestEnv::new().await;
    let (child, address) = env
        .spawn_listening(
            binary(),
            &["run", "--target", "api"],
            &[
                ("BAOCAO_HTTP_ADDR", "0.0.0.0:0"),
                ("BAOCAO_ADMIN_TOKEN", TOKEN),
            ],
        )
        .await;
    let port = address.rsplit(':').next().unwrap();
    let local = format!("127.0.0.1:{port}");
    assert_eq!(Request::get("/healthz").send(&local).await.status, 200);
    assert_eq!(Request::get("/api/units").send(&local).await.status, 401);
    let units = Request::get("/api/units")
        .bearer(Some(TOKEN))
        .send(&local)
        .await;
    assert_eq!(units.status, 200);
    let page = Request::get("/").send(&local).await;
    assert!(page.text().contains("<html lang=\"vi\">"));
    let script = Request::get("/assets/app.js").send(&local).await;
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    terminate(child).await;
}

#[tokio::test]
async fn an_ingest_process_is_not_ready_without_the_broker() {
    let env = TestEnv::new().await;
    let (child, address) = env
        .spawn_listening(
            binary(),
            &["run", "--target", "ingest"],
            &[("BAOCAO_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/nowhere")],
        )
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Request::get("/readyz").send(&address).await;
        if ready.json()["database"] == "ok" {
            assert_eq!(ready.status, 503, "{}", ready.text());
            assert_eq!(ready.json()["broker"], "unavailable");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", ready.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = Request::get("/metrics").send(&address).await.text();
    assert!(
        metrics.contains("baocao_ready{target=\"ingest\"} 0"),
        "{metrics}"
    );
    baocao_tests::terminate(child).await;
}

#[tokio::test]
async fn an_ingest_process_serves_probes_and_metrics_only() {
    let env = TestEnv::new().await;
    let (child, address) = env
        .spawn_listening(binary(), &["run", "--target", "ingest"], &[])
        .await;
    assert_eq!(Request::get("/healthz").send(&address).await.status, 200);
    let metrics = Request::get("/metrics").send(&address).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .text()
            .contains("# TYPE baocao_ingest_commit_seconds histogram")
    );
    assert_eq!(Request::get("/api/units").send(&address).await.status, 404);
    assert_eq!(Request::get("/").send(&address).await.status, 404);
    terminate(child).await;
}
