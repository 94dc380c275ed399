//! The shape of the code, checked from its sources: no import cycles among `api/src` files,
//! GraphQL only in `graphql/` and `server/`, files short enough to read (or saying why not),
//! and `# Layout` sections that name files which exist.
//!
//! The sources are read as text: comments, strings and `#[cfg(test)]` modules are left out,
//! `use` trees are expanded and `crate::`/`super::`/`self::` paths resolved to the file
//! that defines the module they name (the longest prefix that is a file).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Files longer than this say why at their top, in a `//! Length:` line.
const MAX_LINES: usize = 400;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a file under `src` (`faces/mod.rs` → `["faces"]`); None for a binary.
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.last().map(String::as_str) {
        Some("main") if parts.len() == 1 => return None,
        Some("mod" | "lib") => {
            parts.pop();
        }
        _ => {}
    }
    Some(parts)
}

/// The source without comments, string and char literals, and `#[cfg(test)]` items.
fn code_of(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if let Some((prefix, hashes)) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = prefix + hashes + 1;
            i += body
                + rest[body..]
                    .find(&close)
                    .map_or(rest.len() - body, |e| e + close.len());
            out.push_str("\"\"");
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            i += j + 1;
            out.push_str("\"\"");
        } else if rest.starts_with('\'') && char_literal_len(rest).is_some() {
            i += char_literal_len(rest).unwrap_or(1);
            out.push_str("' '");
        } else {
            let c = rest.chars().next().expect("a character");
            out.push(c);
            i += c.len_utf8();
        }
    }
    without_test_items(&out)
}

/// At a raw string (`r"…"`, `r#"…"#`, `br"…"`): the prefix's length and the hashes.
fn raw_string_start(rest: &str) -> Option<(usize, usize)> {
    let prefix = if rest.starts_with("br") {
        2
    } else if rest.starts_with('r') {
        1
    } else {
        return None;
    };
    let hashes = rest[prefix..].bytes().take_while(|&b| b == b'#').count();
    rest[prefix + hashes..]
        .starts_with('"')
        .then_some((prefix, hashes))
}

/// The length of a char literal at the start of `rest` (not a lifetime).
fn char_literal_len(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    if bytes.get(1) == Some(&b'\\') {
        return rest[2..].find('\'').map(|end| end + 3);
    }
    let c = rest[1..].chars().next()?;
    let after = 1 + c.len_utf8();
    (bytes.get(after) == Some(&b'\'')).then_some(after + 1)
}

/// Drops every item marked `#[cfg(test)]` (up to its matching closing brace or `;`).
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a `use` tree names, each as its segments (`a::{b, c::d}` → `a::b`, `a::c::d`).
fn expand_use(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (k, c) in tree.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&tree[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&tree[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(open) = part.find('{') {
            let head = part[..open].trim().trim_end_matches("::");
            let inner = part[open + 1..].trim_end().trim_end_matches('}');
            let mut next = prefix.to_vec();
            next.extend(segments(head));
            expand_use(inner, &next, out);
        } else {
            let path = part.split(" as ").next().unwrap_or(part);
            let mut full = prefix.to_vec();
            full.extend(segments(path));
            out.push(full);
        }
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every path a file's code names that may lead into the crate.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let statement = &rest[at + 3..];
        let end = statement.find(';').unwrap_or(statement.len());
        expand_use(statement[..end].trim(), &[], &mut paths);
        rest = &statement[end..];
    }
    for root in ["crate", "super", "self"] {
        let mut rest = code;
        while let Some(at) = find_word(rest, root) {
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            // `super::{a, b}` is a `use` group, read above.
            if tail[..len].contains("::") && !tail[..len].ends_with("::") {
                paths.push(segments(&tail[..len]));
            }
            rest = &tail[len.max(1)..];
        }
    }
    paths
}

/// The next occurrence of `word` standing alone (not inside an identifier).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !ident(before) && !ident(after) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// The import graph of `api/src`: file → files it imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("api/src");
    let files = rust_files(&src);
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .filter_map(|f| {
            let name = f.strip_prefix(&src).ok()?.to_string_lossy().into_owned();
            Some((module_of(&src, f)?, name))
        })
        .collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let name = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        let module = module_of(&src, file).unwrap_or_default();
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        let children: BTreeSet<String> = modules
            .keys()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(&module))
            .filter_map(|m| m.last().cloned())
            .collect();
        let mut imports = BTreeSet::new();
        for path in named_paths(&code) {
            let Some(first) = path.first() else { continue };
            let absolute: Vec<String> = match first.as_str() {
                "crate" => path[1..].to_vec(),
                "super" => {
                    let mut base = module.clone();
                    let mut rest = &path[..];
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().cloned());
                    base
                }
                "self" => module.iter().chain(&path[1..]).cloned().collect(),
                child if children.contains(child) => module.iter().chain(&path).cloned().collect(),
                _ => continue,
            };
            let target = (0..=absolute.len())
                .rev()
                .find_map(|k| modules.get(&absolute[..k]));
            if let Some(target) = target
                && *target != name
            {
                imports.insert(target.clone());
            }
        }
        graph.insert(name, imports);
    }
    graph
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        w.on_stack.insert(v);
        for next in w.graph.get(v).into_iter().flatten() {
            let next = next.as_str();
            if !w.index.contains_key(next) {
                visit(w, next);
                let low = w.low[v].min(w.low[next]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(next) {
                let low = w.low[v].min(w.index[next]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                component.push(top.to_owned());
                if top == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            visit(&mut walk, v);
        }
    }
    walk.found
}

#[test]
fn the_checker_sees_cycles_and_ignores_what_is_not_code() {
    let code = code_of(
        "use crate::{a::B, c::{self, d::E as F}};\n// use crate::g;\nlet s = \"crate::h::i\";\n\
         let r = r#\"crate::j\"#; fn f<'a>(x: &'a str) { super::k::l(); let c = '}'; }\n\
         #[cfg(test)]\nmod tests { use crate::m; }\n",
    );
    let mut paths = named_paths(&code);
    paths.sort();
    paths.dedup();
    let names: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert!(names.contains(&"crate::a::B".to_owned()), "{names:?}");
    assert!(names.contains(&"crate::c::d::E".to_owned()), "{names:?}");
    assert!(names.contains(&"super::k::l".to_owned()), "{names:?}");
    for absent in ["crate::g", "crate::h::i", "crate::j", "crate::m"] {
        assert!(!names.iter().any(|n| n == absent), "{absent} in {names:?}");
    }
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a.rs", vec!["b.rs"]),
        ("b.rs", vec!["c.rs"]),
        ("c.rs", vec!["a.rs"]),
        ("d.rs", vec!["a.rs"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a.rs", "b.rs", "c.rs"]]);
}

#[test]
fn no_two_files_of_the_server_import_each_other_in_a_loop() {
    let graph = import_graph();
    assert!(
        graph.len() > 50,
        "the api's files were found: {}",
        graph.len()
    );
    let found = cycles(&graph);
    let explained: Vec<String> = found
        .iter()
        .map(|cycle| {
            let members: BTreeSet<&String> = cycle.iter().collect();
            let edges: Vec<String> = cycle
                .iter()
                .map(|file| {
                    let inside: Vec<&String> =
                        graph[file].iter().filter(|t| members.contains(t)).collect();
                    format!("  {file} → {inside:?}")
                })
                .collect();
            edges.join("\n")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles in api/src:\n{}",
        explained.join("\n\n")
    );
}

#[test]
fn graphql_is_known_only_to_the_graphql_and_server_modules() {
    let src = root().join("api/src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let name = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        if name.starts_with("graphql/") || name.starts_with("server/") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).expect("read"));
        if find_word(&code, "async_graphql").is_some() {
            offenders.push(name);
        }
    }
    assert!(
        offenders.is_empty(),
        "outside graphql/ and server/, these name async_graphql: {offenders:?}"
    );
}

#[test]
fn long_files_say_why() {
    let mut offenders = Vec::new();
    for crate_src in ["api/src", "vision/src", "entity/src", "migration/src"] {
        for file in rust_files(&root().join(crate_src)) {
            let text = std::fs::read_to_string(&file).expect("read");
            let lines = text.lines().count();
            let opening: Vec<&str> = text
                .lines()
                .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
                .collect();
            if lines > MAX_LINES && !opening.iter().any(|l| l.starts_with("//! Length:")) {
                offenders.push(format!(
                    "{} ({lines} lines)",
                    file.strip_prefix(root()).unwrap_or(&file).display()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "files over {MAX_LINES} lines without a `//! Length:` line saying why: {offenders:?}"
    );
}

/// The `# Layout` section of a crate's `lib.rs`, up to the first line that is not a doc
/// comment: its entries, each list item with its continuation lines joined.
fn layout(lib: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(lib).expect("read lib.rs");
    let mut entries: Vec<String> = Vec::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("//! # Layout"))
        .skip(1)
        .take_while(|l| l.starts_with("//!"))
    {
        let line = line.trim_start_matches("//!").trim();
        match entries.last_mut() {
            Some(last) if !line.is_empty() && !line.starts_with("- ") && !last.is_empty() => {
                last.push(' ');
                last.push_str(line);
            }
            _ => entries.push(line.to_owned()),
        }
    }
    entries
}

/// A file a Layout names: under the crate's `src`, else from the repository's root.
fn named_file(src: &Path, name: &str) -> Option<PathBuf> {
    [src.join(name), root().join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// The words between backticks in `text` (the `x` of "[`x`]" and of "`x.rs`").
fn quoted(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn check_layout(crate_src: &str) -> Vec<String> {
    let src = root().join(crate_src);
    let lines = layout(&src.join("lib.rs"));
    let mut problems = Vec::new();
    if lines.is_empty() {
        return vec![format!("{crate_src}/lib.rs has no `# Layout` section")];
    }
    let text = lines.join("\n");
    let mut named_modules = BTreeSet::new();
    for word in quoted(&text) {
        if word.ends_with(".rs") {
            if named_file(&src, &word).is_none() {
                problems.push(format!(
                    "{crate_src}: the Layout names {word}, which is not there"
                ));
            }
        } else if word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == ':')
        {
            let path = word.replace("::", "/");
            if src.join(format!("{path}.rs")).is_file() || src.join(&path).join("mod.rs").is_file()
            {
                named_modules.insert(path.split('/').next().unwrap_or_default().to_owned());
            }
        }
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    for line in lib.lines() {
        if let Some(module) = line
            .trim()
            .strip_prefix("pub mod ")
            .and_then(|m| m.strip_suffix(';'))
            && !named_modules.contains(module)
        {
            problems.push(format!("{crate_src}: module {module} is not in the Layout"));
        }
    }
    problems
}

#[test]
fn the_layouts_name_files_that_exist_and_every_module() {
    let mut problems = check_layout("api/src");
    problems.extend(check_layout("vision/src"));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_api_layout_names_one_file_for_each_step_of_the_central_loop() {
    let src = root().join("api/src");
    let lines = layout(&src.join("lib.rs"));
    for step in [
        "a frame becomes faces",
        "faces become a sighting",
        "a sighting becomes a presence",
        "a presence becomes an event",
    ] {
        let line = lines
            .iter()
            .find(|l| l.contains(step))
            .unwrap_or_else(|| panic!("the api's Layout does not name the step {step:?}"));
        let files: Vec<String> = quoted(line)
            .into_iter()
            .filter(|w| w.ends_with(".rs"))
            .collect();
        assert!(!files.is_empty(), "the step {step:?} names no file: {line}");
        for file in files {
            assert!(
                named_file(&src, &file).is_some(),
                "the step {step:?} names {file}, which is not there"
            );
        }
    }
}
