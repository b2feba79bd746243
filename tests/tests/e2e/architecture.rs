//! ARCHITECTURE.md stays true: its dependency arrows are exactly those of the crates'
//! `Cargo.toml` files.

use std::collections::BTreeMap;
use std::fs;

use baocao_tests::repo_root;

/// Each crate of `services/` with its dependencies among the workspace's own crates.
fn manifest_arrows() -> BTreeMap<String, Vec<String>> {
    let services = repo_root().join("services");
    let crates: Vec<String> = fs::read_dir(&services)
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            entry
                .path()
                .join("Cargo.toml")
                .exists()
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect();
    crates
        .iter()
        .map(|name| {
            let text = fs::read_to_string(services.join(name).join("Cargo.toml")).unwrap();
            let manifest: toml::Table = toml::from_str(&text).unwrap();
            let mut deps: Vec<String> = manifest
                .get("dependencies")
                .and_then(|d| d.as_table())
                .map(|table| {
                    table
                        .keys()
                        .filter(|key| crates.contains(key))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            deps.sort();
            (name.clone(), deps)
        })
        .collect()
}

/// The arrows written in ARCHITECTURE.md's block under "## Crates".
fn documented_arrows() -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string(repo_root().join("ARCHITECTURE.md")).unwrap();
    let section = text.split("## Crates").nth(1).expect("a Crates section");
    let block = section
        .split("```text")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a text block of arrows");
    block
        .lines()
        .filter_map(|line| line.split_once('→'))
        .map(|(from, to)| {
            let mut deps: Vec<String> = to
                .split(',')
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .collect();
            deps.sort();
            (from.trim().to_owned(), deps)
        })
        .collect()
}

#[test]
fn the_dependency_arrows_in_architecture_md_are_the_manifests() {
    let documented = documented_arrows();
    let actual = manifest_arrows();
    assert!(!actual.is_empty());
    assert_eq!(
        documented, actual,
        "ARCHITECTURE.md's arrows differ from the crates' Cargo.toml files"
    );
}

#[test]
fn every_file_the_rule_table_names_exists() {
    let text = fs::read_to_string(repo_root().join("ARCHITECTURE.md")).unwrap();
    let paths: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("services/") && span.ends_with(".rs"))
        .collect();
    assert!(paths.len() > 10, "{paths:?}");
    for path in paths {
        assert!(
            repo_root().join(path).exists(),
            "ARCHITECTURE.md names {path}, which does not exist"
        );
    }
}
