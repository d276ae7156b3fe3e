//! The template engine against the docker CLI's own answers.
//!
//! `testdata/docker_cases.json` holds what docker CLI 28.2.2 printed (stdout, stderr, exit
//! code) for each template over a container, an image and a volume (`inspect -f`) and over
//! `ps -a`, `images` and `volume ls` (`--format`), and `testdata/*.json` the objects those
//! commands saw. `testdata/capture.py` says how they were made (a private dockerd, the
//! fixture images, three containers and two volumes) and makes them again.
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::*;

fn data(name: &str) -> Value {
    let text = match name {
        "container" => include_str!("testdata/container.json"),
        "image" => include_str!("testdata/image.json"),
        "volume" => include_str!("testdata/volume.json"),
        "ps" => include_str!("testdata/ps.json"),
        "images" => include_str!("testdata/images.json"),
        "volumes" => include_str!("testdata/volumes.json"),
        _ => panic!("no test data {name}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The rows of a list and their labels (`ps.json` and `volumes.json` hold both).
fn rows(v: &Value) -> Vec<(Value, Option<BTreeMap<String, String>>)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| match r.get("fields") {
            Some(f) => (f.clone(), serde_json::from_value(r["labels"].clone()).unwrap()),
            None => (r.clone(), None),
        })
        .collect()
}

fn as_rows(data: &[(Value, Option<BTreeMap<String, String>>)]) -> Vec<Row<'_>> {
    data.iter().map(|(f, l)| Row::new(f, l.as_ref())).collect()
}

/// Cases where berth answers differently (JSON cannot tell what docker's Go types say, or
/// the two runs cannot agree), and why. Each must still differ: a fix shows up as a failure
/// here, and the entry goes.
const DIFFERENT: &[(&str, &str, &str)] = &[
    (
        "container",
        "{{json .}}",
        "docker marshals its own (client 28) struct, which adds fields the 20.10 server did not send; berth prints the JSON it has",
    ),
    ("ps", "json", "docker computes Size only when the format text mentions .Size; the rows here hold it"),
    (
        "container",
        "{{printf \"%v|%+v|%T|%T|%T|%T\" .State.Running .Config.Labels .Config.Env .State.Pid .Name .State}}",
        "%T names docker's Go types ([]string, *container.State); JSON has map[string]interface {} and []interface {}",
    ),
    ("container", "{{$}}", "Go prints the struct's pointers as addresses"),
    (
        "container",
        "{{index .State.Pid 0}}",
        "docker's fallback decodes numbers as json.Number, a string, so it indexes the digits; berth keeps numbers numbers",
    ),
    ("container", "{{len .State.Pid}}", "as above: docker measures the digits of a json.Number"),
];

fn strip_prefix(s: &str) -> &str {
    s.trim_start_matches("template parsing error: ").trim_start_matches("failed to execute template: ")
}

/// docker's stdout and berth's output as compared: `images` lists equal images in no fixed
/// order, so its rows (not its header) are compared sorted.
fn normalise(kind: &str, text: &str) -> String {
    if kind != "images" {
        return text.to_string();
    }
    let mut lines: Vec<&str> = text.lines().collect();
    let head = if lines.first().is_some_and(|l| !l.starts_with('{') && !l.starts_with("testimg")) { 1 } else { 0 };
    lines[head..].sort();
    lines.join("\n")
}

/// berth's answer for one case: Ok(stdout) or Err(the error line).
fn berth(kind: &str, format: &str) -> (Result<String, String>, bool) {
    match kind {
        "container" | "image" | "volume" => {
            let obj = data(kind);
            match Template::parse(format) {
                Err(e) => (Err(e.to_string()), true),
                Ok(t) => (t.execute(&obj).map(|s| s + "\n").map_err(|e| e.to_string()), false),
            }
        }
        _ => {
            let (list, rows_of) = match kind {
                "ps" => (&CONTAINERS, data("ps")),
                "images" => (&IMAGES, data("images")),
                _ => (&VOLUMES, data("volumes")),
            };
            let data = rows(&rows_of);
            let r = format_list(Some(format), list, &as_rows(&data)).map_err(|e| strip_prefix(&e.to_string()).to_string());
            (r, false)
        }
    }
}

#[test]
fn answers_like_the_docker_cli() {
    let cases: Vec<Value> = serde_json::from_str(include_str!("testdata/docker_cases.json")).unwrap();
    assert!(cases.len() >= 100, "expected the recorded cases, found {}", cases.len());
    let mut failures = Vec::new();
    let mut known = 0;
    for c in &cases {
        let kind = c["kind"].as_str().unwrap();
        let format = c["format"].as_str().unwrap();
        let (stdout, stderr, rc) = (c["stdout"].as_str().unwrap(), c["stderr"].as_str().unwrap(), c["rc"].as_i64().unwrap());
        let (got, parse_error) = berth(kind, format);
        if let Some((_, _, why)) = DIFFERENT.iter().find(|(k, f, _)| *k == kind && *f == format) {
            known += 1;
            let ours = match &got {
                Ok(out) => normalise(kind, out),
                Err(e) => e.clone(),
            };
            let theirs = if rc == 0 { normalise(kind, stdout) } else { strip_prefix(stderr).to_string() };
            assert_ne!(ours, theirs, "{kind} {format:?} is listed as different ({why}) but now matches docker");
            continue;
        }
        let verdict = match (&got, rc) {
            (Ok(out), 0) if normalise(kind, out) == normalise(kind, stdout) => None,
            (Err(e), rc) if rc != 0 && strip_prefix(stderr) == strip_prefix(e) => {
                // docker's inspect exits 64 for a template that does not parse, 1 otherwise.
                if matches!(kind, "container" | "image" | "volume") && (rc == 64) != parse_error {
                    Some(format!("exit code {rc} but parse error = {parse_error}"))
                } else {
                    None
                }
            }
            _ => Some(format!("docker (exit {rc}):\n{stdout}{stderr}\nberth:\n{got:?}")),
        };
        if let Some(v) = verdict {
            failures.push(format!("--- {kind} {format:?}\n{v}"));
        }
    }
    assert_eq!(known, DIFFERENT.len(), "every listed difference has a recorded case");
    assert!(failures.is_empty(), "{} of {} templates differ from docker:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn render_json(tpl: &str, v: &Value) -> Result<String, String> {
    Template::parse(tpl).map_err(|e| e.to_string())?.execute(v).map_err(|e| e.to_string())
}

#[test]
fn table_header_and_columns_follow_docker_tabwriter() {
    let fields: Map<String, Value> =
        serde_json::from_value(serde_json::json!({"ID": "abc", "Names": "a-long-container-name", "State": "running"})).unwrap();
    let rows = [Row { fields: &fields, labels: None }];
    let out = format_list(Some("table {{.ID}}\\t{{.Names}}\\t{{.State}}"), &CONTAINERS, &rows).unwrap();
    assert_eq!(out, "CONTAINER ID   NAMES                   STATE\nabc            a-long-container-name   running\n");
    // No rows: the header alone.
    assert_eq!(format_list(Some("table {{.Names}}"), &CONTAINERS, &[]).unwrap(), "NAMES\n");
    // Wide characters count as two columns, as go-runewidth counts them.
    assert_eq!(tabwriter::format("名前\tx\nab\ty\n", 1, 1), "名前 x\nab   y\n");
}

#[test]
fn format_kinds() {
    assert_eq!(format_kind(None), FormatKind::Default);
    assert_eq!(format_kind(Some("table")), FormatKind::Default);
    assert_eq!(format_kind(Some("json")), FormatKind::Json);
    assert_eq!(format_kind(Some("table {{.ID}}")), FormatKind::Table(" {{.ID}}"));
    assert_eq!(format_kind(Some("{{.ID}}")), FormatKind::Template("{{.ID}}"));
    let v = data("ps");
    let d = rows(&v);
    let r = as_rows(&d);
    let json = format_list(Some("json"), &CONTAINERS, &r).unwrap();
    assert_eq!(json, format_list(Some("{{json .}}"), &CONTAINERS, &r).unwrap());
    let first: Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["Names"], "done");
}

#[test]
fn go_semantics_beyond_the_recorded_cases() {
    let v = serde_json::json!({"A": [1, 2.5, "x", null], "M": {"b": 1, "a": 2}, "S": "héllo", "N": null, "X": {"n": null}, "F": 1e21, "G": 0.000001});
    let cases = [
        ("{{.A}}", "[1 2.5 x <nil>]"),
        ("{{.M}}", "map[a:2 b:1]"),
        ("{{json .M}}", r#"{"a":2,"b":1}"#),
        ("{{json .F}} {{json .G}} {{.F}}", "1e+21 0.000001 1e+21"),
        (
            "{{printf \"%5.1f|%-6d|%06.2f|%x|%X|%o|%b|%c|%U\" 3.14159 42 -3.5 \"hi\" 255 8 5 65 65}}",
            "  3.1|42    |-03.50|6869|FF|10|101|A|U+0041",
        ),
        ("{{printf \"%[2]s %[1]s\" \"a\" \"b\"}}", "b a"),
        ("{{printf \"%*d|%.*s\" 4 7 2 \"abc\"}}", "   7|ab"),
        ("{{printf \"%v %+v\" .M .M}}", "map[a:2 b:1] map[a:2 b:1]"),
        ("{{printf \"%q %#q %T %T\" .S \"a\" .A 1.5}}", "\"héllo\" `a` []interface {} float64"),
        // null in a Go map is a nil interface; null in a docker struct is a nil field.
        ("{{.X.n}}|{{print .X.n}}|{{printf \"%v\" .X.n}}|{{.X.none}}", "<no value>|<nil>|<nil>|<no value>"),
        ("{{.N}}|{{len .N}}|{{json .N}}", "[]|0|null"),
        ("{{range $i, $c := split .S \"\"}}{{$i}}{{$c}}{{end}}", "0h1é2l3l4o"),
        ("{{if .N}}y{{else if .S}}s{{else}}n{{end}}", "s"),
        ("{{with .N}}y{{else with .S}}{{.}}{{end}}", "héllo"),
        ("{{range .M}}{{.}}{{end}}", "21"),
        ("{{$x := 1}}{{range .A}}{{$x = 2}}{{end}}{{$x}}", "2"),
        ("{{index .M \"zz\"}}|{{len .S}}|{{slice .S 0 1}}", "<no value>|6|h"),
        ("{{eq .N nil}} {{eq 1 1.0}}", ""),
    ];
    for (tpl, want) in cases {
        let got = render_json(tpl, &v);
        if tpl == "{{eq .N nil}} {{eq 1 1.0}}" {
            assert_eq!(
                got.unwrap_err(),
                "template: :1:16: executing \"\" at <eq 1 1.0>: error calling eq: incompatible types for comparison"
            );
            continue;
        }
        assert_eq!(got.as_deref(), Ok(want), "{tpl}");
    }
}

#[test]
fn errors_name_the_line_and_column() {
    let v = serde_json::json!({"A": {"B": 1}});
    assert_eq!(render_json("x\n  {{.A.C}}", &v).unwrap_err(), "template: :2:6: executing \"\" at <.A.C>: map has no entry for key \"C\"");
    assert_eq!(render_json("{{if .A}}\n{{else}}", &v).unwrap_err(), "template: :2: unexpected EOF");
    assert_eq!(
        render_json("{{define \"t\"}}{{.Q}}{{end}}{{template \"t\" .A}}", &v).unwrap_err(),
        "template: :1:16: executing \"t\" at <.Q>: map has no entry for key \"Q\""
    );
    let deep = format!("{}{}", "{{if 1}}".repeat(150), "{{end}}".repeat(150));
    assert_eq!(render_json(&deep, &v).unwrap_err(), "template: :1: max expression depth exceeded");
    let recursive = "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}";
    assert!(render_json(recursive, &v).unwrap_err().ends_with("exceeded maximum template depth (100)"));
    assert!(render_json("{{range 100000000}}{{end}}", &v).unwrap_err().contains("more than 10000000 iterations"));
}

#[test]
fn deepest_templates_fit_a_small_stack() {
    // The parser allows 100 levels of nesting; run the deepest of each kind, and a template
    // calling itself until the executor's limit, on a thread with a 1 MB stack.
    let worker = std::thread::Builder::new().stack_size(1 << 20);
    let handle = worker
        .spawn(|| {
            let v = serde_json::json!({"A": 1});
            let parens = format!("{{{{{}len \"x\"{}}}}}", "(".repeat(99), ")".repeat(99));
            assert_eq!(render_json(&parens, &v).unwrap(), "1");
            let ifs = format!("{}x{}", "{{if 1}}".repeat(99), "{{end}}".repeat(99));
            assert_eq!(render_json(&ifs, &v).unwrap(), "x");
            let mixed = format!(
                "{{{{define \"r\"}}}}{}{{{{template \"r\" {}.{}}}}}{}{{{{end}}}}{{{{template \"r\" .}}}}",
                "{{with .}}".repeat(20),
                "(".repeat(70),
                ")".repeat(70),
                "{{end}}".repeat(20)
            );
            assert!(render_json(&mixed, &v).unwrap_err().ends_with("exceeded maximum template depth (100)"));
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn inspect_json_is_dockerd_s_layout() {
    let v = serde_json::json!([{"Id": "x", "Config": {"Labels": {"b": "<1>", "a": "2"}, "Env": []}}]);
    let compact = json::encode_value(&v, &json::Options { escape_html: true, indent: None });
    assert_eq!(compact, r#"[{"Id":"x","Config":{"Labels":{"a":"2","b":"\u003c1\u003e"},"Env":[]}}]"#);
    let indented = json::encode_value(&v, &json::Options { escape_html: true, indent: Some("    ") });
    assert!(indented.starts_with("[\n    {\n        \"Id\": \"x\",\n        \"Config\": {\n            \"Labels\": {\n"), "{indented}");
    assert!(indented.contains("\"Env\": []"));
}

mod props {
    use proptest::prelude::*;

    use super::*;

    /// Template text made of the pieces templates are made of, so that most of it parses.
    fn template_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{{".to_string()),
            Just("}}".to_string()),
            Just("{{- ".to_string()),
            Just(" -}}".to_string()),
            Just("{{end}}".to_string()),
            Just("{{else}}".to_string()),
            Just("{{range .A}}".to_string()),
            Just("{{if .M}}".to_string()),
            Just("{{with $x := .S}}".to_string()),
            Just("{{break}}".to_string()),
            Just("{{define \"t\"}}".to_string()),
            Just("{{template \"t\" .}}".to_string()),
            Just("{{block \"b\" .}}".to_string()),
            Just("{{/* c */}}".to_string()),
            prop::sample::select(vec![
                ".A",
                ".M",
                ".S",
                ".N",
                ".M.a",
                ".",
                "$",
                "$x",
                "(",
                ")",
                "|",
                "\"s\"",
                "`r`",
                "'c'",
                "1",
                "-2.5",
                "0x1F",
                "1e3",
                "nil",
                "true",
                "printf",
                "\"%d %s %v\"",
                "index",
                "slice",
                "len",
                "eq",
                "lt",
                "and",
                "or",
                "not",
                "json",
                "split",
                "join",
                "upper",
                "title",
                "pad",
                "truncate",
                "print",
                "println",
                "html",
                "js",
                "urlquery",
                "call",
                " ",
            ])
            .prop_map(String::from),
            "[ -~\\n\\t]{0,4}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_and_errors_are_one_line(text in template_text()) {
            let v = serde_json::json!({"A": [1, "two", {"k": null}], "M": {"a": "x", "b": 2}, "S": "s", "N": null});
            let fields: Map<String, Value> = serde_json::from_value(serde_json::json!({"Names": "n", "State": "running"})).unwrap();
            let row = Row { fields: &fields, labels: None };
            match Template::parse(&text) {
                Err(e) => prop_assert!(!e.to_string().contains('\n'), "{e}"),
                Ok(t) => {
                    if let Err(e) = t.execute(&v) {
                        prop_assert!(e.to_string().starts_with("template: ") && !e.to_string().contains('\n'), "{e}");
                    }
                    let _ = t.execute_row(row, &CONTAINERS);
                    let _ = t.header(&CONTAINERS);
                }
            }
            if let Err(e) = format_list(Some(&text), &VOLUMES, &[row]) {
                prop_assert!(e.to_string().starts_with("template parsing error: template: "), "{e}");
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
            let v = serde_json::json!({"A": [1], "S": "s"});
            if let Ok(t) = Template::parse(&text) {
                let _ = t.execute(&v);
            }
        }

        #[test]
        fn printf_never_panics(format in "[%#0+\\- .*\\[\\]0-9a-zA-Z]{0,12}", n in any::<i64>(), f in any::<f64>(), s in "\\PC{0,5}") {
            let args = [V::new(Val::Int(n)), V::new(Val::Float(f)), V::new(Val::Str(s.into()))];
            let _ = fmt::sprintf(&format, &args);
        }
    }
}
