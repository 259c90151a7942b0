//! `cargo xtask check-versions`: the workspace version is the one version of every package.

use crate::util::{root, Result};

/// The workspace version from the root Cargo.toml.
pub fn workspace_version() -> Result<String> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| e.to_string())?;
    let section = text
        .split("[workspace.package]")
        .nth(1)
        .ok_or("no [workspace.package]")?;
    quoted_after(section, "version =").ok_or_else(|| "no workspace version".into())
}

fn quoted_after(text: &str, key: &str) -> Option<String> {
    let rest = &text[text.find(key)? + key.len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_owned())
}

/// Each package manifest and the version it declares (`None` = taken from Cargo).
fn declared() -> Vec<(&'static str, Option<String>)> {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).ok();
    let mut out = Vec::new();
    if let Some(pom) = read("bindings/uniffi/kotlin/pom.xml") {
        let after = pom
            .split("<artifactId>hopsafe-kotlin</artifactId>")
            .nth(1)
            .unwrap_or("");
        let v = after
            .split("<version>")
            .nth(1)
            .and_then(|s| s.split("</version>").next());
        out.push((
            "bindings/uniffi/kotlin/pom.xml",
            Some(v.unwrap_or("?").to_owned()),
        ));
    }
    if let Some(py) = read("bindings/python/pyproject.toml") {
        let project = py.split("[project]").nth(1).unwrap_or("");
        let project = project.split("\n[").next().unwrap_or("");
        let dynamic = project.contains("dynamic") && project.contains("\"version\"");
        let v = if dynamic {
            None
        } else {
            quoted_after(project, "version =")
        };
        out.push((
            "bindings/python/pyproject.toml",
            v.or(if dynamic { None } else { Some("?".into()) }),
        ));
    }
    if let Some(pkg) = read("bindings/node/package.json") {
        let v = serde_json::from_str::<serde_json::Value>(&pkg)
            .ok()
            .and_then(|j| j["version"].as_str().map(str::to_owned));
        out.push((
            "bindings/node/package.json",
            Some(v.unwrap_or_else(|| "?".into())),
        ));
    }
    out
}

pub fn check() -> Result {
    let want = workspace_version()?;
    let mut drift = Vec::new();
    for (file, v) in declared() {
        match v {
            None => eprintln!("  {file}: version taken from Cargo ({want})"),
            Some(v) if v == want => eprintln!("  {file}: {v}"),
            Some(v) => drift.push(format!("{file} says {v}, the workspace says {want}")),
        }
    }
    if drift.is_empty() {
        eprintln!("  every package is at {want}");
        Ok(())
    } else {
        Err(drift.join("; "))
    }
}
