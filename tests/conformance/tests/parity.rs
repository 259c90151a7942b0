//! Binding parity: every core error exists under the same name, with the same common fields,
//! and every core client option (with its default) is reachable, in Python, Node, Kotlin and
//! Swift. Generated from the core's own lists (`hopsafe::Error::NAMES`,
//! `hopsafe::ClientConfig::option_names()`), so adding a core error or option without its
//! bindings fails here.
//!
//! The checks read the bindings' sources and typed stubs (the files a user's tools read), so
//! they run in the Rust step without building any runtime.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn source(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `write_accepted` -> `writeAccepted`.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        match (c, upper) {
            ('_', _) => upper = true,
            (c, true) => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// One place a binding must mention every item of a list.
struct Surface {
    /// File, relative to the repository root.
    file: &'static str,
    /// The text that must appear for one item (given the item in the core's spelling).
    pattern: fn(&str) -> String,
}

/// Every `(file, item)` pair whose rendered pattern is missing.
fn missing(items: &[&str], surfaces: &[Surface]) -> Vec<String> {
    let mut out = Vec::new();
    for s in surfaces {
        let text = source(s.file);
        for item in items {
            let want = (s.pattern)(item);
            if !text.contains(&want) {
                out.push(format!("{}: no {want:?}", s.file));
            }
        }
    }
    out
}

/// The names declared in `text` by lines starting with `prefix` (after indentation) and
/// followed by an identifier.
fn declared(text: &str, prefix: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix(prefix))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

fn core_names() -> BTreeSet<String> {
    hopsafe::Error::NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn every_core_error_has_its_class_in_every_binding() {
    let surfaces = [
        // Python: a class, the by-name table, the package export.
        Surface {
            file: "bindings/python/python/hopsafe/_errors.py",
            pattern: |n| format!("class {n}(HopsafeError):"),
        },
        Surface {
            file: "bindings/python/python/hopsafe/__init__.py",
            pattern: |n| format!("    {n},\n"),
        },
        // Node: the runtime list, the typed stub, the ESM export.
        Surface {
            file: "bindings/node/index.js",
            pattern: |n| format!("'{n}'"),
        },
        Surface {
            file: "bindings/node/index.d.ts",
            pattern: |n| format!("export declare class {n} extends HopsafeError"),
        },
        Surface {
            file: "bindings/node/index.mjs",
            pattern: |n| format!(" {n},"),
        },
        // Kotlin and Swift: the uniffi enum both are generated from, and the hand-written
        // accessors of the common fields.
        Surface {
            file: "bindings/uniffi/src/error.rs",
            pattern: |n| format!("    {n} {{\n        detail: String,"),
        },
        Surface {
            file: "bindings/uniffi/kotlin/src/main/kotlin/dev/hopsafe/Errors.kt",
            pattern: |n| format!("is HopsafeException.{n} ->"),
        },
        Surface {
            file: "bindings/uniffi/swift/Sources/Hopsafe/Errors.swift",
            pattern: |n| format!("let .{n}(d, u, h, w"),
        },
    ];
    let names: Vec<&str> = hopsafe::Error::NAMES.to_vec();
    let gaps = missing(&names, &surfaces);
    assert!(
        gaps.is_empty(),
        "errors missing in bindings:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn no_binding_declares_an_error_the_core_does_not_have() {
    let core = core_names();
    let extra = |found: BTreeSet<String>, allowed: &[&str]| -> Vec<String> {
        found
            .into_iter()
            .filter(|n| !core.contains(n) && !allowed.contains(&n.as_str()))
            .collect()
    };
    let python = extra(
        declared(
            &source("bindings/python/python/hopsafe/_errors.py"),
            "class ",
        ),
        &["HopsafeError", "HTTPStatusError"],
    );
    assert!(
        python.is_empty(),
        "Python error classes not in the core: {python:?}"
    );
    let node = extra(
        declared(&source("bindings/node/index.d.ts"), "export declare class "),
        &["HopsafeError", "Client", "Headers", "Response", "Policy"],
    );
    assert!(node.is_empty(), "Node classes not in the core: {node:?}");
    let uniffi = source("bindings/uniffi/src/error.rs");
    let body = uniffi
        .split("pub enum HopsafeError {")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("bindings/uniffi/src/error.rs declares pub enum HopsafeError");
    let variants: BTreeSet<String> = body
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     ") && l.ends_with(" {"))
        .map(|l| l.trim().trim_end_matches(" {").to_owned())
        .collect();
    assert_eq!(
        variants, core,
        "uniffi HopsafeError variants differ from the core"
    );
}

#[test]
fn every_error_carries_the_common_fields_in_every_binding() {
    // The fields every error has, in the core's snake_case spelling.
    let common = ["url", "history", "write_accepted"];
    let snake = [Surface {
        file: "bindings/python/python/hopsafe/_errors.py",
        pattern: |f| format!("        self.{f}"),
    }];
    let camel_surfaces = [
        Surface {
            file: "bindings/node/index.js",
            pattern: |f| format!("this.{f} = "),
        },
        Surface {
            file: "bindings/node/index.d.ts",
            pattern: |f| format!("  readonly {f}: "),
        },
        Surface {
            file: "bindings/uniffi/kotlin/src/main/kotlin/dev/hopsafe/Errors.kt",
            pattern: |f| format!("val HopsafeException.{f}: "),
        },
        Surface {
            file: "bindings/uniffi/swift/Sources/Hopsafe/Errors.swift",
            pattern: |f| format!("public var {f}: "),
        },
    ];
    let mut gaps = missing(&common, &snake);
    let camels: Vec<String> = common.iter().map(|f| camel(f)).collect();
    let camels: Vec<&str> = camels.iter().map(String::as_str).collect();
    gaps.extend(missing(&camels, &camel_surfaces));
    // uniffi: every variant of the enum has every common field.
    let uniffi = source("bindings/uniffi/src/error.rs");
    for name in hopsafe::Error::NAMES {
        let start = uniffi
            .find(&format!("    {name} {{\n"))
            .unwrap_or_else(|| panic!("uniffi HopsafeError has no {name}"));
        let fields = &uniffi[start..start + uniffi[start..].find("    },").unwrap_or(0)];
        for f in common {
            if !fields.contains(&format!("        {f}: ")) {
                gaps.push(format!("uniffi HopsafeError::{name} has no {f}"));
            }
        }
    }
    assert!(
        gaps.is_empty(),
        "common error fields missing:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn camel_case_follows_the_bindings_spelling() {
    assert_eq!(camel("write_accepted"), "writeAccepted");
    assert_eq!(camel("key_honoring_origins"), "keyHonoringOrigins");
    assert_eq!(camel("url"), "url");
}

#[test]
fn uniffi_doc_comments_never_open_a_foreign_block_comment() {
    // uniffi copies `///` docs into Kotlin and Swift block comments, where `/*` opens a
    // nested comment that swallows the rest of the generated file.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bindings/uniffi/src");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for (i, line) in text.lines().enumerate() {
            let doc = line.trim_start().starts_with("///");
            assert!(
                !(doc && (line.contains("/*") || line.contains("*/"))),
                "{}:{}: a doc comment with /* or */ breaks the generated Kotlin and Swift",
                entry.path().display(),
                i + 1
            );
        }
    }
}

/// Options whose core value is a duration: `_ms`/`Ms` in the bindings that count milliseconds.
fn is_duration(option: &str) -> bool {
    option.ends_with("timeout") || option.ends_with("_delay") || option == "max_retry_after"
}

/// The core's option list, from `ClientConfig` itself: adding an option to the core without
/// its bindings fails the tests below.
fn core_options() -> Vec<String> {
    hopsafe::ClientConfig::option_names()
}

/// The retry policy's fields, from its serde form.
fn retry_fields() -> Vec<String> {
    match serde_json::to_value(hopsafe::RetryPolicy::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Node's spelling: camelCase, `Ms` for durations, and `ca` (as in Node's own `tls`).
fn node_name(option: &str) -> String {
    match option {
        "ca_pem" => "ca".into(),
        o if is_duration(o) => format!("{}Ms", camel(o)),
        o => camel(o),
    }
}

/// The uniffi record's spelling (Kotlin/Swift camelCase it): `_ms` for durations.
fn uniffi_name(option: &str) -> String {
    if is_duration(option) {
        format!("{option}_ms")
    } else {
        option.to_owned()
    }
}

fn check_names(items: &[String], file: &str, render: impl Fn(&str) -> String) -> Vec<String> {
    let text = source(file);
    items
        .iter()
        .map(|o| render(o))
        .filter(|want| !text.contains(want.as_str()))
        .map(|want| format!("{file}: no {want:?}"))
        .collect()
}

#[test]
fn every_core_option_is_reachable_in_every_binding() {
    let options = core_options();
    assert!(options.len() >= 20, "{options:?}");
    let mut gaps = Vec::new();
    // Python: a keyword of the client constructor, named as in the core.
    gaps.extend(check_names(
        &options,
        "bindings/python/python/hopsafe/_client.py",
        |o| format!("        {o}: "),
    ));
    // Node: the typed option and the key of the core document it is sent as.
    gaps.extend(check_names(&options, "bindings/node/index.d.ts", |o| {
        format!("  {}?: ", node_name(o))
    }));
    gaps.extend(check_names(&options, "bindings/node/index.js", |o| {
        format!("      {o}: ")
    }));
    // Kotlin and Swift: the uniffi record both are generated from.
    gaps.extend(check_names(
        &options,
        "bindings/uniffi/src/config.rs",
        |o| format!("    pub {}: ", uniffi_name(o)),
    ));
    gaps.extend(check_names(
        &options,
        "bindings/uniffi/src/config.rs",
        |o| format!("            {o}: "),
    ));
    assert!(
        gaps.is_empty(),
        "options missing in bindings:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn every_retry_field_is_reachable_in_every_binding() {
    let fields = retry_fields();
    assert!(fields.len() >= 6, "{fields:?}");
    let mut gaps = Vec::new();
    gaps.extend(check_names(
        &fields,
        "bindings/python/python/hopsafe/_client.py",
        |f| format!("    {f}: "),
    ));
    gaps.extend(check_names(&fields, "bindings/node/index.d.ts", |f| {
        format!("  {}?: ", node_name(f))
    }));
    gaps.extend(check_names(&fields, "bindings/node/index.js", |f| {
        format!("    {f}: ")
    }));
    gaps.extend(check_names(&fields, "bindings/uniffi/src/config.rs", |f| {
        format!("    pub {}: ", uniffi_name(f))
    }));
    assert!(
        gaps.is_empty(),
        "retry fields missing in bindings:\n{}",
        gaps.join("\n")
    );
}

/// A Python or Rust literal as JSON (`True`, `10.0`, `"quoted"`, `()`), if it is one.
fn literal(text: &str) -> Option<serde_json::Value> {
    let t = text.trim().trim_end_matches(',');
    match t {
        "True" | "true" => Some(true.into()),
        "False" | "false" => Some(false.into()),
        "()" | "[]" => Some(serde_json::json!([])),
        _ => serde_json::from_str(t).ok(),
    }
}

/// The same number or value, whether written `10` or `10.0`.
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[test]
fn every_binding_default_is_the_cores() {
    let defaults = serde_json::to_value(hopsafe::ClientConfig::default()).unwrap();
    let mut wrong = Vec::new();
    // Python: `name: type = default` in the constructor. `None` is "the core default"
    // (left out of the document), except for deadlines, where it is "no deadline".
    let python = source("bindings/python/python/hopsafe/_client.py");
    for o in core_options() {
        let core = &defaults[&o];
        let Some(line) = python
            .lines()
            .find(|l| l.starts_with(&format!("        {o}: ")))
        else {
            continue; // reported by the reachability test
        };
        let Some((_, default)) = line.split_once(" = ") else {
            wrong.push(format!("python {o}: no default"));
            continue;
        };
        let ok = match default.trim().trim_end_matches(',') {
            "None" => core.is_null() || !is_duration(&o),
            d => literal(d).is_some_and(|v| same(&v, core)),
        };
        if !ok {
            wrong.push(format!("python {o} = {default}, core {core}"));
        }
    }
    // uniffi: `#[uniffi(default = X)]` on a field that is not an Option must be the core's
    // value (in the record's unit); `#[uniffi(default)]` is empty/null (= the core default).
    let uniffi = source("bindings/uniffi/src/config.rs");
    let lines: Vec<&str> = uniffi.lines().collect();
    for o in core_options() {
        let field = format!("    pub {}: ", uniffi_name(&o));
        let Some(i) = lines.iter().position(|l| l.starts_with(&field)) else {
            continue;
        };
        let attr = lines[i.saturating_sub(1)].trim();
        let Some(value) = attr
            .strip_prefix("#[uniffi(default = ")
            .and_then(|v| v.strip_suffix(")]"))
        else {
            continue;
        };
        let core = &defaults[&o];
        if !literal(value).is_some_and(|v| same(&v, core)) {
            wrong.push(format!("uniffi {o} default {value}, core {core}"));
        }
    }
    assert!(wrong.is_empty(), "defaults differ:\n{}", wrong.join("\n"));
}
