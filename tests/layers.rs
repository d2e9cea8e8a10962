//! The guard of the crate's layers (issue 24): modules import only downward.
//!
//! Reads every file of `src/`, finds every `crate::` and `super::` path (in `use` lines and
//! groups, in code, and inside attributes and macros such as
//! `#[server(client = crate::api::PageClient)]`), maps each file to its top-level module and
//! fails, naming file and line, when a module imports a module of a higher layer or when
//! top-level modules import each other (in a circle of any length). The layer order is read
//! from the numbered list under `## Layers` in `src/lib.rs`, the one place it is written.
//! Also fails for a file of `src/` over [`MAX_LINES`] lines.
//!
//! Plain `std`, no dependencies: it reads text, it does not need the app.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// A file longer than this mixes concerns: split it.
const MAX_LINES: usize = 600;

/// Where an arrow between two top-level modules is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    file: String,
    line: usize,
}

/// The top-level modules each file refers to, with the line of each reference.
type Arrows = BTreeMap<(String, String), Vec<Site>>;

#[test]
fn modules_import_only_downward() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let layers = layer_table(&lib).unwrap_or_else(|e| panic!("src/lib.rs: {e}"));
    let files = source_files(&root.join("src"));
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read_to_string(p).unwrap())
        })
        .collect();
    let known =
        known_debt(&fs::read_to_string(root.join("tests/layers-debt.txt")).unwrap_or_default());
    let mut problems = check_with(&layers, &sources, &known.iter().cloned().collect());
    // The debt list only shrinks: an arrow that no longer exists leaves it.
    let all = arrows(
        &sources,
        &sources.iter().filter_map(|(f, _)| top_of(f)).collect(),
        &exported_macros(&sources),
    );
    for (from, to) in &known {
        if !all.contains_key(&(from.clone(), to.clone())) {
            problems.push(format!(
                "tests/layers-debt.txt: `{from} -> {to}` is gone from src/: remove it from the list"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} layering problem(s) (the layer order is the list under `## Layers` in src/lib.rs):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn no_source_file_over_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let long: Vec<String> = source_files(&root.join("src"))
        .into_iter()
        .filter_map(|p| {
            let n = fs::read_to_string(&p).unwrap().lines().count();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            (n > MAX_LINES).then(|| format!("{rel}: {n} lines (at most {MAX_LINES})"))
        })
        .collect();
    assert!(long.is_empty(), "files to split:\n{}", long.join("\n"));
}

/// The arrows written down as debt in `tests/layers-debt.txt` (`from -> to`, one a line;
/// `#` starts a comment): known upward imports still to be removed. The test tolerates
/// them, and only them, and fails once one is gone so that the list can only shrink.
fn known_debt(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let (a, b) = l.split_once("->")?;
            Some((a.trim().to_string(), b.trim().to_string()))
        })
        .collect()
}

/// Every check over the parsed sources: unknown modules, upward arrows, circles.
#[cfg(test)]
fn check(layers: &BTreeMap<String, usize>, sources: &[(String, String)]) -> Vec<String> {
    check_with(layers, sources, &BTreeSet::new())
}

/// [`check`], tolerating the arrows in `debt` (they are left out of the graph).
fn check_with(
    layers: &BTreeMap<String, usize>,
    sources: &[(String, String)],
    debt: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let tops: BTreeSet<String> = sources.iter().filter_map(|(f, _)| top_of(f)).collect();
    for m in &tops {
        if !layers.contains_key(m) {
            problems.push(format!(
                "src/{m}: module not in the layer list of src/lib.rs"
            ));
        }
    }
    for m in layers.keys() {
        if !tops.contains(m) {
            problems.push(format!(
                "src/lib.rs: layer list names `{m}`, which is not a module of src/"
            ));
        }
    }
    let macros = exported_macros(sources);
    let mut arrows = arrows(sources, &tops, &macros);
    arrows.retain(|pair, _| !debt.contains(pair));
    for ((from, to), sites) in &arrows {
        let (Some(&lf), Some(&lt)) = (layers.get(from), layers.get(to)) else {
            continue;
        };
        if lt > lf {
            for s in sites {
                problems.push(format!(
                    "{}:{}: `{from}` (layer {lf}) imports `{to}` (layer {lt}, higher)",
                    s.file, s.line
                ));
            }
        }
    }
    for circle in circles(&arrows) {
        let mut text = format!("modules import each other: {}", circle.join(" <-> "));
        for ((from, to), sites) in &arrows {
            if circle.contains(from) && circle.contains(to) {
                let s = &sites[0];
                let _ = write!(text, "\n    {}:{}: `{from}` imports `{to}`", s.file, s.line);
            }
        }
        problems.push(text);
    }
    problems
}

/// The layer of each top-level module, from the numbered list under `## Layers` in lib.rs:
/// `//! 1. [`a`], [`b`]: what they hold`. The modules are the backticked names before the
/// first colon; the number is the layer (lowest first).
fn layer_table(lib: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut table = BTreeMap::new();
    let mut inside = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.trim();
        if doc.starts_with('#') {
            inside = doc.trim_start_matches('#').trim().starts_with("Layers");
            continue;
        }
        if !inside {
            continue;
        }
        let Some((number, rest)) = doc.split_once(". ") else {
            continue;
        };
        let Ok(layer) = number.parse::<usize>() else {
            continue;
        };
        let names = rest.split_once(':').map_or(rest, |(names, _)| names);
        for name in names.split('`').skip(1).step_by(2) {
            if let Some(before) = table.insert(name.to_string(), layer) {
                return Err(format!(
                    "`{name}` listed twice (layers {before} and {layer})"
                ));
            }
        }
    }
    if table.is_empty() {
        return Err("no `## Layers` list of modules found".into());
    }
    Ok(table)
}

fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `src/a/b.rs` and `src/a.rs` belong to `a`; `src/lib.rs` and `src/main.rs` to none (the
/// crate root sits above every layer).
fn top_of(file: &str) -> Option<String> {
    let rel = file.strip_prefix("src/")?;
    let first = rel.split('/').next()?;
    if rel.contains('/') {
        return Some(first.to_string());
    }
    let name = first.strip_suffix(".rs")?;
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// The module path of a file: `src/a/b.rs` is `a::b`, `src/a/mod.rs` and `src/a.rs` are `a`.
fn module_path(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// `#[macro_export]` macros live at the crate root (`crate::tr!`): count a use of one as an
/// arrow to the module that defines it.
fn exported_macros(sources: &[(String, String)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (file, text) in sources {
        let Some(top) = top_of(file) else { continue };
        let code = blank_comments_and_strings(text);
        let mut rest = code.as_str();
        while let Some(i) = rest.find("#[macro_export]") {
            rest = &rest[i + "#[macro_export]".len()..];
            if let Some(j) = rest.find("macro_rules!") {
                let name: String = rest[j + "macro_rules!".len()..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name, top.clone());
            }
        }
    }
    out
}

/// Every arrow between two different top-level modules, with where it is written.
fn arrows(
    sources: &[(String, String)],
    tops: &BTreeSet<String>,
    macros: &BTreeMap<String, String>,
) -> Arrows {
    let mut out: Arrows = BTreeMap::new();
    for (file, text) in sources {
        let Some(from) = top_of(file) else { continue };
        for (path, line) in crate_paths(file, text) {
            let Some(first) = path.first() else { continue };
            let to = if tops.contains(first) {
                first.clone()
            } else if let Some(m) = macros.get(first) {
                m.clone()
            } else {
                continue;
            };
            if to != from {
                out.entry((from.clone(), to)).or_default().push(Site {
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    out
}

/// Every path written with `crate::`, `$crate::` or `super::` in a file, made absolute (from
/// the crate root), with its line. A group (`crate::{a, b::c}`) gives one path per item.
fn crate_paths(file: &str, text: &str) -> Vec<(Vec<String>, usize)> {
    let code = blank_comments_and_strings(text);
    let chars: Vec<char> = code.chars().collect();
    let line_at = {
        let mut lines = Vec::with_capacity(chars.len());
        let mut n = 1;
        for c in &chars {
            lines.push(n);
            if *c == '\n' {
                n += 1;
            }
        }
        lines
    };
    let base = module_path(file);
    // Inline modules (`mod tests { ... }`) open a deeper module for `super::`.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            depth = depth.saturating_sub(1);
            while inline.last().is_some_and(|(_, d)| *d > depth) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if !boundary || !(c.is_alphabetic() || c == '_') {
            i += 1;
            continue;
        }
        let word = ident_at(&chars, i);
        if word == "mod" {
            let mut j = skip_ws(&chars, i + 3);
            let name = ident_at(&chars, j);
            j = skip_ws(&chars, j + name.len());
            if !name.is_empty() && chars.get(j) == Some(&'{') {
                inline.push((name, depth + 1));
            }
            i += 3;
            continue;
        }
        if word != "crate" && word != "super" {
            i += word.len();
            continue;
        }
        let mut here: Vec<String> = base.clone();
        here.extend(inline.iter().map(|(n, _)| n.clone()));
        let mut prefix: Vec<String> = if word == "crate" { Vec::new() } else { here };
        if word == "super" {
            prefix.pop();
        }
        let mut j = i + word.len();
        // `super::super::` climbs once per `super`.
        while sep_at(&chars, j) {
            let k = skip_ws(&chars, j + 2);
            if word == "super" && ident_at(&chars, k) == "super" {
                prefix.pop();
                j = k + 5;
                continue;
            }
            j = k;
            break;
        }
        if j == i + word.len() {
            // `crate` or `super` without `::` (e.g. `pub(crate)`).
            i = j;
            continue;
        }
        let end = use_tree(&chars, j, &prefix, &line_at, &mut out);
        i = end.max(i + word.len());
    }
    out
}

/// Reads a use tree (`a::b`, `a::{b, c::d}`, `{a, b}`) at `i` below `prefix`; pushes each
/// path with its line and returns where the tree ends.
fn use_tree(
    chars: &[char],
    mut i: usize,
    prefix: &[String],
    line_at: &[usize],
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    let mut path = prefix.to_vec();
    loop {
        i = skip_ws(chars, i);
        if chars.get(i) == Some(&'{') {
            i += 1;
            loop {
                i = skip_ws(chars, i);
                match chars.get(i) {
                    None => return i,
                    Some('}') => return i + 1,
                    Some(',') => i += 1,
                    _ => {
                        let before = i;
                        i = use_tree(chars, i, &path, line_at, out);
                        if i == before {
                            i += 1;
                        }
                    }
                }
            }
        }
        let name = ident_at(chars, i);
        if name.is_empty() {
            // `*` or the end of the path.
            if path.len() > prefix.len() || !prefix.is_empty() {
                out.push((path, line_at.get(i).copied().unwrap_or(0)));
            }
            return i;
        }
        let line = line_at[i];
        i += name.len();
        if name != "self" {
            path.push(name);
        }
        let j = skip_ws(chars, i);
        if sep_at(chars, j) {
            i = j + 2;
            continue;
        }
        out.push((path, line));
        // `a::b as c`: the alias is no path.
        if ident_at(chars, j) == "as" {
            let k = skip_ws(chars, j + 2);
            return k + ident_at(chars, k).len();
        }
        return i;
    }
}

fn ident_at(chars: &[char], i: usize) -> String {
    chars[i.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .collect()
}

fn skip_ws(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn sep_at(chars: &[char], i: usize) -> bool {
    chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':')
}

/// The source with comments, string and char literals blanked out (newlines kept, so lines
/// still count), so that neither prose nor text can look like a path or a brace.
fn blank_comments_and_strings(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        // Line comment (also `///` and `//!`).
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        // Block comment, nested.
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut level = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    level += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    level -= 1;
                    out.push_str("  ");
                    i += 2;
                    if level == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            continue;
        }
        let word_start = i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        // Raw strings: r"..", r#".."#, br#".."#.
        if word_start && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) {
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let body: String = c[j + 1..].iter().collect();
                let len = body
                    .find(&close)
                    .map_or(c.len() - j - 1, |k| body[..k].chars().count());
                let end = (j + 1 + len + 1 + hashes).min(c.len());
                for &ch in &c[i..end] {
                    out.push(blank(ch));
                }
                i = end;
                continue;
            }
        }
        if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' && i + 1 < c.len() {
                    out.push(' ');
                    i += 1;
                }
                out.push(blank(c[i]));
                i += 1;
            }
            out.push(' ');
            i += 1;
            continue;
        }
        // Char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
        if c[i] == '\'' {
            let end = if c.get(i + 1) == Some(&'\\') {
                (i + 3..c.len().min(i + 12)).find(|&k| c[k] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = end {
                for _ in i..=end {
                    out.push(' ');
                }
                i = end + 1;
                continue;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// The circles (strongly connected groups of two or more modules) of the arrows, Tarjan.
fn circles(arrows: &Arrows) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in arrows.keys() {
        next.entry(from).or_default().push(to);
        next.entry(to).or_default();
    }
    struct T<'a> {
        next: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for &w in &t.next[v] {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut group = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                t.out.push(group);
            }
        }
    }
    let mut t = T {
        next: &next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in next.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

// The reader itself, on small made-up sources: a guard that misses paths passes anything.

fn layers_of(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
    list.iter().map(|(m, l)| (m.to_string(), *l)).collect()
}

fn owned(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect()
}

#[test]
fn reads_the_layer_list_of_lib_rs() {
    let lib = "//! Intro, with a list:\n//! 1. `not` a layer\n//!\n//! ## Layers (lowest first)\n//!\n\
               //! 1. [`error`], [`db`]: leaves; `this` is prose\n//!    more prose\n\
               //! 2. `users`: people\n//!\n//! ## Next\n//! 3. `later`: not a layer\n";
    assert_eq!(
        layer_table(lib).unwrap(),
        layers_of(&[("error", 1), ("db", 1), ("users", 2)])
    );
    assert!(layer_table("//! 1. `a`: no heading\n").is_err());
    assert!(layer_table("//! ## Layers\n//! 1. `a`: x\n//! 2. `a`: y\n").is_err());
}

#[test]
fn finds_paths_in_groups_attributes_macros_and_super() {
    let text = "use crate::{\n    a::X,\n    b::{c, d::Y},\n};\n\
                #[server(prefix = \"/crate::z\", client = crate::e::PageClient)]\n\
                fn f() { let _ = crate::f::g(); tr!(x); $crate::h::i!(); }\n\
                // crate::comment::ignored\n\
                mod tests { use super::*; use super::super::k::L; }\n\
                pub(crate) fn p() { super::sib::q(); }\n";
    let mut found: Vec<(String, usize)> = crate_paths("src/m/n.rs", text)
        .into_iter()
        .map(|(p, l)| (p.join("::"), l))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("a::X".into(), 2),
            ("b::c".into(), 3),
            ("b::d::Y".into(), 3),
            ("e::PageClient".into(), 5),
            ("f::g".into(), 6),
            ("h::i".into(), 6),
            ("m::k::L".into(), 8),
            ("m::n".into(), 8),
            ("m::sib::q".into(), 9),
        ]
    );
    // In a `mod.rs`, `super::` is the crate root.
    let found = crate_paths("src/m/mod.rs", "use super::{x::Y, self as z};");
    assert_eq!(found[0].0, vec!["x".to_string(), "Y".to_string()]);
}

#[test]
fn fails_upward_and_mutual_imports_naming_file_and_line() {
    let layers = layers_of(&[("low", 1), ("mid", 2), ("top", 3), ("peer", 2)]);
    let files = owned(&[
        ("src/low.rs", "fn a() {}\nfn b() { crate::mid::x(); }\n"),
        ("src/mid/mod.rs", "use super::{low, peer::P};\n"),
        ("src/peer.rs", "use crate::mid::M;\n"),
        (
            "src/top.rs",
            "#[macro_export]\nmacro_rules! tr { () => {} }\n",
        ),
        ("src/stray.rs", "use crate::low;\n"),
    ]);
    let problems = check(&layers, &files);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("src/low.rs:2: `low` (layer 1) imports `mid`")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("mid <-> peer") && p.contains("src/peer.rs:1")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("src/stray")),
        "{problems:#?}"
    );
    let macro_use = owned(&[
        ("src/low.rs", "fn a() { crate::tr!(); }"),
        (
            "src/top.rs",
            "#[macro_export]\nmacro_rules! tr { () => {} }\n",
        ),
    ]);
    let problems = check(&layers_of(&[("low", 1), ("top", 3)]), &macro_use);
    assert!(
        problems.iter().any(|p| p.contains("imports `top`")),
        "{problems:#?}"
    );
    let fine = owned(&[
        ("src/low.rs", "pub(crate) fn a() {}"),
        ("src/mid.rs", "use crate::low::a;\nuse self::b as c;"),
    ]);
    assert!(check(&layers_of(&[("low", 1), ("mid", 2)]), &fine).is_empty());
}
