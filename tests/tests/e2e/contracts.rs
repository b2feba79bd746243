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
