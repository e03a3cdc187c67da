//! The modules of each crate and the modules they use (`crate::…` paths in the code, test
//! modules left out), and the cycles among them: a cycle is a strongly connected set of two or
//! more top-level modules. No new cycle may appear and none may grow; the cycles still in the
//! code are listed in `KNOWN_CYCLES` until they are taken apart (issue 20), and the test fails
//! when one of them is gone, so that the list is kept true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose modules are checked, by their source folder from the workspace's root.
const CRATES: [&str; 6] = [
    "domain/src",
    "persistence/src",
    "integrations/src",
    "notifications/src",
    "api/src",
    "bench/src",
];

/// Cycles that are in the code today, to be taken apart; sorted module names.
const KNOWN_CYCLES: &[(&str, &[&str])] = &[
    (
        "api/src",
        &[
            "auth",
            "idempotency",
            "limits",
            "read_context",
            "routes",
            "state",
        ],
    ),
    (
        "domain/src",
        &[
            "account_change",
            "application",
            "codes",
            "documents",
            "meter_damage",
            "notifications",
            "ports",
            "routing",
            "service_level",
            "status",
            "workflow",
        ],
    ),
    (
        "persistence/src",
        &[
            "applications",
            "connection",
            "idempotency",
            "outbox",
            "reads",
        ],
    ),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate's root).
fn module_of(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

fn identifier_at(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| &text[..end])
}

/// The top-level modules `code` names through `crate::`: `crate::a::…` and each top-level
/// name of `crate::{a, b::c, …}`.
fn modules_used(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        // `$crate::` in a macro names the crate as well; `foo_crate::` does not.
        let before = rest[..at].chars().next_back();
        rest = after;
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start => {
                        start = false;
                        if let Some(name) = identifier_at(&group[i..]) {
                            used.insert(name.to_owned());
                        }
                    }
                    _ => {}
                }
            }
        } else if let Some(name) = identifier_at(after) {
            used.insert(name.to_owned());
        }
    }
    used
}

/// The code of a file without its test module (by this project's habit, the last item).
fn without_tests(code: &str) -> &str {
    code.find("#[cfg(test)]").map_or(code, |at| &code[..at])
}

fn module_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(root, file) else {
            continue;
        };
        let code = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        let used = modules_used(without_tests(&code));
        graph
            .entry(module.clone())
            .or_default()
            .extend(used.into_iter().filter(|m| *m != module));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for uses in graph.values_mut() {
        uses.retain(|m| modules.contains(m));
    }
    graph
}

/// The strongly connected sets of two or more modules (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: BTreeSet<Vec<String>>,
    }
    fn visit<'a>(walk: &mut Walk<'a>, module: &'a str) {
        let next = walk.index.len();
        walk.index.insert(module, next);
        walk.low.insert(module, next);
        walk.stack.push(module);
        let graph = walk.graph;
        for used in graph.get(module).into_iter().flatten() {
            let used = used.as_str();
            if !walk.index.contains_key(used) {
                visit(walk, used);
                let low = walk.low[used].min(walk.low[module]);
                walk.low.insert(module, low);
            } else if walk.stack.contains(&used) {
                let low = walk.index[used].min(walk.low[module]);
                walk.low.insert(module, low);
            }
        }
        if walk.low[module] == walk.index[module] {
            let mut component = Vec::new();
            while let Some(top) = walk.stack.pop() {
                component.push(top.to_owned());
                if top == module {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                walk.found.insert(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: BTreeSet::new(),
    };
    for module in graph.keys() {
        if !walk.index.contains_key(module.as_str()) {
            visit(&mut walk, module);
        }
    }
    walk.found
}

#[test]
fn the_parser_finds_the_modules_a_file_uses() {
    let code = "use crate::a::X;\nuse crate::{b, c::{D, e}, f::G};\nfn x() { crate::h::y(); \
                $crate::i::z!(); other_crate::j(); }\n#[cfg(test)]\nmod tests { use crate::k; }";
    let used: Vec<String> = modules_used(without_tests(code)).into_iter().collect();
    assert_eq!(used, ["a", "b", "c", "f", "h", "i"]);
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", &["b"][..]),
        ("b", &["c"][..]),
        ("c", &["a"][..]),
        ("d", &["a"][..]),
    ]
    .into_iter()
    .map(|(m, uses)| (m.to_owned(), uses.iter().map(|u| (*u).to_owned()).collect()))
    .collect();
    assert_eq!(
        cycles(&graph).into_iter().collect::<Vec<_>>(),
        [vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}

#[test]
fn no_module_cycle_appears_or_grows() {
    let root = workspace_root();
    let mut report = Vec::new();
    for crate_dir in CRATES {
        let found = cycles(&module_graph(&root.join(crate_dir)));
        let known: BTreeSet<Vec<String>> = KNOWN_CYCLES
            .iter()
            .filter(|(dir, _)| *dir == crate_dir)
            .map(|(_, modules)| modules.iter().map(|m| (*m).to_owned()).collect())
            .collect();
        for cycle in found.difference(&known) {
            report.push(format!(
                "{crate_dir}: modules {} use each other (a new or changed cycle)",
                cycle.join(", ")
            ));
        }
        for cycle in known.difference(&found) {
            report.push(format!(
                "{crate_dir}: the known cycle {} is gone or smaller: update KNOWN_CYCLES",
                cycle.join(", ")
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}
