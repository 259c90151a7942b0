//! Binding parity: every core error and error group exists in Python, Node, Kotlin and Swift,
//! under the name one rule derives from the core's (`Lang`, `class`), with the same parent
//! and the same fields; and every core client option (with its default) is reachable in each.
//! Generated from the core's own tables (`hopsafe::Error::HIERARCHY`,
//! `hopsafe::ClientConfig::option_names()`), so adding a core error, group or option without
//! its bindings fails here.
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

/// The bindings' spellings of a core error or group name: the one mapping rule.
#[derive(Clone, Copy)]
enum Lang {
    /// Python and Node: `Connect` -> `ConnectError`, group `Network` -> `NetworkError`.
    PythonNode,
    /// Kotlin: `Connect` -> `ConnectException`, group `Network` -> `NetworkException`.
    Kotlin,
    /// Swift: the enum case keeps the core name (`.Connect`, uniffi's spelling of error
    /// cases); a group is a case of `HopsafeError.Group` in lowerCamelCase (`.network`).
    Swift,
}

fn class(lang: Lang, core: &str) -> String {
    match lang {
        Lang::PythonNode => format!("{core}Error"),
        Lang::Kotlin => format!("{core}Exception"),
        Lang::Swift => core.to_owned(),
    }
}

fn group_class(lang: Lang, group: hopsafe::ErrorGroup) -> String {
    match lang {
        Lang::Swift => {
            let name = group.name();
            name[..1].to_ascii_lowercase() + &name[1..]
        }
        _ => class(lang, group.name()),
    }
}

/// The class a leaf extends: its group's, or the root's.
fn parent(lang: Lang, group: Option<hopsafe::ErrorGroup>) -> String {
    match (group, lang) {
        (Some(g), _) => group_class(lang, g),
        (None, Lang::Kotlin) => "HopsafeException".into(),
        (None, _) => "HopsafeError".into(),
    }
}

/// Fields some errors carry beyond the common ones, in the core's snake_case spelling (the
/// core's own field names of those variants).
const ERROR_FIELDS: &[(&str, &[&str])] = &[
    ("Timeout", &["phase"]),
    (
        "UpgradeRequired",
        &["sdk", "minimum_version", "current_version"],
    ),
];

/// Every `(file, text)` pair that is missing.
fn absent(wants: &[(&'static str, String)]) -> Vec<String> {
    wants
        .iter()
        .filter(|(file, want)| !source(file).contains(want.as_str()))
        .map(|(file, want)| format!("{file}: no {want:?}"))
        .collect()
}

#[test]
fn every_binding_mirrors_the_core_hierarchy() {
    use Lang::*;
    const PY: &str = "bindings/python/python/hopsafe/_errors.py";
    const PY_INIT: &str = "bindings/python/python/hopsafe/__init__.py";
    const JS: &str = "bindings/node/index.js";
    const DTS: &str = "bindings/node/index.d.ts";
    const MJS: &str = "bindings/node/index.mjs";
    const KT: &str = "bindings/uniffi/kotlin/src/main/kotlin/dev/hopsafe/Errors.kt";
    const TOML: &str = "bindings/uniffi/uniffi.toml";
    const SWIFT: &str = "bindings/uniffi/swift/Sources/Hopsafe/Errors.swift";
    let mut wants: Vec<(&'static str, String)> = Vec::new();
    for group in hopsafe::ErrorGroup::ALL {
        let (py, kt) = (group_class(PythonNode, *group), group_class(Kotlin, *group));
        wants.push((PY, format!("class {py}(HopsafeError):")));
        wants.push((PY_INIT, format!("    {py},\n")));
        wants.push((JS, format!("'{}'", group.name())));
        wants.push((
            DTS,
            format!("export declare class {py} extends HopsafeError {{}}"),
        ));
        wants.push((MJS, format!(" {py},")));
        wants.push((KT, format!("sealed class {kt} : HopsafeException()")));
        wants.push((
            SWIFT,
            format!("        case {}\n", group_class(Swift, *group)),
        ));
    }
    for (name, group) in hopsafe::Error::HIERARCHY {
        let py = class(PythonNode, name);
        // Python: the class under its parent (TimeoutError adds the builtin after it).
        wants.push((PY, format!("class {py}({}", parent(PythonNode, *group))));
        wants.push((PY_INIT, format!("    {py},\n")));
        // Node: the core name -> group table the classes are made from, the stub, the export.
        let js_group = group.map_or("null".into(), |g| format!("'{}'", g.name()));
        wants.push((JS, format!("  {name}: {js_group},\n")));
        wants.push((
            DTS,
            format!(
                "export declare class {py} extends {} ",
                parent(PythonNode, *group)
            ),
        ));
        wants.push((MJS, format!(" {py},")));
        // Kotlin: uniffi's class name (set by the rename), the alias, the exhaustive `when`.
        let kt = class(Kotlin, name);
        wants.push((TOML, format!("\"HopsafeError.{name}\" = \"{name}Error\"\n")));
        wants.push((KT, format!("typealias {kt} = HopsafeException.{kt}\n")));
        wants.push((KT, format!("is {kt} ->")));
        // Swift: the case's group.
        let swift_group = group.map_or("nil".into(), |g| format!(".{}", group_class(Swift, g)));
        wants.push((
            SWIFT,
            format!("case .{}: return {swift_group}\n", class(Swift, name)),
        ));
    }
    for (name, fields) in ERROR_FIELDS {
        let py = class(PythonNode, name);
        let body_of = |file: &str, start: &str, end: &str| -> String {
            source(file)
                .split(start)
                .nth(1)
                .and_then(|rest| rest.split(end).next())
                .unwrap_or_default()
                .to_owned()
        };
        let py_body = body_of(PY, &format!("class {py}("), "\nclass ");
        let dts_body = body_of(DTS, &format!("export declare class {py} "), "\nexport ");
        for f in *fields {
            if !py_body.contains(&format!("    {f}: ")) {
                wants.push((PY, format!("{f} in class {py}")));
            }
            if !dts_body.contains(&format!("readonly {}?: ", camel(f))) {
                wants.push((DTS, format!("{} in class {py}", camel(f))));
            }
            wants.push((JS, format!("['{f}', '{}']", camel(f))));
        }
    }
    let gaps = absent(&wants);
    assert!(
        gaps.is_empty(),
        "bindings differ from the core's error hierarchy:\n{}",
        gaps.join("\n")
    );
}

#[test]
fn the_kotlin_groups_are_applied_from_the_core() {
    // uniffi cannot nest its exceptions, so the bindgen rewrites each leaf's supertype from
    // `hopsafe::Error::HIERARCHY` with the rule of `class(Lang::Kotlin, ..)`.
    let bindgen = source("bindings/uniffi/bindgen/src/main.rs");
    for want in [
        "hopsafe::Error::HIERARCHY",
        "class {name}Exception(",
        ") : {group}Exception() {{",
    ] {
        assert!(bindgen.contains(want), "bindgen: no {want:?}");
    }
}

#[test]
fn no_binding_declares_an_error_the_core_does_not_have() {
    let core = core_names();
    let known = |lang: Lang| -> BTreeSet<String> {
        core.iter()
            .map(|n| class(lang, n))
            .chain(
                hopsafe::ErrorGroup::ALL
                    .iter()
                    .map(|g| group_class(lang, *g)),
            )
            .collect()
    };
    let extra = |found: BTreeSet<String>, allowed: &[&str]| -> Vec<String> {
        let known = known(Lang::PythonNode);
        found
            .into_iter()
            .filter(|n| !known.contains(n) && !allowed.contains(&n.as_str()))
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
    let kt = source("bindings/uniffi/kotlin/src/main/kotlin/dev/hopsafe/Errors.kt");
    let kotlin: BTreeSet<String> = declared(&kt, "typealias ")
        .into_iter()
        .chain(declared(&kt, "sealed class "))
        .collect();
    assert_eq!(
        kotlin,
        known(Lang::Kotlin),
        "Kotlin error classes differ from the core"
    );
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
    // uniffi (Kotlin and Swift): every variant has every common field, and its own fields.
    let uniffi = source("bindings/uniffi/src/error.rs");
    for name in hopsafe::Error::NAMES {
        let start = uniffi
            .find(&format!("    {name} {{\n"))
            .unwrap_or_else(|| panic!("uniffi HopsafeError has no {name}"));
        let fields = &uniffi[start..start + uniffi[start..].find("    },").unwrap_or(0)];
        let own = ERROR_FIELDS
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, f)| *f);
        for f in common.iter().chain(own) {
            if !fields.contains(&format!("        {f}: ")) {
                gaps.push(format!("uniffi HopsafeError::{name} has no {f}"));
            }
        }
    }
    assert!(
        gaps.is_empty(),
        "error fields missing:\n{}",
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

/// Node's spelling: camelCase, `Ms` for durations, and `ca`, `cert`, `key` (as in Node's own
/// `tls`).
fn node_name(option: &str) -> String {
    match option {
        "ca_pem" => "ca".into(),
        "client_cert_pem" => "cert".into(),
        "client_key_pem" => "key".into(),
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

#[test]
fn every_metrics_field_is_in_every_binding() {
    // From the core's snapshot itself: a field added there without its bindings fails here.
    let fields = hopsafe::MetricsSnapshot::field_names();
    assert!(
        fields.iter().any(|f| f == "writes_delivered_twice"),
        "{fields:?}"
    );
    let mut gaps = Vec::new();
    // Python: the TypedDicts (class or functional syntax).
    let py = "bindings/python/python/hopsafe/_models.py";
    let text = source(py);
    for f in &fields {
        if !text.contains(&format!("\"{f}\"")) && !text.contains(&format!("{f}:")) {
            gaps.push(format!("{py}: no {f:?}"));
        }
    }
    // Node: the addon's objects (napi camelCases them) and the typed stub.
    gaps.extend(check_names(&fields, "bindings/node/src/metrics.rs", |f| {
        format!("pub {f}:")
    }));
    gaps.extend(check_names(&fields, "bindings/node/index.d.ts", |f| {
        format!("{}:", camel(f))
    }));
    // Kotlin and Swift: the uniffi records (camelCased by uniffi).
    gaps.extend(check_names(
        &fields,
        "bindings/uniffi/src/metrics.rs",
        |f| format!("pub {f}:"),
    ));
    assert!(gaps.is_empty(), "metrics fields missing: {gaps:#?}");
}
