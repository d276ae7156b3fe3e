//! The layer cache's key policy, as a pure function.
//!
//! A step's result is reused when everything it depends on is the same as when it was
//! made: the parent it was built on, the step after expansion (for RUN: argv, env, user,
//! workdir, mounts, network; for COPY/ADD: sources, destination, flags, where it reads),
//! the image config it leaves (metadata steps), the build args it used, and for COPY/ADD
//! the content hash of the files it copies ([`super::context::content_hash`]). Changing
//! one file in the context therefore misses from the first step that copies it on, and
//! everything after it misses too because its parent changed.
use sha2::{Digest as _, Sha256};

use super::config::RunConfig;
use super::plan::Step;

/// What a step's cache key is made of.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheInput<'a> {
    /// The id of what the step builds on (image id or previous step's key; `""` for scratch).
    pub parent: &'a str,
    pub step: &'a Step,
    /// The stage's config after the step.
    pub config: &'a RunConfig,
    /// For COPY/ADD: the content hash of the copied files (or of the `--from` stage's).
    pub content: Option<&'a str>,
}

/// The key: `sha256:<hex>` over a length-prefixed encoding of every input, so no two
/// different inputs can collide by concatenation.
pub(crate) fn cache_key(input: &CacheInput<'_>) -> String {
    let mut h = Sha256::new();
    let mut field = |tag: &str, value: &str| {
        for s in [tag, value] {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    };
    field("version", "berth-build-cache-1");
    field("parent", input.parent);
    // The typed, expanded step: every flag and argument the executor acts on.
    field("step", &serde_json::to_string(&input.step.kind).unwrap_or_default());
    field("created_by", &input.step.created_by);
    for (k, v) in &input.step.args {
        field("arg", &format!("{k}={v}"));
    }
    field("config", &serde_json::to_string(input.config).unwrap_or_default());
    if let Some(c) = input.content {
        field("content", c);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::super::dockerfile::parse;
    use super::super::plan::{BuildOptions, Platform, StageState, plan};
    use super::*;

    /// The keys of every step of the (single-stage) Dockerfile, chained as the executor
    /// would chain them, with `content` for COPY steps.
    fn keys(text: &str, args: &[(&str, &str)], content: &str) -> Vec<String> {
        let df = parse(text).unwrap();
        let o = BuildOptions {
            build_args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            target: None,
            platform: Platform { os: "linux".into(), arch: "amd64".into(), variant: None },
        };
        let p = plan(&df, &o).unwrap();
        let (mut st, _) = StageState::new(&p, 0, RunConfig::default()).unwrap();
        let mut parent = "sha256:base".to_string();
        let mut out = Vec::new();
        for ins in &p.stages[0].instructions {
            let step = st.step(ins).unwrap();
            let is_copy = matches!(step.kind, super::super::plan::StepKind::Copy(_));
            let key = cache_key(&CacheInput { parent: &parent, step: &step, config: &st.config, content: is_copy.then_some(content) });
            parent = key.clone();
            out.push(key);
        }
        out
    }

    const FILE: &str = "FROM base\nARG V=1\nENV A=a\nRUN echo $V\nCOPY . /app\nRUN make\nLABEL x=$V\n";

    #[test]
    fn same_inputs_same_keys() {
        assert_eq!(keys(FILE, &[], "sha256:c1"), keys(FILE, &[], "sha256:c1"));
    }

    #[test]
    fn a_changed_file_misses_from_the_copy_on() {
        let a = keys(FILE, &[], "sha256:c1");
        let b = keys(FILE, &[], "sha256:c2");
        assert_eq!(a[..3], b[..3]);
        assert!(a[3..].iter().zip(&b[3..]).all(|(x, y)| x != y));
    }

    #[test]
    fn a_changed_build_arg_misses_where_it_is_used() {
        let a = keys(FILE, &[], "sha256:c1");
        let b = keys(FILE, &[("V", "2")], "sha256:c1");
        assert_eq!(a[..2], b[..2], "ARG and ENV do not read V");
        assert_ne!(a[2], b[2], "RUN has V in its environment");
        let unused = keys(FILE, &[("OTHER", "x")], "sha256:c1");
        assert_eq!(a, unused, "an undeclared arg changes nothing");
    }

    #[test]
    fn a_changed_instruction_or_parent_misses() {
        let a = keys(FILE, &[], "sha256:c1");
        let b = keys(&FILE.replace("RUN make", "RUN make all"), &[], "sha256:c1");
        assert_eq!(a[..4], b[..4]);
        assert_ne!(a[4], b[4]);
        let c = keys(&FILE.replace("ENV A=a", "ENV A=b"), &[], "sha256:c1");
        assert_eq!(a[..1], c[..1]);
        assert!(a[1..].iter().zip(&c[1..]).all(|(x, y)| x != y), "a config change reaches every later step");
    }
}
