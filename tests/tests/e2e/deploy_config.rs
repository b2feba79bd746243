//! What is deployed is what the binary understands, checked without a cluster:
//!
//! - every `baocao.toml` under `k8s/` (each overlay's ConfigMap) and the shipped one loads with
//!   the real configuration loader, checks included;
//! - every `baocao_*` metric that the alerts (`PrometheusRule`) and the Grafana dashboard query
//!   is one the binary exports, under that exact name, and is filtered or grouped only by
//!   labels it has (or that Prometheus adds when it scrapes a pod), so that renaming a metric
//!   or a label breaks this test instead of silently silencing an alert;
//! - the metrics table of `docs/operations.md` lists exactly the exported metrics, with their
//!   labels.
//!
//! The exported names come from the process's real registry (`metrics::global()`), encoded as
//! `/metrics` encodes it, not from a list kept here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use baocao_tests::repo_root;
use serde_json::Value;

/// Labels Prometheus adds to every series scraped by the monitoring component's PodMonitor
/// (`podTargetLabels: app.kubernetes.io/component` included), besides a metric's own.
const TARGET_LABELS: &[&str] = &[
    "namespace",
    "pod",
    "container",
    "endpoint",
    "instance",
    "job",
    "service",
    "app_kubernetes_io_component",
];

const RULES: &str = "k8s/components/monitoring/prometheusrule.yaml";
const DASHBOARD: &str = "k8s/components/monitoring/baocao-dashboard.json";

/// Every file called `baocao.toml` under `dir`.
fn toml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, found);
        } else if path.file_name().is_some_and(|name| name == "baocao.toml") {
            found.push(path);
        }
    }
}

#[test]
fn every_deployed_and_shipped_baocao_toml_loads_with_the_real_loader() {
    let root = repo_root();
    let mut files = vec![root.join("baocao.toml")];
    toml_files(&root.join("k8s"), &mut files);
    let overlays = files
        .iter()
        .filter(|path| path.starts_with(root.join("k8s/overlays")))
        .count();
    assert!(overlays >= 2, "no overlay's baocao.toml found in {files:?}");
    let mut problems = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let shown = path.strip_prefix(&root).unwrap();
        match baocao::config::parse_file(shown, &text) {
            Ok(config) => assert!(!config.units.is_empty()),
            Err(error) => problems.push(error.to_string()),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_province_overlay_has_several_wards_a_summary_and_signatures() {
    let path = repo_root().join("k8s/overlays/province/baocao.toml");
    let config = baocao::config::load_file(&path).unwrap();
    assert!(config.units.len() >= 2, "a province has several wards");
    assert!(!config.summaries.is_empty(), "a province has a summary");
    let signed = config
        .units
        .iter()
        .chain(&config.summaries)
        .filter(|unit| unit.signature.is_some())
        .count();
    assert!(signed > 0, "the example shows [unit.signature]");
}

/// A metric as `/metrics` exposes it: its family's type and the labels of its samples.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    labels: BTreeSet<String>,
}

/// The process's registry with one sample in every labelled family, so that its labels show.
/// A new labelled metric needs a sample here too, or a query on its labels fails the test.
fn exported_families() -> BTreeMap<String, Family> {
    let m = metrics::global();
    m.count_ingested("tri-qua", "procedure.received", 1);
    m.count_rejected("malformed");
    m.observe_batch(10, std::time::Duration::from_millis(5));
    m.observe_render("pdf", std::time::Duration::from_millis(5));
    m.live_refresh_seconds.observe(0.01);
    m.set_consumer_lag("baocao.portal", 1);
    m.dead_letters.set(1);
    m.set_outbox("sent", 1);
    m.set_issue_failures("tri-qua", 0);
    m.set_due_unissued("tri-qua", 0);
    m.set_source_last_event("tri-qua", "procedure.received", 1.0e9);
    m.set_ready("all", true);
    m.set_certificate_expiry("tri-qua", 2.0e9);
    m.set_certificate_unavailable("tri-qua", false);
    m.count_http_refused("streams_per_client");
    m.set_source_feed("mot-cua", Some(1.0e9), false);
    let text = m.encode();
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            families.entry(name.to_owned()).or_default().kind = kind.to_owned();
        } else if !line.starts_with('#') {
            let (name, labels) = sample_name_and_labels(line);
            let family = families
                .iter_mut()
                .filter(|(family, _)| name.starts_with(family.as_str()))
                .max_by_key(|(family, _)| family.len())
                .unwrap_or_else(|| panic!("sample {line:?} of no family"));
            family
                .1
                .labels
                .extend(labels.into_iter().filter(|l| l != "le"));
        }
    }
    // A family without samples is not encoded at all: every registered one must show here.
    let source = fs::read_to_string(repo_root().join("services/metrics/src/lib.rs")).unwrap();
    let registered =
        source.matches("r.register(").count() + source.matches("r.register_with_unit(").count();
    assert_eq!(
        families.len(),
        registered,
        "services/metrics registers {registered} metrics but {} were encoded: give each new \
         labelled family a sample in exported_families()\n{text}",
        families.len()
    );
    families
}

/// `name{a="x",b="y"} 1` → (`name`, [a, b]).
fn sample_name_and_labels(line: &str) -> (String, Vec<String>) {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = line[..end].to_owned();
    let mut labels = Vec::new();
    if line[end..].starts_with('{') {
        let inner = &line[end + 1..line.find('}').unwrap()];
        for pair in inner.split(',') {
            if let Some((label, _)) = pair.split_once('=') {
                labels.push(label.trim().to_owned());
            }
        }
    }
    (name, labels)
}

/// Every series name a family's samples take, with the labels each series may carry.
fn exported_series(families: &BTreeMap<String, Family>) -> BTreeMap<String, BTreeSet<String>> {
    let mut series = BTreeMap::new();
    for (name, family) in families {
        let suffixes: &[&str] = match family.kind.as_str() {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            _ => &[""],
        };
        for suffix in suffixes {
            let mut labels = family.labels.clone();
            if *suffix == "_bucket" {
                labels.insert("le".to_owned());
            }
            series.insert(format!("{name}{suffix}"), labels);
        }
    }
    series
}

/// The PromQL expressions of the rules file: each `expr:` value, inline or a folded block.
fn rule_expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut exprs = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let key = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let Some(value) = key.strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if !value.starts_with(['>', '|']) {
            exprs.push(value.to_owned());
            continue;
        }
        let indent = line.len() - key.len();
        let block: Vec<&str> = lines[index + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|l| l.trim())
            .collect();
        exprs.push(block.join(" "));
    }
    exprs
}

/// The PromQL expressions of the dashboard: every panel target's `expr` and every query
/// variable's query.
fn dashboard_expressions(json: &Value) -> Vec<String> {
    let mut exprs = Vec::new();
    let mut stack = vec![json];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("expr" | "query" | "definition", Value::String(text)) => {
                            exprs.push(text.clone())
                        }
                        _ => stack.push(inner),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    exprs
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Each `baocao_*` name in `expr`, with the label names of the selector right after it.
fn metric_references(expr: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("baocao_") {
        let preceded = rest[..at].chars().next_back().is_some_and(is_ident);
        let tail = &rest[at..];
        let end = tail.find(|c| !is_ident(c)).unwrap_or(tail.len());
        // `baocao_` alone is the prefix, as a description may mention it.
        if !preceded && end > "baocao_".len() {
            let mut labels = Vec::new();
            if let Some(selector) = tail[end..].strip_prefix('{') {
                let inner = &selector[..selector.find('}').unwrap_or(selector.len())];
                labels = selector_labels(inner);
            }
            found.push((tail[..end].to_owned(), labels));
        }
        rest = &tail[end..];
    }
    found
}

/// The label names a selector's matchers name: `a="x", b=~"y|z"` → [a, b].
fn selector_labels(inner: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut in_string = false;
    let mut current = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                chars.next();
            }
            _ if in_string => {}
            c if is_ident(c) => current.push(c),
            _ => {
                if !current.is_empty() && matches!(c, '=' | '!') {
                    labels.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    labels
}

/// The labels of every `by (...)`, `without (...)`, `on (...)` and `ignoring (...)` clause.
fn grouping_labels(expr: &str) -> Vec<String> {
    let mut labels = Vec::new();
    for keyword in [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ] {
        let mut rest = expr;
        while let Some(at) = rest.find(keyword) {
            let preceded = rest[..at].chars().next_back().is_some_and(is_ident);
            let tail = &rest[at + keyword.len()..];
            rest = tail;
            if preceded {
                continue;
            }
            let Some(list) = tail.trim_start().strip_prefix('(') else {
                continue;
            };
            let list = &list[..list.find(')').unwrap_or(list.len())];
            labels.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    labels
}

/// What is wrong with the metrics and labels `expr` uses.
fn check_expression(
    source: &str,
    expr: &str,
    series: &BTreeMap<String, BTreeSet<String>>,
    problems: &mut Vec<String>,
) {
    let references = metric_references(expr);
    let mut available: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
    for (name, labels) in &references {
        let Some(own) = series.get(name) else {
            problems.push(format!(
                "{source}: `{name}` is no metric baocao exports, in: {expr}"
            ));
            continue;
        };
        available.extend(own.iter().cloned());
        for label in labels {
            if !own.contains(label) && !TARGET_LABELS.contains(&label.as_str()) {
                problems.push(format!(
                    "{source}: `{name}` has no label `{label}`, in: {expr}"
                ));
            }
        }
    }
    if references.is_empty() {
        return;
    }
    for label in grouping_labels(expr) {
        if !available.contains(&label) {
            problems.push(format!(
                "{source}: groups by `{label}`, which none of its metrics has, in: {expr}"
            ));
        }
    }
}

#[test]
fn alerts_and_dashboard_query_only_metrics_and_labels_the_binary_exports() {
    let series = exported_series(&exported_families());
    let root = repo_root();
    let yaml = fs::read_to_string(root.join(RULES)).unwrap();
    let dashboard: Value =
        serde_json::from_str(&fs::read_to_string(root.join(DASHBOARD)).unwrap()).unwrap();
    let mut problems = Vec::new();
    let rules = rule_expressions(&yaml);
    assert!(rules.len() >= 6, "no alert expressions found in {RULES}");
    let panels = dashboard_expressions(&dashboard);
    assert!(panels.len() >= 10, "no panel queries found in {DASHBOARD}");
    let mut used = BTreeSet::new();
    for (source, exprs) in [(RULES, &rules), (DASHBOARD, &panels)] {
        for expr in exprs {
            check_expression(source, expr, &series, &mut problems);
            used.extend(metric_references(expr).into_iter().map(|(name, _)| name));
        }
    }
    // A `baocao_` name anywhere else in the files (a comment, a description) is also checked.
    for (source, text) in [(RULES, yaml.as_str()), (DASHBOARD, &dashboard.to_string())] {
        for (name, _) in metric_references(text) {
            if !series.contains_key(&name) {
                problems.push(format!(
                    "{source}: mentions `{name}`, which baocao does not export"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The alerts the operations guide promises (issue 13) query what they must.
    for needed in [
        "baocao_events_rejected_total",
        "baocao_dead_letter_messages",
        "baocao_consumer_lag_messages",
        "baocao_emails_failed_total",
        "baocao_report_due_unissued",
        "baocao_report_issue_failures",
        "baocao_source_last_event_timestamp_seconds",
        "baocao_ready",
        "baocao_broker_up",
        "baocao_signing_certificate_expiry_timestamp_seconds",
        "baocao_signing_certificate_unavailable",
    ] {
        let alerted = rules.iter().any(|expr| {
            metric_references(expr)
                .iter()
                .any(|(name, _)| name == needed)
        });
        assert!(alerted, "no alert in {RULES} uses {needed}");
    }
}

#[test]
fn the_guides_metrics_table_lists_exactly_the_exported_metrics() {
    let families = exported_families();
    let exported: BTreeMap<String, BTreeSet<String>> = families
        .iter()
        .map(|(name, family)| {
            let shown = match family.kind.as_str() {
                "counter" => format!("{name}_total"),
                _ => name.clone(),
            };
            (shown, family.labels.clone())
        })
        .collect();
    let guide = fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    let mut documented = BTreeMap::new();
    for line in guide.lines() {
        let Some(cell) = line.strip_prefix("| `baocao_") else {
            continue;
        };
        let cell = &cell[..cell.find('`').unwrap()];
        let (name, labels) = match cell.split_once('{') {
            Some((name, labels)) => (
                name,
                labels
                    .trim_end_matches('}')
                    .split(',')
                    .map(|l| l.trim().to_owned())
                    .collect(),
            ),
            None => (cell, BTreeSet::new()),
        };
        documented.insert(format!("baocao_{name}"), labels);
    }
    let mut problems = Vec::new();
    for (name, labels) in &documented {
        match exported.get(name) {
            None => problems.push(format!("{name} is documented but not exported")),
            Some(own) if own != labels => problems.push(format!(
                "{name} is documented with labels {labels:?}, exported with {own:?}"
            )),
            Some(_) => {}
        }
    }
    for name in exported
        .keys()
        .filter(|name| !documented.contains_key(*name))
    {
        problems.push(format!("{name} is exported but not in the table"));
    }
    assert!(
        problems.is_empty(),
        "docs/operations.md, \"Metrics\":\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_expression_scanner_finds_names_selectors_and_groupings() {
    let expr =
        r#"max by (namespace, unit) (baocao_x{state="a,b", unit!~"c"}) - on () baocao_y_total"#;
    assert_eq!(
        metric_references(expr),
        vec![
            (
                "baocao_x".to_owned(),
                vec!["state".to_owned(), "unit".to_owned()]
            ),
            ("baocao_y_total".to_owned(), vec![]),
        ]
    );
    assert_eq!(grouping_labels(expr), vec!["namespace", "unit"]);
    let yaml = "rules:\n  - expr: >-\n      a\n      and b\n    for: 5m\n  - expr: c > 0\n";
    assert_eq!(rule_expressions(yaml), vec!["a and b", "c > 0"]);
}
