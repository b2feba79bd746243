//! People and what they may touch (SPEC §10): each test starts a real OpenID Connect provider
//! (npm's oidc-provider, `tests/oidc/provider.mjs`) and the API with `[auth.oidc]` pointing at
//! it, and signs people in through headless Chromium (`tests/browser/signin.mjs`): the
//! authorization code with PKCE, `state` and `nonce`, the ID token checked, a session in
//! PostgreSQL behind an `HttpOnly`, `SameSite=Lax` cookie. Then the API is asked with that
//! cookie, as the dashboard asks it. The two wards are Trí Quả (`tri-qua`) and An Phú
//! (`an-phu`); the people and their groups are the provider script's, their roles
//! `baocao_tests::oidc::grants`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use baocao_tests::http::{Request, Response};
use baocao_tests::oidc::{TestProvider, sign_in};
use baocao_tests::{RunningApi, TestEnv, two_wards};
use serde_json::{Value, json};

const TOKEN: &str = "people-test-admin-token-0123456789-abcdef";

/// A person's session: their cookie, asking as the dashboard does.
struct Person<'a> {
    api: &'a RunningApi,
    cookie: String,
}

impl<'a> Person<'a> {
    async fn sign_in(api: &'a RunningApi, login: &str) -> (Self, Value) {
        let (shown, cookie) = sign_in(api, login).await;
        let value = cookie["value"].as_str().unwrap().to_owned();
        (
            Self {
                api,
                cookie: format!("baocao_session={value}"),
            },
            shown,
        )
    }

    async fn get(&self, path: &str) -> Response {
        Request::get(path)
            .header("cookie", &self.cookie)
            .send(&self.api.address)
            .await
    }

    /// A write as the dashboard sends it: same-origin JSON.
    async fn post(&self, path: &str, body: &Value) -> Response {
        Request::post_json(path, body)
            .header("cookie", &self.cookie)
            .header("origin", &format!("http://{}", self.api.address))
            .header("sec-fetch-site", "same-origin")
            .send(&self.api.address)
            .await
    }
}

async fn count(env: &TestEnv, sql: &'static str) -> i64 {
    env.scalar(sql).await
}

/// Two wards, the reference month of Trí Quả stored, and the API with people signing in.
async fn two_wards_signing_in() -> (TestEnv, RunningApi, TestProvider) {
    let (env, _) = two_wards("").await;
    env.ingest_reference_month().await;
    let (api, provider) = env.start_api_with_people(Some(TOKEN)).await;
    (env, api, provider)
}

#[tokio::test]
async fn a_person_signs_in_through_the_provider_with_a_session_cookie_only_the_server_reads() {
    let (_env, api, _provider) = two_wards_signing_in().await;
    let (editor, shown) = Person::sign_in(&api, "editor-a").await;
    assert_eq!(shown["who"], "Nguyễn Văn Biên", "{shown}");
    assert_eq!(shown["noRole"], false);
    let (_, cookie) = sign_in(&api, "viewer-a").await;
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Lax", "{cookie}");
    // http://127.0.0.1 as public_url: not Secure (with https:// it is).
    assert_eq!(cookie["secure"], false, "{cookie}");
    let me = editor.get("/api/me").await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(
        me.json()["roles"],
        json!([{"role": "editor", "unit": "tri-qua"}])
    );
    assert_eq!(me.json()["subject"], "editor-a");
    api.stop().await;
}

#[tokio::test]
async fn an_editor_of_one_ward_is_refused_on_another_and_nothing_changes() {
    let (env, api, _provider) = two_wards_signing_in().await;
    let (editor, _) = Person::sign_in(&api, "editor-a").await;
    let edit = json!({"field": "proposals", "text": "Đề nghị của phường khác."});
    for path in [
        "/api/units/an-phu/reports/2026-05/narrative",
        "/api/units/an-phu/reports/2026-05/send",
    ] {
        let refused = editor.post(path, &edit).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text());
        assert_eq!(refused.json()["code"], "forbidden");
    }
    let forced = editor
        .post(
            "/api/units/an-phu/reports/2026-05/send",
            &json!({"force": true}),
        )
        .await;
    assert_eq!(forced.status, 403);
    // Reading the other ward is refused too: figures, reports, downloads, the live stream,
    // its audit list.
    for path in [
        "/api/units/an-phu/indicators",
        "/api/units/an-phu/reports",
        "/api/units/an-phu/reports/2026-05?format=pdf",
        "/api/units/an-phu/stream",
        "/api/units/an-phu/reports/2026-05/narrative",
        "/api/audit?unit=an-phu",
    ] {
        assert_eq!(editor.get(path).await.status, 403, "{path}");
    }
    assert_eq!(
        count(
            &env,
            "select count(*) from narrative_edit where unit = 'an-phu'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&env, "select count(*) from report where unit = 'an-phu'").await,
        0
    );
    assert_eq!(count(&env, "select count(*) from audit").await, 0);

    // Their own ward: edited, sent, corrected, each with its row of the audit list.
    let own = editor
        .post("/api/units/tri-qua/reports/2026-05/narrative", &edit)
        .await;
    assert_eq!(own.status, 200, "{}", own.text());
    let sent = editor
        .post("/api/units/tri-qua/reports/2026-05/send", &json!({}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    let corrected = editor
        .post(
            "/api/units/tri-qua/reports/2026-05/send",
            &json!({"force": true, "replaces": 1}),
        )
        .await;
    assert_eq!(corrected.status, 201, "{}", corrected.text());
    let audit = editor.get("/api/audit?unit=tri-qua").await;
    assert_eq!(audit.status, 200, "{}", audit.text());
    let rows = audit.json();
    let actions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["correction", "send", "narrative_edit"], "{rows}");
    for row in rows.as_array().unwrap() {
        assert_eq!(row["who"], "editor-a", "{row}");
        assert_eq!(row["who_name"], "Nguyễn Văn Biên", "{row}");
        assert_eq!(row["unit"], "tri-qua");
        assert_eq!(row["period"], "2026-05");
    }
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .contains("correcting revision 1"),
        "{rows}"
    );
    api.stop().await;
}

#[tokio::test]
async fn a_viewer_reads_their_ward_and_is_refused_every_write() {
    let (env, api, _provider) = two_wards_signing_in().await;
    let (viewer, _) = Person::sign_in(&api, "viewer-a").await;
    for path in [
        "/api/units/tri-qua/indicators?period=2026-05",
        "/api/units/tri-qua/reports",
        "/api/units/tri-qua/reports/2026-05?format=html",
        "/api/units/tri-qua/reports/2026-05/narrative",
        "/api/audit?unit=tri-qua",
    ] {
        let read = viewer.get(path).await;
        assert_eq!(read.status, 200, "{path}: {}", read.text());
    }
    let edit = json!({"field": "proposals", "text": "Một đề xuất."});
    for path in [
        "/api/units/tri-qua/reports/2026-05/narrative",
        "/api/units/tri-qua/reports/2026-05/send",
    ] {
        let refused = viewer.post(path, &edit).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text());
    }
    assert_eq!(count(&env, "select count(*) from narrative_edit").await, 0);
    assert_eq!(count(&env, "select count(*) from report").await, 0);
    assert_eq!(count(&env, "select count(*) from audit").await, 0);
    api.stop().await;
}

#[tokio::test]
async fn the_department_sees_every_ward_and_a_ward_only_its_own() {
    let (_env, api, _provider) = two_wards_signing_in().await;
    let (department, _) = Person::sign_in(&api, "department").await;
    let (editor, _) = Person::sign_in(&api, "editor-a").await;
    let codes = |answer: Response, key: Option<&str>| -> Vec<String> {
        assert_eq!(answer.status, 200, "{}", answer.text());
        let body = answer.json();
        let list = key.map_or(body.clone(), |k| body[k].clone());
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| u["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(department.get("/api/units").await, None),
        ["tri-qua", "an-phu"]
    );
    assert_eq!(
        codes(
            department.get("/api/overview?period=2026-05").await,
            Some("units")
        ),
        ["tri-qua", "an-phu"]
    );
    assert_eq!(codes(editor.get("/api/units").await, None), ["tri-qua"]);
    let overview = editor.get("/api/overview?period=2026-05").await.json();
    assert_eq!(overview["units"].as_array().unwrap().len(), 1, "{overview}");
    assert_eq!(overview["units"][0]["code"], "tri-qua");
    // The total is of what they may see.
    assert_eq!(
        overview["total"]["dossiers_received"],
        overview["units"][0]["figures"]["dossiers_received"]
    );
    // The pipeline's health is the department's.
    assert_eq!(department.get("/api/pipeline").await.status, 200);
    assert_eq!(editor.get("/api/pipeline").await.status, 403);
    // The department reads every ward but, a viewer, changes none.
    assert_eq!(
        department.get("/api/units/an-phu/reports").await.status,
        200
    );
    let refused = department
        .post("/api/units/an-phu/reports/2026-05/send", &json!({}))
        .await;
    assert_eq!(refused.status, 403);
    api.stop().await;
}

#[tokio::test]
async fn a_person_without_a_role_sees_a_clear_page_and_no_data() {
    let (_env, api, _provider) = two_wards_signing_in().await;
    let (nobody, shown) = Person::sign_in(&api, "nobody").await;
    assert_eq!(shown["noRole"], true, "{shown}");
    let me = nobody.get("/api/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["roles"], json!([]));
    let refused = nobody.get("/api/units").await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["code"], "no_role");
    api.stop().await;
}

#[tokio::test]
async fn an_idle_an_expired_and_a_signed_out_session_are_refused() {
    let (env, api, _provider) = two_wards_signing_in().await;
    let (idle, _) = Person::sign_in(&api, "editor-a").await;
    assert_eq!(idle.get("/api/units").await.status, 200);
    sqlx::query("update session set seen_at = now() - interval '31 minutes'")
        .execute(&env.pool)
        .await
        .unwrap();
    let refused = idle.get("/api/units").await;
    assert_eq!(refused.status, 401, "idle past 30 minutes");
    assert_eq!(refused.header("x-baocao-sign-in"), Some("/auth/login"));

    let (expired, _) = Person::sign_in(&api, "editor-a").await;
    sqlx::query("update session set expires_at = now() - interval '1 second'")
        .execute(&env.pool)
        .await
        .unwrap();
    assert_eq!(expired.get("/api/units").await.status, 401, "past its end");

    let (leaving, _) = Person::sign_in(&api, "editor-a").await;
    assert_eq!(leaving.get("/api/units").await.status, 200);
    let out = Request::new("POST", "/auth/logout")
        .header("cookie", &leaving.cookie)
        .send(&api.address)
        .await;
    assert_eq!(out.status, 303);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("baocao_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        out.headers
    );
    assert_eq!(leaving.get("/api/units").await.status, 401, "signed out");
    api.stop().await;
}

#[tokio::test]
async fn the_admin_token_keeps_working_beside_sign_in_and_a_forged_callback_is_refused() {
    let (_env, api, _provider) = two_wards_signing_in().await;
    assert_eq!(api.get("/api/units").await.status, 200);
    let me = api.get("/api/me").await.json();
    assert_eq!(me["kind"], "admin");
    let wrong = Request::get("/api/units")
        .bearer(Some("not-the-token-0123456789-abcdefghijkl"))
        .send(&api.address)
        .await;
    assert_eq!(wrong.status, 401);
    let anonymous = Request::get("/api/units").send(&api.address).await;
    assert_eq!(anonymous.status, 401);
    // A callback this browser did not begin (no state cookie), or with a state never issued.
    let forged = Request::get("/auth/callback?code=abc&state=xyz")
        .send(&api.address)
        .await;
    assert_eq!(forged.status, 403);
    let unknown = Request::get("/auth/callback?code=abc&state=xyz")
        .header("cookie", "baocao_sign_in=xyz")
        .send(&api.address)
        .await;
    assert_eq!(unknown.status, 403);
    // A sign-in sends the browser to the provider with PKCE, state and nonce.
    let login = Request::get("/auth/login").send(&api.address).await;
    assert_eq!(login.status, 303);
    let location = login.header("location").unwrap();
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "response_type=code",
    ] {
        assert!(location.contains(part), "{location}");
    }
    api.stop().await;
}

#[tokio::test]
async fn a_provider_that_is_down_stops_sign_ins_and_nothing_else() {
    let (env, _) = two_wards("").await;
    let (api, provider) = env.start_api_with_people(Some(TOKEN)).await;
    drop(provider);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let login = Request::get("/auth/login").send(&api.address).await;
    assert_eq!(login.status, 503, "{}", login.text());
    assert_eq!(api.get("/api/units").await.status, 200);
    api.stop().await;
}

#[tokio::test]
async fn the_command_line_and_the_scheduler_are_named_in_the_audit_list() {
    let env = TestEnv::new().await;
    let output = env
        .command(Path::new(env!("CARGO_BIN_EXE_baocao-under-test")))
        .env("USER", "van-thu")
        .args([
            "report",
            "narrative",
            "set",
            "--unit",
            "tri-qua",
            "--period",
            "2026-05",
            "--field",
            "proposals",
            "--text",
            "Đề xuất từ dòng lệnh.",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Issued as the scheduler's step issues a due report (`reporter::job::issue`).
    baocao_tests::issue_reference_month(&env).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("select who, action from audit order by audit_id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("cli:van-thu".to_owned(), "narrative_edit".to_owned()),
            ("scheduler".to_owned(), "send".to_owned()),
        ]
    );
}

/// The API binary with `[auth.oidc]` whose issuer is `issuer`, on the shipped configuration.
fn api_binary_with_issuer(env: &TestEnv, issuer: &str) -> std::process::Command {
    let text = format!(
        "{}\n[auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"baocao\"\n\
         client_secret_env = \"BAOCAO_OIDC_CLIENT_SECRET\"\npublic_url = \"http://127.0.0.1:9\"\n",
        baocao_tests::shipped_config_text()
    );
    let config = env.write_config(&text);
    let mut command = env.command(Path::new(env!("CARGO_BIN_EXE_baocao-under-test")));
    command
        .args(["run", "--target", "api"])
        .env("BAOCAO_CONFIG", &config)
        .env(
            "BAOCAO_OIDC_CLIENT_SECRET",
            baocao_tests::oidc::CLIENT_SECRET,
        )
        .env("BAOCAO_ADMIN_TOKEN", TOKEN)
        .env("BAOCAO_LOG", "info");
    command
}

#[tokio::test]
async fn an_issuer_that_does_not_answer_as_a_provider_stops_the_start_naming_the_field() {
    let env = TestEnv::new().await;
    // A port nothing listens on: bound, then freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = tokio::task::spawn_blocking({
        let mut command = api_binary_with_issuer(&env, &issuer);
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("auth.oidc.issuer"), "{stderr}");
    assert!(stderr.contains(&issuer), "{stderr}");
    assert!(stderr.contains("baocao.toml"), "{stderr}");
    // The same file with a provider that answers: the API starts and listens.
    let provider = TestProvider::start("http://127.0.0.1:9/auth/callback").await;
    let mut started = api_binary_with_issuer(&env, &provider.issuer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = started.stderr.take().unwrap();
    let listening = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("HTTP listening"))
    });
    let listening = tokio::time::timeout(std::time::Duration::from_secs(30), listening).await;
    started.kill().ok();
    started.wait().ok();
    assert!(matches!(listening, Ok(Ok(true))), "the API did not start");
}
