//! `uniffi-bindgen`, pinned to the uniffi version of `hopsafe-ffi`:
//! `uniffi-bindgen generate --language kotlin --out-dir DIR target/debug/libhopsafe_ffi.so`.
//!
//! For Kotlin it then gives the generated exceptions the core's groups: uniffi makes every
//! variant of `HopsafeError` a direct subclass of the sealed `HopsafeException`, and nothing in
//! uniffi can place them under another class. So each leaf's supertype is rewritten to its
//! group's sealed class (`ConnectException : NetworkException`), which `Errors.kt` declares by
//! hand. The groups come from `hopsafe::Error::HIERARCHY`, the names from the binding rule
//! (`<core name>Exception`, set through `uniffi.toml`'s renames). Anything not as expected
//! fails the generation, so a uniffi upgrade that changes the template cannot go unnoticed.
//! In the same file it keeps one call status per thread instead of one per call (see
//! `call_status.rs`), sends `requestBlocking` and `openBlocking` through the binding's direct call (see
//! `direct_calls.rs`), and clones client and cancel handles without a call status (see
//! `clone_direct.rs`).

mod call_status;
mod clone_direct;
mod direct_calls;

use std::path::{Path, PathBuf};

/// The root every leaf extends in uniffi's output.
const ROOT: &str = "HopsafeException";

fn main() {
    uniffi::uniffi_bindgen_main();
    let args: Vec<String> = std::env::args().collect();
    let value = |names: &[&str]| {
        args.windows(2)
            .find(|w| names.contains(&w[0].as_str()))
            .map(|w| w[1].clone())
    };
    if args.get(1).map(String::as_str) != Some("generate")
        || value(&["--language", "-l"]).as_deref() != Some("kotlin")
    {
        return;
    }
    let Some(out) = value(&["--out-dir", "-o"]) else {
        return;
    };
    let mut done = 0;
    for file in kotlin_files(Path::new(&out)) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.contains(&format!("sealed class {ROOT}: kotlin.Exception()")) {
            continue;
        }
        match group_leaves(&text)
            .and_then(|t| call_status::reuse_per_thread(&t))
            .and_then(|t| direct_calls::blocking_calls_direct(&t))
            .and_then(|t| clone_direct::clones_direct(&t))
        {
            Ok(patched) => {
                if let Err(e) = std::fs::write(&file, patched) {
                    fail(&format!("{}: {e}", file.display()));
                }
                done += 1;
            }
            Err(e) => fail(&format!("{}: {e}", file.display())),
        }
    }
    if done == 0 {
        fail(&format!("no generated Kotlin under {out} declares {ROOT}"));
    }
}

/// `text` with `old`, uniffi's rendering of `what`, replaced by `new`; an error unless `old`
/// is there exactly once (a uniffi upgrade rendered it differently, or it is there twice).
fn replace_once(text: &str, what: &str, old: &str, new: &str) -> Result<String, String> {
    match text.matches(old).count() {
        1 => Ok(text.replace(old, new)),
        n => Err(format!(
            "expected {what} as uniffi 0.32 renders it once, found it {n} times"
        )),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("uniffi-bindgen (hopsafe error groups): {message}");
    std::process::exit(1)
}

/// Every leaf of a group extends the group's class instead of the root.
fn group_leaves(text: &str) -> Result<String, String> {
    let mut text = text.to_owned();
    for (name, group) in hopsafe::Error::HIERARCHY {
        let Some(group) = group else { continue };
        let head = format!("    class {name}Exception(\n");
        let start = text
            .find(&head)
            .ok_or_else(|| format!("no nested class {name}Exception"))?;
        let old = format!(") : {ROOT}() {{");
        let at = start
            + text[start..]
                .find(&old)
                .ok_or_else(|| format!("{name}Exception does not extend {ROOT}"))?;
        text.replace_range(at..at + old.len(), &format!(") : {group}Exception() {{"));
    }
    Ok(text)
}

fn kotlin_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(kotlin_files(&path));
        } else if path.extension().is_some_and(|e| e == "kt") {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// uniffi 0.32's rendering of one nested error class.
    fn leaf(name: &str) -> String {
        format!(
            "    class {name}Exception(\n        \n        val `detail`: kotlin.String\n        ) : {ROOT}() {{\n    }}\n"
        )
    }

    #[test]
    fn leaves_move_under_their_group_and_the_rest_stay() {
        let text: String = hopsafe::Error::HIERARCHY
            .iter()
            .map(|(n, _)| leaf(n))
            .collect();
        let out = group_leaves(&text).unwrap();
        assert!(out.contains("class ConnectException(\n        \n        val `detail`: kotlin.String\n        ) : NetworkException() {"));
        assert!(out.contains("class CancelledException(\n        \n        val `detail`: kotlin.String\n        ) : HopsafeException() {"));
        assert!(out.contains(") : InvalidInputException() {"));
    }

    #[test]
    fn output_it_does_not_recognise_is_an_error() {
        assert!(group_leaves("sealed class HopsafeException: kotlin.Exception() {}").is_err());
    }
}
