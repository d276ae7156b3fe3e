//! Docker's word expansion (the `shell.Lex` of BuildKit, which the legacy builder shares):
//! `$VAR`, `${VAR}`, `${VAR:-w}`/`${VAR-w}`, `${VAR:+w}`/`${VAR+w}`, `${VAR:?msg}`/`${VAR?msg}`,
//! `${VAR#pat}`/`##`, `${VAR%pat}`/`%%`, `${VAR/pat/repl}`/`//`, single and double quotes and
//! the escape character of the `escape` directive. It is not a shell: no command
//! substitution, no globbing, and what a `RUN` line means is left to the real shell.
//!
//! Besides the result, expansion reports which variables it read (a step's cache key
//! includes the build args it used) and which it referenced plainly (`$V`, `${V}`) without
//! finding them (a `FROM` naming an unset build arg is an error).
use std::collections::{BTreeSet, HashMap};

/// The variables an instruction sees: later entries win, as in Docker's env list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Vars {
    map: HashMap<String, String>,
}

impl Vars {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// From `KEY=VALUE` strings (an image's `Env`); a string without `=` is an empty value.
    pub(crate) fn from_env<S: AsRef<str>>(env: &[S]) -> Self {
        let mut vars = Self::new();
        for e in env {
            let (k, v) = e.as_ref().split_once('=').unwrap_or((e.as_ref(), ""));
            vars.set(k, v);
        }
        vars
    }

    pub(crate) fn set(&mut self, key: &str, value: &str) {
        self.map.insert(key.to_string(), value.to_string());
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }
}

/// How a word is processed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lex {
    /// The Dockerfile's escape character (`\` or `` ` ``).
    pub escape: char,
    /// Keep quote characters in the result (heredoc detection).
    pub raw_quotes: bool,
    /// Keep escape characters in the result (heredoc detection).
    pub raw_escapes: bool,
    /// Quotes are plain characters (the content of a heredoc).
    pub skip_quotes: bool,
}

impl Lex {
    pub(crate) fn new(escape: char) -> Self {
        Lex { escape, raw_quotes: false, raw_escapes: false, skip_quotes: false }
    }

    /// One word: variables expanded, quotes and escapes removed, spaces kept.
    pub(crate) fn word(&self, word: &str, vars: &Vars) -> Result<Expansion, String> {
        self.process(word, vars)
    }

    /// Expand, then split into words on unquoted whitespace (`EXPOSE $PORTS`).
    pub(crate) fn words(&self, word: &str, vars: &Vars) -> Result<Vec<String>, String> {
        self.process(word, vars).map(|e| e.words)
    }

    fn process(&self, word: &str, vars: &Vars) -> Result<Expansion, String> {
        let mut sc = Scanner { lex: *self, chars: word.chars().collect(), pos: 0, vars, used: BTreeSet::new(), missing: BTreeSet::new() };
        let (value, words) = sc.until(None, self.raw_escapes).map_err(|e| format!("failed to process {word:?}: {e}"))?;
        Ok(Expansion { value, words, used: sc.used, missing: sc.missing })
    }
}

/// The result of expanding one word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expansion {
    pub value: String,
    /// The value split on unquoted whitespace.
    pub words: Vec<String>,
    /// Variables that were read and set.
    pub used: BTreeSet<String>,
    /// Variables referenced as `$V` or `${V}` that were not set.
    pub missing: BTreeSet<String>,
}

struct Scanner<'a> {
    lex: Lex,
    chars: Vec<char>,
    pos: usize,
    vars: &'a Vars,
    used: BTreeSet<String>,
    missing: BTreeSet<String>,
}

#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        match self.vars.get(name) {
            Some(v) => {
                self.used.insert(name.to_string());
                Some(v.to_string())
            }
            None => None,
        }
    }

    /// Process until `stop` (consumed) or the end; returns the word and its split words.
    fn until(&mut self, stop: Option<char>, raw_escapes: bool) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let v = self.dollar()?;
                    result.push_str(&v);
                    words.add_string(&v);
                }
                '<' => {
                    let v = self.possible_heredoc();
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                '\'' if !self.lex.skip_quotes => {
                    let v = self.single_quote()?;
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                '"' if !self.lex.skip_quotes => {
                    let v = self.double_quote(raw_escapes)?;
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                _ => {
                    self.pos += 1;
                    if ch == self.lex.escape {
                        if raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!("unexpected end of statement while looking for matching {stop}"));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next().unwrap_or('\'');
        if self.lex.raw_quotes {
            out.push(q);
        }
        loop {
            match self.next() {
                None => return Err("unexpected end of statement while looking for matching single-quote".into()),
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self, raw_escapes: bool) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next().unwrap_or('"');
        if self.lex.raw_quotes {
            out.push(q);
        }
        loop {
            match self.peek() {
                None => return Err("unexpected end of statement while looking for matching double-quote".into()),
                Some('"') => {
                    self.pos += 1;
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(mut c) => {
                    self.pos += 1;
                    if c == self.lex.escape {
                        if raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.lex.escape => {
                                self.pos += 1;
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    fn possible_heredoc(&mut self) -> String {
        self.pos += 1;
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.pos += 1;
        let mut out = String::from("<<");
        while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return ch.to_string();
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            name.push(ch);
            self.pos += 1;
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.lookup(&name).unwrap_or_else(|| {
                self.missing.insert(name);
                String::new()
            }));
        }
        self.pos += 1;
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let Some(mut op) = self.next() else { return Err("syntax error: missing '}'".into()) };
        let mut op_text = op.to_string();
        let mut null_is_unset = false;
        match op {
            '}' => {
                return Ok(self.lookup(&name).unwrap_or_else(|| {
                    self.missing.insert(name);
                    String::new()
                }));
            }
            '/' => return self.replace(&name),
            ':' => {
                null_is_unset = true;
                let Some(next) = self.next() else { return Err("syntax error: missing '}'".into()) };
                op = next;
                op_text.push(next);
            }
            '+' | '-' | '?' | '#' | '%' => {}
            _ => return Err(format!("unsupported modifier ({op_text}) in substitution")),
        }
        let raw = op == '#' || op == '%';
        if null_is_unset && raw {
            return Err(format!("unsupported modifier ({op_text}) in substitution"));
        }
        let word = match self.until(Some('}'), raw) {
            Ok((w, _)) => w,
            Err(e) => return Err(if self.peek().is_none() { "syntax error: missing '}'".into() } else { e }),
        };
        let value = self.lookup(&name);
        let unset = value.is_none() || (null_is_unset && value.as_deref() == Some(""));
        match op {
            '-' => Ok(if unset { word } else { value.unwrap_or_default() }),
            '+' => Ok(if unset { String::new() } else { word }),
            '?' => match value {
                None => Err(format!("{name}: {}", if word.is_empty() { "is not allowed to be unset" } else { &word })),
                Some(v) if null_is_unset && v.is_empty() => {
                    Err(format!("{name}: {}", if word.is_empty() { "is not allowed to be empty" } else { &word }))
                }
                Some(v) => Ok(v),
            },
            '#' | '%' => {
                let value = value.unwrap_or_default();
                let (greedy, pattern) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, word),
                };
                if op == '%' { trim_suffix(&pattern, &value, greedy) } else { trim_prefix(&pattern, &value, greedy) }
            }
            _ => Err(format!("unsupported modifier ({op_text}) in substitution")),
        }
    }

    fn replace(&mut self, name: &str) -> Result<String, String> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let pattern = match self.until(Some('/'), true) {
            Ok((p, _)) => p,
            Err(e) => return Err(if self.peek().is_none() { "syntax error: missing '/' in ${}".into() } else { e }),
        };
        let replacement = match self.until(Some('}'), true) {
            Ok((r, _)) => r,
            Err(e) => return Err(if self.peek().is_none() { "syntax error: missing '}'".into() } else { e }),
        };
        let value = self.lookup(name).unwrap_or_default();
        let re = shell_pattern(&pattern, true, false).map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
        Ok(if all {
            re.replace_all(&value, replacement.as_str()).into_owned()
        } else {
            re.replace(&value, replacement.as_str()).into_owned()
        })
    }
}

/// A `${V#pattern}`-style pattern (`*`, `?`, `\` escapes) as a regex.
fn shell_pattern(pattern: &str, greedy: bool, anchored: bool) -> Result<regex::Regex, String> {
    let mut out = String::from(if anchored { "^" } else { "" });
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(if greedy { ".*" } else { ".*?" }),
            '?' => out.push('.'),
            '\\' => {
                if matches!(chars.get(i), Some('}' | '/')) {
                    continue;
                }
                match chars.get(i) {
                    Some(n @ ('*' | '?' | '\\')) => {
                        out.push('\\');
                        out.push(*n);
                        i += 1;
                    }
                    Some(n) => return Err(format!("invalid escape '\\{n}'")),
                    None => return Err("invalid escape '\\'".into()),
                }
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex::Regex::new(&out).map_err(|e| e.to_string())
}

fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let re = shell_pattern(pattern, greedy, true).map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

/// Reverse a pattern keeping each escape before the character it escapes.
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut units: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            units.push(format!("\\{}", chars[i + 1]));
            i += 2;
        } else {
            units.push(chars[i].to_string());
            i += 1;
        }
    }
    units.reverse();
    units.concat()
}

fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::from_env(&["A=alpha", "EMPTY=", "SP=a b  c", "PATHV=/usr/local/bin/file.tar.gz"])
    }

    fn word(s: &str) -> String {
        Lex::new('\\').word(s, &vars()).unwrap().value
    }

    #[test]
    fn plain_and_braced_references() {
        assert_eq!(word("$A"), "alpha");
        assert_eq!(word("${A}x"), "alphax");
        assert_eq!(word("$Ax"), "");
        assert_eq!(word("pre-$A-post"), "pre-alpha-post");
        assert_eq!(word("$"), "$");
        assert_eq!(word("a$"), "a$");
        assert_eq!(word("$1"), "");
        assert_eq!(word("$$"), "");
    }

    #[test]
    fn default_and_alternative_forms() {
        assert_eq!(word("${NOPE:-def}"), "def");
        assert_eq!(word("${EMPTY:-def}"), "def");
        assert_eq!(word("${EMPTY-def}"), "");
        assert_eq!(word("${NOPE-def}"), "def");
        assert_eq!(word("${A:-def}"), "alpha");
        assert_eq!(word("${A:+alt}"), "alt");
        assert_eq!(word("${EMPTY:+alt}"), "");
        assert_eq!(word("${EMPTY+alt}"), "alt");
        assert_eq!(word("${NOPE+alt}"), "");
        assert_eq!(word("${NOPE:-$A}"), "alpha");
        assert_eq!(word("${NOPE:-${A:+nested}}"), "nested");
    }

    #[test]
    fn required_forms_fail_with_the_message() {
        let lex = Lex::new('\\');
        assert!(lex.word("${NOPE?}", &vars()).unwrap_err().contains("NOPE: is not allowed to be unset"));
        assert!(lex.word("${EMPTY:?must be set}", &vars()).unwrap_err().contains("EMPTY: must be set"));
        assert_eq!(word("${EMPTY?x}"), "");
    }

    #[test]
    fn pattern_removal_and_replacement() {
        assert_eq!(word("${PATHV#*/}"), "usr/local/bin/file.tar.gz");
        assert_eq!(word("${PATHV##*/}"), "file.tar.gz");
        assert_eq!(word("${PATHV%.*}"), "/usr/local/bin/file.tar");
        assert_eq!(word("${PATHV%%.*}"), "/usr/local/bin/file");
        assert_eq!(word("${A/l/L}"), "aLpha");
        assert_eq!(word("${A//a/A}"), "AlphA");
        assert_eq!(word("${A/#al/AL}"), "alpha", "no anchors: '#' is literal");
        let lex = Lex::new('\\');
        assert!(lex.word("${A:#x}", &vars()).is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(word(r#""$A b""#), "alpha b");
        assert_eq!(word("'$A b'"), "$A b");
        assert_eq!(word(r"\$A"), "$A");
        assert_eq!(word(r#""a\"b""#), "a\"b");
        assert_eq!(word(r#""a\nb""#), "a\\nb");
        assert_eq!(word(r"a\ b"), "a b");
        assert_eq!(word("trailing\\"), "trailing");
        let bt = Lex::new('`');
        assert_eq!(bt.word("`$A \\x", &vars()).unwrap().value, "$A \\x");
    }

    #[test]
    fn syntax_errors() {
        let lex = Lex::new('\\');
        for bad in ["${A", "${}", "${:x}", "${{A}}", "'open", "\"open", "${A:-x", "${A/x"] {
            assert!(lex.word(bad, &vars()).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn words_split_after_expansion_but_not_inside_quotes() {
        let lex = Lex::new('\\');
        assert_eq!(lex.words("$SP", &vars()).unwrap(), ["a", "b", "c"]);
        assert_eq!(lex.words("\"$SP\" x", &vars()).unwrap(), ["a b  c", "x"]);
        assert_eq!(lex.words("8080 9090/udp", &vars()).unwrap(), ["8080", "9090/udp"]);
    }

    #[test]
    fn reports_used_and_missing() {
        let e = Lex::new('\\').word("$A ${NOPE} ${GONE:-x} ${EMPTY}", &vars()).unwrap();
        assert_eq!(e.used.into_iter().collect::<Vec<_>>(), ["A", "EMPTY"]);
        assert_eq!(e.missing.into_iter().collect::<Vec<_>>(), ["NOPE"]);
    }

    #[test]
    fn skip_quotes_keeps_quotes_for_heredoc_content() {
        let mut lex = Lex::new('\\');
        lex.skip_quotes = true;
        assert_eq!(lex.word("echo \"$A\" '$A'\n", &vars()).unwrap().value, "echo \"alpha\" 'alpha'\n");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}", esc in proptest::sample::select(vec!['\\', '`'])) {
            let mut lex = Lex::new(esc);
            let _ = lex.word(&s, &vars());
            lex.raw_quotes = true;
            lex.raw_escapes = true;
            let _ = lex.words(&s, &vars());
        }
        #[test]
        fn never_panics_on_dollar_heavy_text(s in "[${}:#%/?+*\\-a-c\\\\\"' ]{0,30}") {
            let _ = Lex::new('\\').word(&s, &vars());
        }
    }
}
