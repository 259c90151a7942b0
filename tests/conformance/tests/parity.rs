//! Binding parity: every core error exists under the same name, with the same common fields,
//! in Python, Node, Kotlin and Swift. Generated from the core's own list
//! (`hopsafe::Error::NAMES`), so adding a core error without its bindings fails here.
//!
//! The checks read the bindings' sources and typed stubs (the files a user's tools read), so
//! they run in the Rust step without building any runtime. Each surface is a file plus a
//! pattern rendered per name in that language's spelling: the same table can later check the
//! core's option list.

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

/// Client options every binding exposes, in the core's snake_case spelling. The core has no
/// option list yet (issue 16: one serde `ClientConfig`); until it has, this list is the
/// source, and the same surfaces will read the core's list once it exists.
const SHARED_OPTIONS: &[&str] = &[
    "trusted_origins",
    "sensitive_headers",
    "key_honoring_origins",
    "allow_https_downgrade",
    "follow_redirects",
    "max_redirects",
    "idempotency_keys",
    "idempotency_key_format",
    "user_agent",
    "sdk_name",
    "sdk_version",
];

#[test]
fn every_shared_option_is_reachable_in_every_binding() {
    let snake = [
        Surface {
            file: "bindings/bridge/src/lib.rs",
            pattern: |o| format!("    {o}: "),
        },
        Surface {
            file: "bindings/python/python/hopsafe/_client.py",
            pattern: |o| format!("        {o}: "),
        },
        Surface {
            file: "bindings/uniffi/src/config.rs",
            pattern: |o| format!("    pub {o}: "),
        },
    ];
    let camel_surfaces = [
        Surface {
            file: "bindings/node/index.d.ts",
            pattern: |o| format!("  {o}?: "),
        },
        Surface {
            file: "bindings/node/index.js",
            pattern: |o| format!("o.{o}"),
        },
    ];
    let mut gaps = missing(SHARED_OPTIONS, &snake);
    let camels: Vec<String> = SHARED_OPTIONS.iter().map(|o| camel(o)).collect();
    let camels: Vec<&str> = camels.iter().map(String::as_str).collect();
    gaps.extend(missing(&camels, &camel_surfaces));
    assert!(
        gaps.is_empty(),
        "options missing in bindings:\n{}",
        gaps.join("\n")
    );
}
