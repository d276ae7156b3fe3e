//! `--format` templates: the subset of Go's text/template that docker users write —
//! `{{.Field.Sub}}`, `{{json .Field}}`, `{{upper .X}}`, `{{lower .X}}`, `{{index .M "k"}}`,
//! `{{join .List ","}}`, and `\t`/`\n` escapes. Written by hand because the Rust ports of
//! Go templates are unmaintained and we only need field paths over JSON.
use anyhow::{Result, anyhow, bail};
use serde_json::Value;

/// What every `inspect` prints: each object through `--format`, or all as one JSON array.
pub fn print_inspected(found: &[Value], format: Option<&str>) -> Result<()> {
    match format {
        Some(f) => {
            for v in found {
                println!("{}", render(f, v)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(found)?),
    }
    Ok(())
}

/// Render `tpl` against `v` (a JSON object whose keys are docker's field names).
pub fn render(tpl: &str, v: &Value) -> Result<String> {
    let tpl = tpl.replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = tpl.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| anyhow!("template: unclosed action in {tpl:?}"))?;
        let action = after[..end].trim().trim_start_matches('-').trim_end_matches('-').trim();
        out.push_str(&eval(action, v)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup<'a>(path: &str, v: &'a Value) -> Result<&'a Value> {
    if path == "." {
        return Ok(v);
    }
    let p = path.strip_prefix('.').ok_or_else(|| anyhow!("template: bad field {path:?}"))?;
    let mut cur = v;
    for part in p.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v)),
            _ => None,
        }
        .ok_or_else(|| anyhow!("template: can't evaluate field {part} in {path}"))?;
    }
    Ok(cur)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<no value>".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(plain).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!("map[{}]", m.iter().map(|(k, v)| format!("{k}:{}", plain(v))).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

fn args(action: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in action.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn eval(action: &str, v: &Value) -> Result<String> {
    let a = args(action);
    match a.first().map(String::as_str) {
        Some("json") if a.len() == 2 => Ok(serde_json::to_string(lookup(&a[1], v)?)?),
        Some("upper") if a.len() == 2 => Ok(plain(lookup(&a[1], v)?).to_uppercase()),
        Some("lower") if a.len() == 2 => Ok(plain(lookup(&a[1], v)?).to_lowercase()),
        Some("index") if a.len() == 3 => {
            let base = lookup(&a[1], v)?;
            Ok(base.get(&a[2]).map(plain).unwrap_or_else(|| "<no value>".into()))
        }
        Some("join") if a.len() == 3 => match lookup(&a[1], v)? {
            Value::Array(xs) => Ok(xs.iter().map(plain).collect::<Vec<_>>().join(&a[2])),
            other => Ok(plain(other)),
        },
        Some(p) if p.starts_with('.') && a.len() == 1 => Ok(plain(lookup(p, v)?)),
        _ => bail!("template: unsupported action {{{{{action}}}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fields_and_json() {
        let v = serde_json::json!({"Id": "sha256:x", "Config": {"Cmd": ["sh"], "Labels": {"a": "b"}}, "State": {"Pid": 42}});
        assert_eq!(render("{{.Id}}", &v).unwrap(), "sha256:x");
        assert_eq!(render("pid={{.State.Pid}}\\t{{json .Config.Cmd}}", &v).unwrap(), "pid=42\t[\"sh\"]");
        assert_eq!(render("{{index .Config.Labels \"a\"}}", &v).unwrap(), "b");
        assert_eq!(render("{{join .Config.Cmd \",\"}}", &v).unwrap(), "sh");
        assert!(render("{{.Nope}}", &v).is_err());
        assert!(render("{{.Id", &v).is_err());
    }
}
