//! The core's modules form no import cycle (issue 15: error is a leaf, the engine only
//! sequences, each policy module decides one thing). Read from the sources: every
//! `crate::module` a module names outside comments and its unit tests is an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module -> the modules it uses.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut code = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            code.insert(name, lines.join("\n"));
        }
    }
    let names: BTreeSet<String> = code.keys().cloned().collect();
    code.iter()
        .map(|(module, text)| {
            let used = text
                .split("crate::")
                .skip(1)
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .filter(|m| m != module && names.contains(m))
                .collect();
            (module.clone(), used)
        })
        .collect()
}

/// A path that leads from `from` back to itself, if any.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let last = path.last().cloned().unwrap_or_else(|| from.to_owned());
    for next in &graph[&last] {
        if next == from {
            let mut found = path.clone();
            found.push(next.clone());
            return Some(found);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(found) = cycle_from(graph, from, path) {
                return Some(found);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn the_core_modules_form_no_import_cycle() {
    let graph = edges();
    assert!(
        graph["engine"].contains("redirect"),
        "the reader finds edges"
    );
    for module in graph.keys() {
        let mut path = vec![module.clone()];
        if let Some(cycle) = cycle_from(&graph, module, &mut path) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn error_is_a_leaf_but_for_the_hop_records() {
    let graph = edges();
    assert_eq!(
        graph["error"].iter().collect::<Vec<_>>(),
        ["history"],
        "error.rs uses only history.rs"
    );
    assert!(
        graph["history"].is_empty(),
        "history.rs uses no other module"
    );
}
