//! Detach keys: the key sequence that leaves an attach or exec session while the container
//! keeps running (docker's `--detach-keys`, default ctrl-p ctrl-q). One parser for docker's
//! format and one matcher over the input stream, shared by `run -it`, `start -a -i`,
//! `attach` and `exec -it` on either backend, so all of them behave the same: keys that
//! start the sequence are held back; if the next key does not continue it, the held keys
//! are sent on with it, as docker does.
use std::fmt;

/// docker's default.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

/// A parsed sequence (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetachKeys(Vec<u8>);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid detach keys {spec:?}: {why} (use comma-separated ctrl-<a-z@[\\]^_> or single characters, e.g. ctrl-p,ctrl-q)")]
pub struct InvalidDetachKeys {
    pub spec: String,
    pub why: String,
}

impl DetachKeys {
    /// docker's format: comma-separated `ctrl-<a-z @ [ \ ] ^ _>` or single characters.
    pub fn parse(spec: &str) -> Result<Self, InvalidDetachKeys> {
        let bad = |why: String| InvalidDetachKeys { spec: spec.to_string(), why };
        let mut out = Vec::new();
        for key in spec.split(',') {
            let k = key.trim();
            let lower = k.to_ascii_lowercase();
            let code = if let Some(rest) = lower.strip_prefix("ctrl-") {
                match rest.as_bytes() {
                    [c @ b'a'..=b'z'] => c - b'a' + 1,
                    [b'@'] => 0,
                    [b'['] => 27,
                    [b'\\'] => 28,
                    [b']'] => 29,
                    [b'^'] => 30,
                    [b'_'] => 31,
                    _ => return Err(bad(format!("unknown key {k:?}"))),
                }
            } else {
                match k.as_bytes() {
                    [c] if c.is_ascii() && !c.is_ascii_control() => *c,
                    [] => return Err(bad("empty key".into())),
                    _ => return Err(bad(format!("unknown key {k:?}"))),
                }
            };
            out.push(code);
        }
        Ok(DetachKeys(out))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn matcher(&self) -> Matcher {
        Matcher { keys: self.0.clone(), held: 0 }
    }
}

impl Default for DetachKeys {
    fn default() -> Self {
        DetachKeys(vec![0x10, 0x11])
    }
}

impl fmt::Display for DetachKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .0
            .iter()
            .map(|&b| match b {
                1..=26 => format!("ctrl-{}", (b'a' + b - 1) as char),
                0 => "ctrl-@".into(),
                27 => "ctrl-[".into(),
                28 => "ctrl-\\".into(),
                29 => "ctrl-]".into(),
                30 => "ctrl-^".into(),
                31 => "ctrl-_".into(),
                c => (c as char).to_string(),
            })
            .collect();
        f.write_str(&names.join(","))
    }
}

/// What a chunk of input comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed {
    /// Send these bytes on (possibly none: a partial sequence is being held).
    Forward(Vec<u8>),
    /// The whole sequence was typed: send `before` (the input that came before it), then detach.
    Detach { before: Vec<u8> },
}

/// Watches an input stream for the sequence.
#[derive(Clone, Debug)]
pub struct Matcher {
    keys: Vec<u8>,
    /// How many keys of the sequence have been typed (and held back) so far.
    held: usize,
}

impl Matcher {
    pub fn feed(&mut self, input: &[u8]) -> Fed {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    self.held = 0;
                    return Fed::Detach { before: out };
                }
                continue;
            }
            // Not the next key: the held ones go on, and this key may start the sequence anew.
            out.extend_from_slice(&self.keys[..self.held]);
            self.held = 0;
            if b == self.keys[0] {
                self.held = 1;
                if self.keys.len() == 1 {
                    self.held = 0;
                    return Fed::Detach { before: out };
                }
            } else {
                out.push(b);
            }
        }
        Fed::Forward(out)
    }

    /// Keys held back when the input ends (they are the user's and go on).
    pub fn flush(&mut self) -> Vec<u8> {
        let out = self.keys[..self.held].to_vec();
        self.held = 0;
        out
    }
}

/// The keys to use: the flag's value, else `detachKeys` from berth's docker-format
/// `config.json` (the file `login` writes), else docker's default.
pub fn resolve(flag: Option<&str>) -> Result<DetachKeys, InvalidDetachKeys> {
    if let Some(f) = flag.filter(|f| !f.is_empty()) {
        return DetachKeys::parse(f);
    }
    let path = crate::registry::auth::config_path();
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(k) = v.get("detachKeys").and_then(|k| k.as_str()).filter(|k| !k.is_empty())
    {
        return DetachKeys::parse(k).map_err(|e| InvalidDetachKeys { why: format!("{} (detachKeys in {})", e.why, path.display()), ..e });
    }
    Ok(DetachKeys::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dockers_format() {
        assert_eq!(DetachKeys::parse("ctrl-p,ctrl-q").unwrap(), DetachKeys::default());
        assert_eq!(DetachKeys::parse("ctrl-x,x").unwrap().bytes(), &[0x18, b'x']);
        assert_eq!(DetachKeys::parse("ctrl-a").unwrap().bytes(), &[1]);
        assert_eq!(DetachKeys::parse("CTRL-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_").unwrap().bytes(), &[0, 27, 28, 29, 30, 31]);
        assert_eq!(DetachKeys::parse("ctrl-x,x").unwrap().to_string(), "ctrl-x,x");
        for bad in ["", "ctrl-", "ctrl-1", "ctrl-xx", "xy", "a,,b", "ctrl-p,"] {
            let e = DetachKeys::parse(bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid detach keys"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn whole_sequence_detaches_and_partial_ones_pass_through() {
        let k = DetachKeys::default();
        let mut m = k.matcher();
        assert_eq!(m.feed(b"ls\r"), Fed::Forward(b"ls\r".to_vec()));
        // Split over two reads.
        assert_eq!(m.feed(b"a\x10"), Fed::Forward(b"a".to_vec()));
        assert_eq!(m.feed(b"\x11rest"), Fed::Detach { before: vec![] });
        // A partial sequence followed by another key: both go on.
        let mut m = k.matcher();
        assert_eq!(m.feed(b"\x10"), Fed::Forward(vec![]));
        assert_eq!(m.feed(b"y"), Fed::Forward(b"\x10y".to_vec()));
        // A repeated first key restarts the sequence.
        assert_eq!(m.feed(b"\x10\x10\x11"), Fed::Detach { before: b"\x10".to_vec() });
        assert_eq!(m.feed(b"\x10"), Fed::Forward(vec![]));
        assert_eq!(m.flush(), b"\x10".to_vec());
        // One-key sequences.
        let mut m = DetachKeys::parse("ctrl-a").unwrap().matcher();
        assert_eq!(m.feed(b"ab\x01c"), Fed::Detach { before: b"ab".to_vec() });
        let mut m = DetachKeys::parse("ctrl-x,x").unwrap().matcher();
        assert_eq!(m.feed(b"\x18y\x18\x18x"), Fed::Detach { before: b"\x18y\x18".to_vec() });
    }
}
