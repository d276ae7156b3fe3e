//! `.dockerignore` with Docker's exact rules (moby's `patternmatcher` and `ignorefile`, as
//! the docker CLI applies them when it sends a context), written for berth.
//!
//! Reading: a line starting with `#` is a comment (before trimming), blank lines are
//! skipped, `!` re-includes, each pattern is cleaned like Go's `filepath.Clean` and a
//! leading `/` dropped, so patterns are anchored at the context root.
//!
//! Matching a path (slash-separated, relative to the context root): the last pattern that
//! matches wins; a pattern also matches every path below a directory it matches ("a
//! directory excluded means its children are"), which the walk carries from parent to
//! child ([`IgnoreMatcher::matches`]). Each pattern is one of Docker's four kinds, with
//! their quirks kept: exact (`foo/bar`), prefix (`foo**`), suffix (`**/foo`, which also
//! matches `xfoo`'s parent-less form only when it begins with `/`), and a regex where `*`
//! and `?` stop at `/`, `**` spans directories and `[...]`/`\` pass through to the regex
//! (so `\d` is a digit, as in Go's regexp). Patterns Go's `filepath.Match` would reject
//! (`[`, `a\`, `[]`) are errors, as in Docker.
//!
//! gitignore crates differ (no anchoring at the root, other `**` and negation rules),
//! which is why this is ours; `context` tests it against the docker CLI itself.
use super::error::{BuildError, Result};

/// The patterns of an ignore file, as Docker reads them.
pub(crate) fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut p = if pattern.is_empty() { String::new() } else { go_clean(pattern) };
        if p.len() > 1 && p.starts_with('/') {
            p.remove(0);
        }
        out.push(if invert { format!("!{p}") } else { p });
    }
    out
}

/// Go's `filepath.Clean` (Unix).
pub(crate) fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for el in path.split('/') {
        match el {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex(regex::Regex),
}

#[derive(Clone, Debug)]
struct Pattern {
    exclusion: bool,
    cleaned: String,
    kind: Kind,
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }
}

/// Per-pattern results for a directory, handed to its children during a walk.
pub(crate) type ParentMatches = Vec<bool>;

#[derive(Clone, Debug, Default)]
pub(crate) struct IgnoreMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl IgnoreMatcher {
    /// A matcher from patterns (as [`read_patterns`] returns them); `file` names the
    /// ignore file in errors.
    pub(crate) fn new(patterns: &[String], file: &str) -> Result<Self> {
        let mut out = IgnoreMatcher::default();
        for raw in patterns {
            let p = raw.trim();
            if p.is_empty() {
                continue;
            }
            let err = |msg: &str| BuildError::IgnorePattern { file: file.to_string(), pattern: raw.clone(), msg: msg.to_string() };
            let mut p = go_clean(p);
            let exclusion = p.starts_with('!');
            if exclusion {
                if p.len() == 1 {
                    return Err(err("illegal exclusion pattern: \"!\""));
                }
                p.remove(0);
                out.exclusions = true;
            }
            validate_go_pattern(&p).map_err(|_| err("syntax error in pattern"))?;
            let kind = compile(&p).map_err(|e| err(&format!("syntax error in pattern: {e}")))?;
            out.patterns.push(Pattern { exclusion, cleaned: p, kind });
        }
        Ok(out)
    }

    /// From an ignore file's text.
    pub(crate) fn from_text(text: &str, file: &str) -> Result<Self> {
        Self::new(&read_patterns(text), file)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` is excluded, given its parent directory's per-pattern results (from
    /// the walk; `None` for a top-level path or outside a walk, when the parent
    /// directories are checked here). Returns the results to hand to its children.
    pub(crate) fn matches(&self, path: &str, parent: Option<&ParentMatches>) -> (bool, ParentMatches) {
        let mut matched = false;
        let mut info = vec![false; self.patterns.len()];
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = parent.is_some_and(|pm| pm.get(i).copied().unwrap_or(false));
            if !m {
                if p.exclusion != matched {
                    continue;
                }
                m = p.matches(path);
                if !m
                    && parent.is_none()
                    && let Some((dir, _)) = path.rsplit_once('/')
                {
                    let mut prefix = String::new();
                    for comp in dir.split('/') {
                        if !prefix.is_empty() {
                            prefix.push('/');
                        }
                        prefix.push_str(comp);
                        if p.matches(&prefix) {
                            m = true;
                            break;
                        }
                    }
                }
            }
            info[i] = m;
            if m {
                matched = !p.exclusion;
            }
        }
        (matched, info)
    }

    /// `patternmatcher.MatchesOrParentMatches`: excluded by itself or by a parent directory.
    pub(crate) fn excludes(&self, path: &str) -> bool {
        self.matches(path, None).0
    }

    /// Whether a walk must still enter an excluded directory: some `!pattern` starts with
    /// `dir/` literally (Docker's check, so `!**/keep` does not reopen `dir`).
    pub(crate) fn may_reinclude_under(&self, dir: &str) -> bool {
        if !self.exclusions {
            return false;
        }
        let dir_slash = format!("{dir}/");
        self.patterns.iter().any(|p| p.exclusion && format!("{}/", p.cleaned).starts_with(&dir_slash))
    }
}

/// The syntax check of Go's `filepath.Match`: every `\` escapes something, every `[`
/// closes, a class has at least one range and no bare `-` or `]` where a char is due.
fn validate_go_pattern(p: &str) -> std::result::Result<(), ()> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    // A class member: a char or `\`char, never `-`/`]` first, never the last thing.
    let esc = |i: &mut usize| -> std::result::Result<(), ()> {
        match chars.get(*i) {
            None | Some('-') | Some(']') => return Err(()),
            Some('\\') => {
                *i += 1;
                if chars.get(*i).is_none() {
                    return Err(());
                }
            }
            Some(_) => {}
        }
        *i += 1;
        if *i >= chars.len() { Err(()) } else { Ok(()) }
    };
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 1;
                if i >= chars.len() {
                    return Err(());
                }
                i += 1;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    esc(&mut i)?;
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        esc(&mut i)?;
                    }
                    ranges += 1;
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Docker's pattern compilation: the kind, and for regex patterns the regex, built as Go
/// text first and then read as Go's RE2 syntax into Rust's.
fn compile(p: &str) -> std::result::Result<Kind, String> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = p.chars().collect();
    let mut re = String::from("^");
    let mut kind = Detected::Exact;
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        let at_start = std::mem::replace(&mut first, false);
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    if kind == Detected::Exact {
                        kind = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Detected::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Detected::Regex;
                }
                if at_start {
                    kind = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Detected::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Detected::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.get(i) {
                Some(&n) => {
                    re.push('\\');
                    re.push(n);
                    i += 1;
                    kind = Detected::Regex;
                }
                None => re.push('\\'),
            },
            '[' | ']' => {
                re.push(ch);
                kind = Detected::Regex;
            }
            c => re.push(c),
        }
    }
    Ok(match kind {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix,
        Detected::Suffix => Kind::Suffix,
        Detected::Regex => {
            re.push('$');
            Kind::Regex(regex::Regex::new(&go_regex_to_rust(&re)?).map_err(|e| e.to_string())?)
        }
    })
}

/// Read the subset of Go RE2 syntax the compiler emits (its own fragments plus the
/// user's `[...]`, `\x` and `^`) and write the Rust regex with the same meaning: Rust
/// nests `[` inside classes and reads `&&`, `--`, `~~` there, and its `\d\s\w` are Unicode.
fn go_regex_to_rust(go: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let lit = |c: char| format!("\\x{{{:x}}}", c as u32);
    let perl = |c: char| -> Option<&'static str> {
        Some(match c {
            'd' => "[0-9]",
            'D' => "[^0-9]",
            's' => "[\\t\\n\\x0C\\r ]",
            'S' => "[^\\t\\n\\x0C\\r ]",
            'w' => "[0-9A-Za-z_]",
            'W' => "[^0-9A-Za-z_]",
            _ => return None,
        })
    };
    let escape_char = |c: char| -> Option<char> {
        Some(match c {
            'a' => '\u{7}',
            'f' => '\u{c}',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'v' => '\u{b}',
            _ => return None,
        })
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                let Some(&n) = chars.get(i) else { return Err("trailing backslash".into()) };
                i += 1;
                if let Some(p) = perl(n) {
                    out.push_str(p);
                } else if let Some(e) = escape_char(n) {
                    out.push_str(&lit(e));
                } else if matches!(n, 'b' | 'B' | 'A' | 'z') {
                    out.push('\\');
                    out.push(n);
                } else if n.is_ascii_alphanumeric() {
                    return Err(format!("invalid escape sequence \\{n}"));
                } else {
                    out.push_str(&lit(n));
                }
            }
            '[' => {
                let mut class = String::from("[");
                if chars.get(i) == Some(&'^') {
                    class.push('^');
                    i += 1;
                }
                let mut items = 0;
                loop {
                    let Some(&c) = chars.get(i) else { return Err("missing closing ]".into()) };
                    if c == ']' && items > 0 {
                        i += 1;
                        break;
                    }
                    items += 1;
                    if c == '[' && chars.get(i + 1) == Some(&':') {
                        let rest: String = chars[i..].iter().collect();
                        if let Some(end) = rest.find(":]") {
                            class.push_str(&rest[..end + 2]);
                            i += rest[..end + 2].chars().count();
                            continue;
                        }
                    }
                    let lo = if c == '\\' {
                        let Some(&n) = chars.get(i + 1) else { return Err("trailing backslash".into()) };
                        i += 2;
                        if let Some(p) = perl(n) {
                            class.push_str(p);
                            continue;
                        }
                        match escape_char(n) {
                            Some(e) => e,
                            None if n.is_ascii_alphanumeric() => return Err(format!("invalid escape sequence \\{n}")),
                            None => n,
                        }
                    } else {
                        i += 1;
                        c
                    };
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&n| n != ']') {
                        let mut hi = chars[i + 1];
                        i += 2;
                        if hi == '\\' {
                            let Some(&n) = chars.get(i) else { return Err("trailing backslash".into()) };
                            i += 1;
                            hi = escape_char(n).unwrap_or(n);
                        }
                        if hi < lo {
                            return Err(format!("invalid character class range {lo}-{hi}"));
                        }
                        class.push_str(&format!("{}-{}", lit(lo), lit(hi)));
                    } else {
                        class.push_str(&lit(lo));
                    }
                }
                class.push(']');
                out.push_str(&class);
            }
            ']' => out.push_str(&lit(']')),
            '^' | '$' | '(' | ')' | '?' | '*' | '.' | '|' => out.push(c),
            c => out.push_str(&lit(c)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &str) -> IgnoreMatcher {
        IgnoreMatcher::from_text(patterns, ".dockerignore").unwrap()
    }

    #[test]
    fn reading_follows_ignorefile() {
        let text = "\u{feff}# comment\n  # not a comment\n\n  /abs/path/  \n! keep\n./a/../b\n!/x\n*.md\n";
        assert_eq!(read_patterns(text), ["# not a comment", "abs/path", "!keep", "b", "!x", "*.md"]);
        assert_eq!(read_patterns("/\n"), ["/"]);
        assert_eq!(read_patterns("!\n"), ["!"]);
        assert!(IgnoreMatcher::new(&read_patterns("!\n"), ".dockerignore").is_err());
    }

    #[test]
    fn clean_is_gos() {
        for (a, b) in [
            ("", "."),
            ("a//b/./c/..", "a/b"),
            ("../x", "../x"),
            ("/../x", "/x"),
            ("a/..", "."),
            ("/", "/"),
            ("./", "."),
            ("a/../../b", "../b"),
        ] {
            assert_eq!(go_clean(a), b, "{a}");
        }
    }

    #[test]
    fn kinds_and_their_quirks() {
        let x = m("foo/bar\n");
        assert!(x.excludes("foo/bar") && x.excludes("foo/bar/baz") && !x.excludes("foo/barx") && !x.excludes("x/foo/bar"));
        let x = m("foo**\n");
        assert!(x.excludes("foobar") && x.excludes("foo/x") && !x.excludes("xfoo"));
        let x = m("**/foo\n");
        assert!(x.excludes("foo") && x.excludes("a/b/foo") && x.excludes("a/foo/c") && !x.excludes("afoo"));
        let x = m("**foo\n");
        assert!(x.excludes("afoo") && x.excludes("a/bfoo"), "a suffix pattern without a slash matches any ending");
        let x = m("**\n");
        assert!(x.excludes("anything/at/all"));
        let x = m("*.md\n");
        assert!(x.excludes("README.md") && !x.excludes("docs/x.md") && !x.excludes("READMEXmd"));
        let x = m("**/*.md\n");
        assert!(x.excludes("README.md") && x.excludes("docs/deep/x.md"));
        let x = m("docs/**/*.txt\n");
        assert!(x.excludes("docs/a.txt") && x.excludes("docs/x/y/a.txt") && !x.excludes("a.txt"));
        let x = m("?.txt\n");
        assert!(x.excludes("a.txt") && !x.excludes("ab.txt"));
        let x = m("[a-c]*.log\n[!x].y\n");
        assert!(x.excludes("b1.log") && !x.excludes("d1.log"));
        assert!(x.excludes("!.y") && x.excludes("x.y"), "Go reads [!x] as the class of ! and x");
        let x = m("file\\d\n");
        assert!(x.excludes("file1") && !x.excludes("filed"), "\\d reaches the regex as a digit class");
        let x = m("a\\*b\n");
        assert!(x.excludes("a*b") && !x.excludes("axb"));
        let x = m("a^b\n");
        assert!(x.excludes("a^b"), "exact match, ^ stays literal");
        let x = m("[*]x\n");
        assert!(x.excludes("]x") && x.excludes("[^/]x") && !x.excludes("*x"), "Go reads [[^/]*]x: Docker's * inside a class");
        let x = m("a&&b[&&]\n");
        assert!(x.excludes("a&&b&"));
    }

    #[test]
    fn last_match_wins_and_reinclusion() {
        let x = m("*.md\n!README.md\n");
        assert!(x.excludes("a.md") && !x.excludes("README.md"));
        let x = m("!README.md\n*.md\n");
        assert!(x.excludes("README.md"));
        let x = m("dir\n!dir/keep\n");
        assert!(x.excludes("dir/other") && !x.excludes("dir/keep"));
        assert!(x.may_reinclude_under("dir"));
        let x = m("dir\n!**/keep\n");
        assert!(!x.may_reinclude_under("dir"), "Docker's literal prefix check");
        let x = m("dir\n");
        assert!(!x.may_reinclude_under("dir"));
    }

    #[test]
    fn walk_results_flow_from_parent_to_child() {
        let x = m("dir\n!dir/keep\n");
        let (skip, info) = x.matches("dir", None);
        assert!(skip);
        assert!(x.matches("dir/other", Some(&info)).0);
        assert!(!x.matches("dir/keep", Some(&info)).0);
        let x = m("a/*\n!a/b\n");
        let (skip_b, info_b) = x.matches("a/b", None);
        assert!(!skip_b);
        assert!(!x.matches("a/b/c", Some(&info_b)).0, "a/b/c inherits both a/* and !a/b from its parent: the last one wins");
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["[", "a[", "[]", "[a-", "a\\", "[z-a]", "x[^]"] {
            let e = IgnoreMatcher::from_text(&format!("{bad}\n"), ".dockerignore").unwrap_err().to_string();
            assert!(e.contains("syntax error in pattern"), "{bad}: {e}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn never_panics(
            patterns in proptest::collection::vec("[!/*?\\[\\]\\\\^a-c.\\-&~:{}()$+|d ]{0,10}", 0..6),
            path in "[a-c./*\\[\\]^\\\\-]{1,12}",
        ) {
            if let Ok(x) = IgnoreMatcher::new(&patterns, ".dockerignore") {
                let (_, info) = x.matches(&path, None);
                let _ = x.matches(&format!("{path}/x"), Some(&info));
                let _ = x.may_reinclude_under(&path);
            }
        }
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,60}", path in "\\PC{1,20}") {
            if let Ok(x) = IgnoreMatcher::from_text(&text, ".dockerignore") {
                let _ = x.excludes(&path);
            }
        }
    }
}
