//! The `kotlin` step: build the uniffi cdylib, generate Kotlin with the pinned
//! `uniffi-bindgen`, and run the Maven project's JUnit tests against the test server.
//! Also the pieces the `swift` step shares (cdylib build, code generation, test server).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cargo, have, output, root, run, target_dir, Result, TestServer};

/// The Maven project.
fn project() -> PathBuf {
    root().join("bindings/uniffi/kotlin")
}

/// Builds `hopsafe-ffi` (debug) and the pinned bindgen; returns the cdylib's path.
pub fn build_cdylib() -> Result<PathBuf> {
    build_ffi(false)
}

/// Builds `hopsafe-ffi` (in release when `release`) and the pinned bindgen (always debug,
/// where `generate` runs it from); returns the cdylib's path.
pub fn build_ffi(release: bool) -> Result<PathBuf> {
    let profile = if release {
        run(cargo()
            .args(["build", "--quiet", "-p", "hopsafe-uniffi-bindgen"])
            .current_dir(root()))?;
        run(cargo()
            .args(["build", "--quiet", "--release", "-p", "hopsafe-ffi"])
            .current_dir(root()))?;
        "release"
    } else {
        run(cargo()
            .args([
                "build",
                "--quiet",
                "-p",
                "hopsafe-ffi",
                "-p",
                "hopsafe-uniffi-bindgen",
            ])
            .current_dir(root()))?;
        "debug"
    };
    let lib = target_dir()
        .join(profile)
        .join(if cfg!(target_os = "macos") {
            "libhopsafe_ffi.dylib"
        } else {
            "libhopsafe_ffi.so"
        });
    if lib.exists() {
        Ok(lib)
    } else {
        Err(format!(
            "cargo built hopsafe-ffi but {} is missing",
            lib.display()
        ))
    }
}

/// Generates `language` bindings for `lib` into `out` (emptied first).
pub fn generate(language: &str, lib: &Path, out: &Path) -> Result {
    let _ = std::fs::remove_dir_all(out);
    run(
        Command::new(target_dir().join("debug").join("uniffi-bindgen"))
            .args([
                "generate",
                "--no-format",
                "--language",
                language,
                "--out-dir",
            ])
            .arg(out)
            .arg(lib)
            .current_dir(root()),
    )
}

/// The first fenced code block in `language` of the top-level README.md (the quick start,
/// compiled by the test steps so it keeps compiling as written).
pub fn readme_block(language: &str) -> Result<String> {
    let path = root().join("README.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let start = format!("```{language}\n");
    let body = text
        .split_once(&start)
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(code, _)| format!("{code}\n"));
    body.ok_or_else(|| format!("{} has no ```{language} block", path.display()))
}

/// Writes a file with a clear error.
pub fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// JNA's resource folder and library file name for a Rust target triple: where JNA looks for
/// `hopsafe_ffi` on the classpath when no `jna.library.path` is set.
pub fn jna_resource(target: &str) -> Option<(&'static str, &'static str)> {
    Some(match target {
        "x86_64-unknown-linux-gnu" => ("linux-x86-64", "libhopsafe_ffi.so"),
        "aarch64-unknown-linux-gnu" => ("linux-aarch64", "libhopsafe_ffi.so"),
        "x86_64-apple-darwin" => ("darwin-x86-64", "libhopsafe_ffi.dylib"),
        "aarch64-apple-darwin" => ("darwin-aarch64", "libhopsafe_ffi.dylib"),
        "x86_64-pc-windows-gnu" => ("win32-x86-64", "hopsafe_ffi.dll"),
        _ => return None,
    })
}

/// The host's target triple (the platforms xtask runs on).
pub fn host_target() -> &'static str {
    if cfg!(all(target_os = "linux", target_arch = "aarch64")) {
        "aarch64-unknown-linux-gnu"
    } else if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
        "aarch64-apple-darwin"
    } else if cfg!(target_os = "macos") {
        "x86_64-apple-darwin"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}

/// A command running `sh -c script` in `dir` while holding `/tmp/hopsafe-m2.lock` (for Maven
/// runs that may write `~/.m2`; a clean-up in the script shares the lock).
pub fn m2_locked(script: &str, dir: &Path) -> Command {
    let mut c = Command::new("flock");
    c.args(["/tmp/hopsafe-m2.lock", "sh", "-c", script])
        .current_dir(dir);
    c
}

/// `mvn deploy` of the artefact (tests included unless `skip_tests`) into the file repository
/// `repo`, with the native libraries staged in `native` (JNA resource layout).
pub fn deploy(native: &Path, repo: &Path, skip_tests: bool, server_ready: Option<&str>) -> Result {
    let _ = std::fs::remove_dir_all(repo);
    // Maven copies resources but never deletes: drop libraries staged by an earlier run.
    let _ = std::fs::remove_dir_all(project().join("target/classes"));
    let mut script = format!(
        "mvn -q -B deploy -Dhopsafe.native.dir='{}' -DaltDeploymentRepository=hopsafe-dist::file://{}",
        native.display(),
        repo.display()
    );
    if skip_tests {
        script.push_str(" -Dmaven.test.skip=true");
    }
    let mut cmd = m2_locked(&script, &project());
    if let Some(ready) = server_ready {
        cmd.env("HOPSAFE_SERVER_READY", ready);
    }
    let result = run(&mut cmd);
    if !skip_tests {
        if let Some((tests, failed)) = surefire_counts(&project().join("target/surefire-reports")) {
            eprintln!("  kotlin: {} passed, {failed} failed", tests - failed);
        }
    }
    result
}

/// The deployed artefact's files in `repo`: jar, sources jar, javadoc jar, POM.
pub fn artefact(repo: &Path) -> [PathBuf; 4] {
    let dir = repo.join("dev/hopsafe/hopsafe-kotlin/0.1.0");
    [".jar", "-sources.jar", "-javadoc.jar", ".pom"]
        .map(|f| dir.join(format!("hopsafe-kotlin-0.1.0{f}")))
}

/// Checks the deployed artefact: the main jar holds the API and exactly the native libraries
/// of `targets` at JNA's resource paths, and no runner, test, example or Gson; the sources and
/// javadoc jars exist; the POM has licence, SCM and developers and no compile-scope Gson.
pub fn check_artefact(repo: &Path, targets: &[&str]) -> Result {
    let [jar, sources, javadoc, pom] = artefact(repo);
    let list = output(Command::new("jar").arg("tf").arg(&jar))?;
    let entries: Vec<&str> = list.lines().collect();
    let mut problems = Vec::new();
    for t in targets {
        let (dir, file) = jna_resource(t).ok_or(format!("no JNA resource path for {t}"))?;
        if !entries.contains(&format!("{dir}/{file}").as_str()) {
            problems.push(format!("no {dir}/{file}"));
        }
    }
    let natives = entries
        .iter()
        .filter(|e| [".so", ".dylib", ".dll"].iter().any(|x| e.ends_with(x)))
        .count();
    if natives != targets.len() {
        problems.push(format!(
            "{natives} native libraries for {} targets",
            targets.len()
        ));
    }
    let in_sources = output(Command::new("jar").arg("tf").arg(&sources))?;
    if let Some(lib) = in_sources.lines().find(|e| e.ends_with(".so")) {
        problems.push(format!("the sources jar holds {lib}"));
    }
    if !entries.contains(&"dev/hopsafe/HopsafeClient.class") {
        problems.push("no dev/hopsafe/HopsafeClient.class".into());
    }
    for bad in [
        "dev/hopsafe/conformance/",
        "dev/hopsafe/examples/",
        "com/google/gson/",
        "Test",
    ] {
        if let Some(e) = entries.iter().find(|e| e.contains(bad)) {
            problems.push(format!("unexpected {e}"));
        }
    }
    if !javadoc.exists() {
        problems.push(format!("no {}", javadoc.display()));
    }
    let pom_text = std::fs::read_to_string(&pom).unwrap_or_default();
    for tag in ["<licenses>", "<scm>", "<developers>", "MIT", "Apache-2.0"] {
        if !pom_text.contains(tag) {
            problems.push(format!("the POM has no {tag}"));
        }
    }
    let gson = pom_text.split("<artifactId>gson</artifactId>").nth(1);
    if gson.is_some_and(|rest| {
        !rest
            .split("</dependency>")
            .next()
            .unwrap_or("")
            .contains("<scope>test</scope>")
    }) {
        problems.push("Gson is not test-scoped in the POM".into());
    }
    if problems.is_empty() {
        let size = std::fs::metadata(&jar).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "  {}: {:.1} MiB, {} entries, natives for {}",
            jar.file_name().unwrap_or_default().to_string_lossy(),
            size as f64 / 1048576.0,
            entries.len(),
            targets.join(", ")
        );
        Ok(())
    } else {
        Err(format!("{}: {}", jar.display(), problems.join("; ")))
    }
}

/// Percent-encodes a URL for a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Builds `examples/kotlin-consumer` (a fresh copy) against the artefact in `repo` and runs its
/// quick start with plain `java -cp` (no `jna.library.path`): a POST through a 307 from origin
/// `a` to `b` must arrive as a POST with its body and without the credential.
pub fn consumer_quick_start(repo: &Path, server_ready: &str) -> Result {
    let (dir, cp) = build_consumer(repo)?;
    let out = output(
        Command::new("java")
            .arg("-cp")
            .arg(format!(
                "{}:{}",
                dir.join("target/classes").display(),
                cp.trim()
            ))
            .args(["example.QuickStartKt", &quick_start_url(server_ready)?])
            .env_remove("LD_LIBRARY_PATH")
            .current_dir(&dir),
    )?;
    check_quick_start("kotlin", &out)
}

/// Builds a fresh copy of `examples/kotlin-consumer` against the artefact in `repo`; returns
/// the project directory (classes in `target/classes`) and its dependencies' classpath.
pub fn build_consumer(repo: &Path) -> Result<(PathBuf, String)> {
    let dir = target_dir().join("kotlin-consumer");
    let _ = std::fs::remove_dir_all(&dir);
    let src = root().join("examples/kotlin-consumer");
    let main = dir.join("src/main/kotlin");
    std::fs::create_dir_all(&main).map_err(|e| format!("cannot create {}: {e}", main.display()))?;
    for (from, to) in [
        (src.join("pom.xml"), dir.join("pom.xml")),
        (
            src.join("src/main/kotlin/QuickStart.kt"),
            main.join("QuickStart.kt"),
        ),
    ] {
        std::fs::copy(&from, &to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    // Maven caches a release version forever: drop any earlier copy so the fresh one is used.
    let script = format!(
        "rm -rf \"$HOME/.m2/repository/dev/hopsafe/hopsafe-kotlin\" && \
         mvn -q -B package dependency:build-classpath -Dmdep.outputFile=cp.txt -Dhopsafe.repo=file://{}",
        repo.display()
    );
    run(&mut m2_locked(&script, &dir))?;
    let cp =
        std::fs::read_to_string(dir.join("cp.txt")).map_err(|e| format!("no classpath: {e}"))?;
    Ok((dir, cp))
}

/// The URL the consumer quick starts post to: a 307 from the test server's origin `a` to `b`.
pub fn quick_start_url(server_ready: &str) -> Result<String> {
    let ready: serde_json::Value =
        serde_json::from_str(server_ready).map_err(|e| format!("bad ready line: {e}"))?;
    let origin = |l: &str| ready["origins"][l].as_str().unwrap_or_default().to_owned();
    Ok(format!(
        "{}/redirect/307?to={}",
        origin("a"),
        encode(&format!("{}/echo", origin("b")))
    ))
}

/// Checks a consumer quick start's output (`hop ...` lines, `final STATUS key=...`, then the
/// /echo JSON): the POST crossed the 307 with its body, and the credential stayed home.
pub fn check_quick_start(language: &str, out: &str) -> Result {
    let lines: Vec<&str> = out.lines().collect();
    let echo: serde_json::Value = lines
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let ok = lines
        .first()
        .is_some_and(|l| l.starts_with("hop 307 ") && l.contains("authorization"))
        && lines.iter().any(|l| l.starts_with("final 200 key="))
        && echo["method"] == "POST"
        && echo["body"] == r#"{"sku":"A-1"}"#
        && echo["headers"].get("authorization").is_none();
    if ok {
        eprintln!("  {language} consumer: the quick start ran from the installed package");
        Ok(())
    } else {
        Err(format!(
            "unexpected {language} quick start output from the consumer:\n{out}"
        ))
    }
}

/// `cargo xtask test --only kotlin`: the JUnit suite (native library loaded from the classpath),
/// then the artefact deployed into a throwaway repository and used by a fresh consumer project
/// and by the adapter modules (their own suites).
pub fn test() -> Result {
    if !have("mvn") || !have("java") {
        return Err("the kotlin step needs `mvn` and a JDK 17+ on PATH".into());
    }
    let lib = build_cdylib()?;
    let generated = project().join("target/generated-sources/uniffi");
    generate("kotlin", &lib, &generated)?;
    let readme = project().join("target/generated-sources/readme");
    std::fs::create_dir_all(&readme)
        .map_err(|e| format!("cannot create {}: {e}", readme.display()))?;
    write(
        &readme.join("ReadmeQuickStart.kt"),
        &readme_block("kotlin")?,
    )?;
    // The debug library without its debug info (what a jar can carry: ~1/6 of the size).
    let host = host_target();
    let native = project().join("target/native");
    let _ = std::fs::remove_dir_all(&native);
    let (dir, file) = jna_resource(host).ok_or("no JNA resource path for this host")?;
    std::fs::create_dir_all(native.join(dir)).map_err(|e| format!("cannot create {dir}: {e}"))?;
    run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(native.join(dir).join(file))
        .arg(&lib))?;
    let server = TestServer::start()?;
    let repo = target_dir().join("kotlin-repo");
    deploy(&native, &repo, false, Some(&server.ready))?;
    check_artefact(&repo, &[host])?;
    consumer_quick_start(&repo, &server.ready)?;
    adapters(&repo, &server.ready)
}

/// The adapter artefacts: Maven project directory (under `bindings/uniffi`), artifactId, the
/// README block compiled with its tests (fence info), a class its jar must hold, and the
/// peer library its POM must depend on.
pub const ADAPTERS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "kotlin-okhttp",
        "hopsafe-okhttp",
        "kotlin okhttp",
        "dev/hopsafe/okhttp/HopsafeCallFactory.class",
        "okhttp-jvm",
    ),
    (
        "kotlin-ktor",
        "hopsafe-ktor",
        "kotlin ktor",
        "dev/hopsafe/ktor/HopsafeEngine.class",
        "ktor-client-core-jvm",
    ),
];

/// An adapter's Maven project (`kotlin-okhttp`, `kotlin-ktor`).
pub fn adapter_project(dir: &str) -> PathBuf {
    root().join("bindings/uniffi").join(dir)
}

/// A `sh -c` script that runs `mvn ARGS` in an adapter project against the hopsafe-kotlin
/// artefact deployed into `repo` (dropped from `~/.m2` first: Maven caches a release version
/// forever, and other checkouts install the same version). Run it under [`m2_locked`].
pub fn adapter_mvn(repo: &Path, args: &str) -> String {
    format!(
        "rm -rf \"$HOME/.m2/repository/dev/hopsafe/hopsafe-kotlin\" && \
         mvn -q -B {args} -Dhopsafe.repo=file://{}",
        repo.display()
    )
}

/// Deploys the adapter artefacts (built against the hopsafe-kotlin already in `repo`; tests
/// skipped; one Maven run over `kotlin-adapters`) into `repo` and checks each: its classes,
/// no runner, test or native library, sources and javadoc jars, a POM that depends on
/// hopsafe-kotlin and the peer library.
pub fn deploy_adapters(repo: &Path) -> Result {
    let args = format!(
        "deploy -Dmaven.test.skip=true -DaltDeploymentRepository=hopsafe-dist::file://{}",
        repo.display()
    );
    run(&mut m2_locked(
        &adapter_mvn(repo, &args),
        &adapter_project("kotlin-adapters"),
    ))?;
    for (_, artifact, _, class, peer) in ADAPTERS {
        let dir = repo.join("dev/hopsafe").join(artifact).join("0.1.0");
        let jar = dir.join(format!("{artifact}-0.1.0.jar"));
        let list = output(Command::new("jar").arg("tf").arg(&jar))?;
        let pom =
            std::fs::read_to_string(dir.join(format!("{artifact}-0.1.0.pom"))).unwrap_or_default();
        let mut problems = Vec::new();
        if !list.lines().any(|e| e == *class) {
            problems.push(format!("no {class}"));
        }
        for bad in ["conformance/", "Test", ".so"] {
            if let Some(e) = list.lines().find(|e| e.contains(bad)) {
                problems.push(format!("unexpected {e}"));
            }
        }
        for dep in ["hopsafe-kotlin", peer] {
            if !pom.contains(&format!("<artifactId>{dep}</artifactId>")) {
                problems.push(format!("the POM does not depend on {dep}"));
            }
        }
        for f in ["-sources.jar", "-javadoc.jar"] {
            if !dir.join(format!("{artifact}-0.1.0{f}")).exists() {
                problems.push(format!("no {artifact}-0.1.0{f}"));
            }
        }
        if !problems.is_empty() {
            return Err(format!("{}: {}", jar.display(), problems.join("; ")));
        }
        let size = std::fs::metadata(&jar).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "  {artifact}-0.1.0.jar: {:.0} KiB, {} entries",
            size as f64 / 1024.0,
            list.lines().count()
        );
    }
    Ok(())
}

/// The adapter modules (one Maven run over `kotlin-adapters`): ktlint, compiled against the
/// artefact in `repo` with their README quick starts, JUnit suites against the test server,
/// jars packaged.
fn adapters(repo: &Path, server_ready: &str) -> Result {
    for (dir, _, block, _, _) in ADAPTERS {
        let readme = adapter_project(dir).join("target/generated-sources/readme");
        std::fs::create_dir_all(&readme)
            .map_err(|e| format!("cannot create {}: {e}", readme.display()))?;
        write(&readme.join("ReadmeQuickStart.kt"), &readme_block(block)?)?;
    }
    let mut cmd = m2_locked(
        &adapter_mvn(repo, "verify"),
        &adapter_project("kotlin-adapters"),
    );
    cmd.env("HOPSAFE_SERVER_READY", server_ready);
    let result = run(&mut cmd);
    for (dir, ..) in ADAPTERS {
        let reports = adapter_project(dir).join("target/surefire-reports");
        if let Some((tests, failed)) = surefire_counts(&reports) {
            eprintln!("  {dir}: {} passed, {failed} failed", tests - failed);
        }
    }
    result
}

/// Sums `tests` and `failures + errors` over Surefire's XML reports.
fn surefire_counts(dir: &Path) -> Option<(u64, u64)> {
    let attr = |xml: &str, name: &str| -> u64 {
        xml.split_once(&format!(" {name}=\""))
            .and_then(|(_, rest)| rest.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (mut tests, mut failed) = (0, 0);
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("TEST-") && name.ends_with(".xml") {
            let xml = std::fs::read_to_string(entry.path()).ok()?;
            let head = xml.split_once("<testsuite").map(|(_, h)| h).unwrap_or("");
            let head = head.split_once('>').map(|(h, _)| h).unwrap_or("");
            tests += attr(head, "tests");
            failed += attr(head, "failures") + attr(head, "errors");
        }
    }
    Some((tests, failed))
}
