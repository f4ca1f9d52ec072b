//! The source's top-level modules depend on each other in one direction:
//! domain folders on `access/`, `billing/`, `activity/`, `events/` and the
//! context helpers, and only the schema root (`graphql/`) and the transports
//! above it import them all. A `crate::…` path that closes a loop fails here,
//! naming the loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`members` for
/// `src/members/service/pages.rs`); none for the crate roots.
fn module_of(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.trim_end_matches(".rs").to_owned();
    (name != "lib" && name != "main").then_some(name)
}

/// The top-level modules a source text names: `crate::x::…` and the items
/// of `use crate::{x, y::…}`.
fn named(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find("};").unwrap_or(group.len());
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        found.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&root, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&root, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let targets = edges.entry(from.clone()).or_default();
        for to in named(&text) {
            if to != from && modules.contains(&to) {
                targets.insert(to);
            }
        }
    }
    edges
}

/// A path from `from` back to `to`, if there is one.
fn path_to(
    edges: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if from == to {
        return Some(vec![to.to_owned()]);
    }
    if !seen.insert(from.to_owned()) {
        return None;
    }
    for next in edges.get(from).into_iter().flatten() {
        if let Some(mut rest) = path_to(edges, next, to, seen) {
            rest.insert(0, from.to_owned());
            return Some(rest);
        }
    }
    None
}

#[test]
fn the_reader_finds_the_modules_a_source_names() {
    let text = "use crate::access::{Role, requires};\nuse crate::{accounts, members::service};\nlet x = crate::text::id_arg;";
    let names: Vec<String> = named(text).into_iter().collect();
    assert_eq!(names, ["access", "accounts", "members", "text"]);
}

#[test]
fn no_module_imports_back_up_the_layers() {
    let edges = graph();
    assert!(edges.len() > 20, "the source was read: {edges:?}");
    let mut loops = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if let Some(back) = path_to(&edges, to, from, &mut BTreeSet::new()) {
                loops.push(format!("{from} -> {}", back.join(" -> ")));
            }
        }
    }
    assert!(loops.is_empty(), "import loops:\n{}", loops.join("\n"));
}

#[test]
fn only_the_schema_root_and_what_serves_it_import_the_schema() {
    let edges = graph();
    let importers: Vec<&String> = edges
        .iter()
        .filter(|(_, targets)| targets.contains("graphql"))
        .map(|(from, _)| from)
        .collect();
    assert_eq!(
        importers,
        ["http"],
        "the schema root is imported by the transport alone"
    );
}
