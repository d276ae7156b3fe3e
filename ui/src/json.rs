//! A foldable view of a JSON document (container inspect): the document is flattened into
//! lines on demand, skipping the insides of folded objects and arrays. Folds are kept by
//! JSON pointer, so they survive a refresh of the document.
use std::collections::HashSet;

use serde_json::Value;

/// One display line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonLine {
    pub depth: usize,
    /// Key (or index) and value text, e.g. `"Name": "web",` or `"State": {`.
    pub text: String,
    /// The pointer of an object or array that opens here (foldable).
    pub fold: Option<String>,
    pub folded: bool,
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// Flatten `v` into lines, honouring `folded` pointers.
pub fn lines(v: &Value, folded: &HashSet<String>) -> Vec<JsonLine> {
    let mut out = Vec::new();
    walk(v, None, "", 0, true, folded, &mut out);
    out
}

fn walk(v: &Value, key: Option<&str>, ptr: &str, depth: usize, last: bool, folded: &HashSet<String>, out: &mut Vec<JsonLine>) {
    let prefix = key.map(|k| format!("{}: ", serde_json::to_string(k).unwrap_or_default())).unwrap_or_default();
    let comma = if last { "" } else { "," };
    let (open, close, children): (&str, &str, Vec<(String, &Value)>) = match v {
        Value::Object(m) if !m.is_empty() => ("{", "}", m.iter().map(|(k, v)| (k.clone(), v)).collect()),
        Value::Array(a) if !a.is_empty() => ("[", "]", a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect()),
        _ => {
            out.push(JsonLine { depth, text: format!("{prefix}{}{comma}", scalar(v)), fold: None, folded: false });
            return;
        }
    };
    let is_folded = folded.contains(ptr);
    if is_folded {
        out.push(JsonLine {
            depth,
            text: format!("{prefix}{open} … {} {close}{comma}", children.len()),
            fold: Some(ptr.to_string()),
            folded: true,
        });
        return;
    }
    out.push(JsonLine { depth, text: format!("{prefix}{open}"), fold: Some(ptr.to_string()), folded: false });
    let n = children.len();
    let is_obj = matches!(v, Value::Object(_));
    for (i, (k, c)) in children.into_iter().enumerate() {
        let child_ptr = format!("{ptr}/{}", escape(&k));
        walk(c, if is_obj { Some(&k) } else { None }, &child_ptr, depth + 1, i + 1 == n, folded, out);
    }
    out.push(JsonLine { depth, text: format!("{close}{comma}"), fold: None, folded: false });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_hides_children_and_counts_them() {
        let v = serde_json::json!({"Id": "abc", "State": {"Running": true, "Pid": 7}, "Args": []});
        let open = lines(&v, &HashSet::new());
        let texts: Vec<_> = open.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["{", "\"Id\": \"abc\",", "\"State\": {", "\"Running\": true,", "\"Pid\": 7", "},", "\"Args\": []", "}"]);
        assert_eq!(open[2].fold.as_deref(), Some("/State"));
        let folded: HashSet<String> = ["/State".to_string()].into();
        let l = lines(&v, &folded);
        assert_eq!(l.len(), 5);
        assert_eq!(l[2].text, "\"State\": { … 2 },");
        assert!(l[2].folded);
    }
}
