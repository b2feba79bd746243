//! The contract in `proto/` and the Rust parser agree: every valid example parses and passes
//! its JSON Schema; every invalid example is rejected by the parser with the reason its
//! manifest names, and by the schema exactly when the manifest says a schema can tell.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use baocao_tests::{instant, repo_root};
use domain::{KnownUnits, UnitCode, parse_event};
use serde_json::Value;

fn units() -> KnownUnits {
    KnownUnits::new([UnitCode::parse("tri-qua").unwrap()])
}

fn schemas() -> BTreeMap<String, jsonschema::Validator> {
    let dir = repo_root().join("proto/schemas");
    fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let schema: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                validator,
            )
        })
        .collect()
}

fn examples(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().is_some_and(|name| name != "expected.json"))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn there_is_a_schema_for_each_of_the_six_event_types() {
    let names: Vec<String> = schemas().into_keys().collect();
    let expected: Vec<String> = domain::event::EVENT_TYPES
        .iter()
        .map(|(t, _)| format!("{t}.schema.json"))
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(names, expected_sorted);
}

#[test]
fn every_valid_example_passes_its_schema_and_the_parser() {
    let schemas = schemas();
    let valid = examples(&repo_root().join("proto/examples/valid"));
    assert!(valid.len() >= 6, "too few valid examples");
    let mut types_seen = std::collections::BTreeSet::new();
    for (name, bytes) in valid {
        let parsed = parse_event(&bytes, &units(), instant("2026-06-01T00:00:00Z")).unwrap_or_else(
            |rejection| panic!("{name}: parser rejected it: {}", rejection.reason()),
        );
        let type_name = parsed.event.kind().type_name();
        types_seen.insert(type_name);
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        let schema = &schemas[&format!("{type_name}.schema.json")];
        let errors: Vec<String> = schema.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: schema rejected it: {errors:?}");
    }
    assert_eq!(types_seen.len(), 6, "a type has no valid example");
}

#[test]
fn every_invalid_example_gets_its_reason_from_the_parser_and_the_schema_agrees() {
    let schemas = schemas();
    let dir = repo_root().join("proto/examples/invalid");
    let manifest: BTreeMap<String, Value> =
        serde_json::from_slice(&fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let invalid = examples(&dir);
    assert_eq!(
        invalid.len(),
        manifest.len(),
        "expected.json and the examples differ"
    );
    for (name, bytes) in invalid {
        let expected = &manifest[&name];
        let rejection = parse_event(&bytes, &units(), instant("2026-06-01T00:00:00Z"))
            .err()
            .unwrap_or_else(|| panic!("{name}: the parser accepted it"));
        assert_eq!(
            rejection.reason(),
            expected["reason"].as_str().unwrap(),
            "{name}"
        );

        let Ok(json) = serde_json::from_slice::<Value>(&bytes) else {
            assert_eq!(
                expected["schema"],
                Value::Null,
                "{name}: not JSON, yet a schema is named"
            );
            continue;
        };
        let schema_rejects = match expected["schema"].as_str() {
            Some(schema) => !schemas[schema].is_valid(&json),
            None => schemas.values().all(|schema| !schema.is_valid(&json)),
        };
        assert_eq!(
            schema_rejects,
            expected["schema_rejects"].as_bool().unwrap(),
            "{name}: the schema disagrees"
        );
    }
}

#[test]
fn the_asyncapi_document_names_the_topology_and_every_schema() {
    let text = fs::read_to_string(repo_root().join("proto/asyncapi.json")).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert!(document["asyncapi"].as_str().unwrap().starts_with("3."));
    let topology = broker::Topology::default();
    for name in [
        &topology.eoffice_exchange,
        &topology.portal_exchange,
        &topology.eoffice_queue,
        &topology.portal_queue,
        &topology.dead_exchange,
    ] {
        assert!(
            text.contains(&format!("\"{name}\"")),
            "asyncapi.json does not name {name}"
        );
    }
    for (type_name, _) in domain::event::EVENT_TYPES {
        let reference = format!("schemas/{type_name}.schema.json");
        assert!(
            text.contains(&reference),
            "asyncapi.json does not reference {reference}"
        );
    }
    for reason in [
        "too_large",
        "malformed",
        "unknown_type",
        "unknown_unit",
        "invalid_field:",
        "invalid_timestamp",
        "future_timestamp",
    ] {
        assert!(
            text.contains(reason),
            "asyncapi.json does not document reason {reason}"
        );
    }
}

/// The units with tri-qua's agency code, as the shipped configuration has it.
fn units_with_agency() -> KnownUnits {
    let tri_qua = UnitCode::parse("tri-qua").unwrap();
    KnownUnits::new([tri_qua.clone()]).with_agencies([("000.00.12.H55".to_owned(), tri_qua)])
}

fn dvcqg_schema() -> jsonschema::Validator {
    let path = repo_root().join("proto/dvcqg/sync.schema.json");
    let schema: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    jsonschema::options().build(&schema).unwrap()
}

/// What the parser says of a sync body: the reason of the whole body's refusal, or of each
/// refused record, and how many events the rest give.
fn read_sync(bytes: &[u8]) -> Result<(Vec<String>, usize), String> {
    let body = domain::dvcqg::read_body(bytes, &units_with_agency()).map_err(|r| r.reason())?;
    let now = instant("2026-06-01T00:00:00Z");
    let (mut refused, mut events) = (Vec::new(), 0);
    for record in &body.records {
        match domain::dvcqg::record_events(&body, record, now) {
            Ok(read) => events += read.len(),
            Err(rejected) => refused.push(rejected.rejection.reason()),
        }
    }
    Ok((refused, events))
}

#[test]
fn every_valid_dvcqg_example_passes_its_schema_and_the_parser() {
    let schema = dvcqg_schema();
    let valid = examples(&repo_root().join("proto/dvcqg/examples/valid"));
    assert_eq!(valid.len(), 2);
    for (name, bytes) in valid {
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        let errors: Vec<String> = schema.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: schema rejected it: {errors:?}");
        let (refused, _) = read_sync(&bytes).unwrap_or_else(|r| panic!("{name}: {r}"));
        assert!(refused.is_empty(), "{name}: {refused:?}");
    }
    let month = fs::read(repo_root().join("proto/dvcqg/examples/valid/sync-month.json")).unwrap();
    // 10 (received, resolved), 5 (received), 7 (received, ended without a result), 1 (nothing).
    assert_eq!(read_sync(&month).unwrap().1, 5);
}

#[test]
fn every_invalid_dvcqg_example_is_refused_with_its_reason_and_by_the_schema_when_it_can_tell() {
    let schema = dvcqg_schema();
    let dir = repo_root().join("proto/dvcqg/examples/invalid");
    let manifest: BTreeMap<String, Value> =
        serde_json::from_slice(&fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let invalid = examples(&dir);
    assert_eq!(invalid.len(), manifest.len());
    for (name, bytes) in invalid {
        let expected = &manifest[&name];
        let reason = expected["reason"].as_str().unwrap();
        match read_sync(&bytes) {
            Err(got) => {
                assert_eq!(expected["whole_body"], true, "{name}");
                assert_eq!(got, reason, "{name}");
            }
            Ok((refused, _)) => {
                assert_eq!(expected["whole_body"], false, "{name}");
                assert_eq!(refused, [reason], "{name}");
            }
        }
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            !schema.is_valid(&json),
            expected["schema_rejects"].as_bool().unwrap(),
            "{name}: the schema's verdict"
        );
    }
}
