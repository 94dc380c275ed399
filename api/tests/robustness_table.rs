//! `docs/robustness.md` keeps its promises: at least 45 kinds of bad input or fault, at least
//! three in each family, and every test a row names exists (`path/to/file.rs::name`, or
//! `…::tests::name` for unit tests, or `…::module::name` for tests generated per backend).

use std::collections::BTreeMap;

const TABLE: &str = "docs/robustness.md";
/// Kinds the table must hold at least.
const MIN_KINDS: usize = 45;
/// Kinds each family must hold at least.
const MIN_PER_FAMILY: usize = 3;

#[test]
fn every_kind_of_bad_input_names_a_test_that_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(TABLE)).expect("docs/robustness.md");
    let mut families: BTreeMap<String, usize> = BTreeMap::new();
    let mut kinds = 0;
    let mut missing = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split(" | ").collect();
        // Rows of the main table: family | what was sent | what hadir does | test.
        if !line.starts_with("| ") || cells.len() < 4 || line.starts_with("| family") {
            continue;
        }
        let family = cells[0].trim_start_matches("| ").trim();
        let tests = cells[cells.len() - 1].trim_end_matches('|').trim();
        if !tests.contains(".rs::") {
            continue;
        }
        kinds += 1;
        *families.entry(family.to_owned()).or_default() += 1;
        for named in tests.split('`').filter(|t| t.contains(".rs::")) {
            let (file, path) = named.split_once(".rs::").unwrap();
            let file = root.join(format!("{file}.rs"));
            let name = path.rsplit("::").next().unwrap();
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            if !source.contains(&format!("fn {name}(")) {
                missing.push(named.to_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests named in {TABLE} that do not exist: {missing:#?}"
    );
    assert!(
        kinds >= MIN_KINDS,
        "{kinds} kinds in {TABLE}; at least {MIN_KINDS} expected"
    );
    let thin: Vec<_> = families
        .iter()
        .filter(|(_, n)| **n < MIN_PER_FAMILY)
        .collect();
    assert!(
        thin.is_empty(),
        "families with fewer than {MIN_PER_FAMILY} kinds: {thin:?}"
    );
}
