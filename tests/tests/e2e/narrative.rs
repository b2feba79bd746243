//! A period's narrative at its edges (SPEC §6.1, §3.4's text from outside): every field and each
//! period's narrative bounded in total, so that appends cannot grow it without end; a paragraph
//! starting with `@` refused where the report would not draw it, by the command line (exit 1, one
//! line) and the API (400 with a JSON error) alike; and a ward whose narrative holds `@members`
//! stored before that check still issues, printing it as text.

use std::path::Path;
use std::process::Output;

use baocao::sim::province;
use baocao_tests::{TestEnv, issue_reference_month, repo_root, shipped_config_text};
use serde_json::json;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_baocao-under-test"))
}

/// `baocao` with `args`, with the configuration at `config` (the shipped one when `None`).
fn baocao(env: &TestEnv, config: Option<&Path>, args: &[&str]) -> Output {
    let mut command = env.command(binary());
    if let Some(config) = config {
        command.env("BAOCAO_CONFIG", config);
    }
    command.args(args).output().unwrap()
}

fn succeeded(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The one line a refused command printed, after checking that it exited 1.
fn refused(output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    lines[0].to_owned()
}

/// `report narrative set` of `unit` for May 2026: `field` set (or, with `append`, added to) to
/// `texts`, one paragraph each.
fn set(
    env: &TestEnv,
    config: Option<&Path>,
    unit: &str,
    field: &str,
    append: bool,
    texts: &[&str],
) -> Output {
    let mut args = vec![
        "report",
        "narrative",
        "set",
        "--unit",
        unit,
        "--period",
        "2026-05",
        "--field",
        field,
    ];
    if append {
        args.push("--append");
    }
    for text in texts {
        args.extend(["--text", text]);
    }
    baocao(env, config, &args)
}

/// How many paragraphs `narrative show` lists under `[field]`.
fn paragraphs_of(env: &TestEnv, field: &str) -> usize {
    let shown = succeeded(baocao(
        env,
        None,
        &[
            "report",
            "narrative",
            "show",
            "--unit",
            "tri-qua",
            "--period",
            "2026-05",
        ],
    ));
    shown
        .split("\n[")
        .find(|section| {
            section
                .trim_start_matches('[')
                .starts_with(&format!("{field}]"))
        })
        .map_or(0, |section| section.lines().skip(1).count())
}

#[tokio::test]
async fn appends_past_a_fields_or_a_periods_bound_are_refused_by_the_command_line_and_the_api() {
    let env = TestEnv::new().await;
    let long = "ấ".repeat(4_900);
    // The configured limitations (4 paragraphs, 524 characters) and three long ones fit...
    for _ in 0..3 {
        succeeded(set(&env, None, "tri-qua", "limitations", true, &[&long]));
    }
    // ... a fourth does not: the field would come to 20,124 characters.
    let error = refused(set(&env, None, "tri-qua", "limitations", true, &[&long]));
    assert_eq!(
        error,
        "error: limitations comes to 20124 characters, more than a field may have (20000)"
    );
    assert_eq!(paragraphs_of(&env, "limitations"), 7, "nothing stored");

    // The API refuses the same way, and the period's narrative as a whole too.
    let api = env.start_api(None).await;
    let path = "/api/units/tri-qua/reports/2026-05/narrative";
    let four = [long.as_str(); 4].join("\n\n");
    let answer = api
        .post(path, &json!({"field": "propaganda", "text": four}))
        .await;
    assert_eq!(answer.status, 200);
    let answer = api
        .post(
            path,
            &json!({"field": "propaganda", "action": "append", "text": long}),
        )
        .await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json()["code"], "narrative_refused");
    let message = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("propaganda comes to 24500 characters"),
        "{message}"
    );
    let three = [long.as_str(); 3].join("\n\n");
    let answer = api
        .post(
            path,
            &json!({"field": "proposals", "action": "append", "text": three}),
        )
        .await;
    assert_eq!(answer.status, 422);
    let message = answer.json()["error"].as_str().unwrap().to_owned();
    assert_eq!(
        message,
        "the narrative comes to 51730 characters in all, more than a report's may have (50000)"
    );
    api.stop().await;
}

#[tokio::test]
async fn a_paragraph_starting_with_at_is_refused_where_the_report_does_not_draw_it() {
    // A province: two wards and the department's summary of them.
    let text = province::config(&shipped_config_text(), 2).unwrap();
    let config = baocao::config::parse_file(&repo_root().join("baocao.toml"), &text).unwrap();
    let env = TestEnv::with_config(config).await;
    let path = env.write_config(&text);
    let ward = province::wards(2)[0].code.to_string();

    let error = refused(set(
        &env,
        Some(&path),
        &ward,
        "propaganda",
        false,
        &["@members"],
    ));
    assert!(
        error.contains("paragraph 1 cannot start with '@'")
            && error.contains("propaganda of a unit's report takes none"),
        "{error}"
    );
    let api = env.start_api(None).await;
    let post = |unit: &str, field: &str| {
        let path = format!("/api/units/{unit}/reports/2026-05/narrative");
        let body = json!({"field": field, "text": "Mở đầu.\n\n@members"});
        let api = &api;
        async move { api.post(&path, &body).await }
    };
    let answer = post(&ward, "proposals").await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json()["code"], "narrative_refused");
    let message = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("paragraph 2 cannot start with '@'"),
        "{message}"
    );
    // A summary places its members' table from a field printed as paragraphs, not as bullets.
    let summary = province::SUMMARY_CODE;
    assert_eq!(post(summary, "proposals").await.status, 200);
    let answer = post(summary, "limitations").await;
    assert_eq!(answer.status, 422);
    let message = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("limitations of a summary's report takes none"),
        "{message}"
    );
    api.stop().await;
    succeeded(set(
        &env,
        Some(&path),
        summary,
        "propaganda",
        false,
        &["@members"],
    ));
}

#[tokio::test]
async fn a_ward_whose_narrative_holds_members_stored_before_the_check_issues_with_it_as_text() {
    let env = TestEnv::new().await;
    // Stored as the command line let it through before paragraphs were checked for '@'.
    sqlx::query(
        "insert into narrative_edit (unit, period, field, paragraphs)
         values ('tri-qua', '2026-05', 'propaganda', array['@members', 'Tuyên truyền.'])",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    // Issued as the scheduler issues it: revision 1, five messages queued.
    issue_reference_month(&env).await;
    let text = succeeded(baocao(
        &env,
        None,
        &[
            "report", "show", "--unit", "tri-qua", "--period", "2026-05", "--format", "text",
        ],
    ));
    assert!(
        text.contains("1. Về công tác tuyên truyền\n\n@members\n\nTuyên truyền.\n"),
        "{text}"
    );
}
