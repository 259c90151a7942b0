//! The scenario × runtime matrix: printed, and written as JSON and Markdown.

use std::collections::BTreeMap;
use std::path::Path;

use crate::check::Verdict;

/// Whether a column is another client shown for comparison, not a hopsafe runtime.
pub fn is_peer(runtime: &str) -> bool {
    runtime.starts_with("peer:")
}

/// Verdicts by scenario id, then runtime.
#[derive(Debug, Default, serde::Serialize)]
pub struct Matrix {
    pub runtimes: Vec<String>,
    pub scenarios: Vec<String>,
    pub cells: BTreeMap<String, BTreeMap<String, Verdict>>,
}

impl Matrix {
    /// Records a verdict.
    pub fn set(&mut self, scenario: &str, runtime: &str, v: Verdict) {
        if !self.runtimes.iter().any(|r| r == runtime) {
            self.runtimes.push(runtime.to_owned());
        }
        if !self.scenarios.iter().any(|s| s == scenario) {
            self.scenarios.push(scenario.to_owned());
        }
        self.cells
            .entry(scenario.to_owned())
            .or_default()
            .insert(runtime.to_owned(), v);
    }

    /// Failures of hopsafe runtimes, as `scenario [runtime]: reason` lines. Peers
    /// (`peer:NAME`, other clients shown for comparison) never count as failures.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.scenarios {
            for (rt, v) in self.cells[s].iter().filter(|(rt, _)| !is_peer(rt)) {
                if let Verdict::Fail(why) = v {
                    out.push(format!("{s} [{rt}]: {}", why.join("; ")));
                }
            }
        }
        out
    }

    /// Counts of (passed, failed, skipped) cells of hopsafe runtimes.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for row in self.cells.values() {
            for (_, v) in row.iter().filter(|(rt, _)| !is_peer(rt)) {
                match v {
                    Verdict::Pass => c.0 += 1,
                    Verdict::Fail(_) => c.1 += 1,
                    Verdict::Skipped(_) => c.2 += 1,
                }
            }
        }
        c
    }

    /// The Markdown table.
    pub fn markdown(&self) -> String {
        let mut md = format!("| scenario | {} |\n|---|", self.runtimes.join(" | "));
        md.push_str(&"---|".repeat(self.runtimes.len()));
        md.push('\n');
        for s in &self.scenarios {
            md.push_str(&format!("| {s} |"));
            for rt in &self.runtimes {
                let cell = match self.cells[s].get(rt) {
                    Some(Verdict::Pass) => "pass",
                    Some(Verdict::Fail(_)) => "**FAIL**",
                    Some(Verdict::Skipped(_)) => "skip",
                    None => "—",
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push('\n');
        }
        md
    }

    /// Writes `matrix.json` and `matrix.md` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("matrix.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("matrix.md"), self.markdown())
    }

    /// A compact terminal rendering.
    pub fn render(&self) -> String {
        let w = self
            .scenarios
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        // A column is as wide as its name plus a space (at least 7): `node-fetch`,
        // `peer:python-httpx` stay apart.
        let col = |r: &str| (r.len() + 1).max(7);
        let mut out = format!(
            "{:w$}  {}\n",
            "scenario",
            self.runtimes
                .iter()
                .map(|r| format!("{r:>c$}", c = col(r)))
                .collect::<String>()
        );
        for s in &self.scenarios {
            out.push_str(&format!("{s:w$}  "));
            for rt in &self.runtimes {
                let cell = match self.cells[s].get(rt) {
                    Some(Verdict::Pass) => "ok",
                    Some(Verdict::Fail(_)) => "FAIL",
                    Some(Verdict::Skipped(_)) => "skip",
                    None => "-",
                };
                out.push_str(&format!("{cell:>c$}", c = col(rt)));
            }
            out.push('\n');
        }
        out
    }
}
