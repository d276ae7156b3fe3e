//! Dashboard configuration: refresh interval, theme and keymap as data (TOML, unknown keys
//! refused), with defaults in assets/config.toml. A broken file gives one error naming the
//! file and line, never a half-applied config.
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use serde::Deserialize;

/// The defaults shipped with berth.
pub const DEFAULT_CONFIG: &str = include_str!("../../assets/config.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    refresh_ms: Option<u64>,
    /// Show the embedded engine (default true).
    embedded: Option<bool>,
    endpoints: Option<Vec<RawEndpoint>>,
    theme: Option<RawTheme>,
    keys: Option<RawKeys>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    name: String,
    host: Option<String>,
    context: Option<String>,
}

/// A Docker endpoint from the config file (`[[endpoints]] name = "…" host = "…"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    pub name: String,
    /// unix://, tcp://, http(s)://, ssh:// as `-H` takes it; or, when it has no scheme, the
    /// name of a docker context (`context = "…"` in the file) resolved when connecting.
    pub host: String,
}

/// The embedded engine's name in the HOST column and the switcher.
pub const EMBEDDED_NAME: &str = "berth";

/// What `-H` accepts, for a config error now rather than a failed connection later.
pub fn host_scheme_ok(host: &str) -> bool {
    ["unix://", "tcp://", "http://", "https://", "ssh://"].iter().any(|p| host.starts_with(p) && host.len() > p.len())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    accent: Option<String>,
    running: Option<String>,
    exited: Option<String>,
    paused: Option<String>,
    error: Option<String>,
    selected_bg: Option<String>,
    border: Option<String>,
}

macro_rules! keymap {
    ($($field:ident),* $(,)?) => {
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawKeys { $($field: Option<Vec<String>>,)* }

        /// Action → keys.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct KeyMap { $(pub $field: Vec<Key>,)* }

        impl KeyMap {
            fn merge(mut self, raw: RawKeys, path: &Path) -> Result<Self, ConfigError> {
                $(if let Some(v) = raw.$field {
                    self.$field = v.iter().map(|k| Key::parse(k).ok_or_else(|| ConfigError::Parse {
                        path: path.to_path_buf(),
                        message: format!("keys.{}: unknown key {k:?}", stringify!($field)),
                    })).collect::<Result<_, _>>()?;
                })*
                Ok(self)
            }
            fn empty() -> Self {
                KeyMap { $($field: vec![],)* }
            }
            /// (action name, keys) for the help overlay.
            pub fn entries(&self) -> Vec<(&'static str, &[Key])> {
                vec![$((stringify!($field), &self.$field[..]),)*]
            }
        }
    };
}

keymap!(
    quit,
    help,
    command,
    up,
    down,
    top,
    bottom,
    page_up,
    page_down,
    next_pane,
    prev_pane,
    containers_pane,
    images_pane,
    volumes_pane,
    networks_pane,
    next_tab,
    prev_tab,
    detail,
    back,
    filter,
    sort_next,
    sort_reverse,
    toggle_all,
    mark,
    start,
    stop,
    restart,
    kill,
    pause,
    remove,
    rename,
    commit,
    connect,
    disconnect,
    run,
    pull,
    prune,
    history,
    timestamps,
    follow,
    search_next,
    search_prev,
    chart_window,
    refresh,
    terminal_prefix,
    shell,
    attach,
    terminal,
);

/// One key (with modifiers) as written in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub fn parse(s: &str) -> Option<Self> {
        let (ctrl, name) = match s.strip_prefix("ctrl-") {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, s),
        };
        let code = match name {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "delete" => KeyCode::Delete,
            "space" => KeyCode::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
                KeyCode::F(f[1..].parse().ok()?)
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next()?),
            _ => return None,
        };
        Some(Key { code, ctrl })
    }

    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let code = match (ev.code, self.code) {
            // Shifted letters arrive as the upper-case char with SHIFT set.
            (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
            (a, b) => a == b,
        };
        code && ctrl == self.ctrl
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.ctrl { format!("ctrl-{base}") } else { base }
    }
}

/// Resolved colours. With NO_COLOR every colour is `Reset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub accent: Color,
    pub running: Color,
    pub exited: Color,
    pub paused: Color,
    pub error: Color,
    pub selected_bg: Color,
    pub border: Color,
}

impl Theme {
    pub fn monochrome() -> Self {
        Theme {
            accent: Color::Reset,
            running: Color::Reset,
            exited: Color::Reset,
            paused: Color::Reset,
            error: Color::Reset,
            selected_bg: Color::Reset,
            border: Color::Reset,
        }
    }
}

/// The whole dashboard configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub refresh_ms: u64,
    /// The embedded engine is one of the endpoints shown.
    pub embedded: bool,
    /// Docker endpoints shown next to (or instead of) the embedded engine.
    pub endpoints: Vec<EndpointConfig>,
    pub theme: Theme,
    pub keys: KeyMap,
    pub no_color: bool,
}

fn color(s: &str, field: &str, path: &Path) -> Result<Color, ConfigError> {
    s.parse::<Color>().map_err(|_| ConfigError::Parse { path: path.to_path_buf(), message: format!("theme.{field}: unknown colour {s:?}") })
}

impl Config {
    /// The shipped defaults.
    pub fn default_config() -> Self {
        Self::parse(DEFAULT_CONFIG, Path::new("<built-in config>"), None).expect("the built-in config is valid")
    }

    /// Parse `text` over `base` (the defaults when None).
    pub fn parse(text: &str, path: &Path, base: Option<&Config>) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: toml_message(text, &e) })?;
        let mut cfg = match base {
            Some(b) => b.clone(),
            None => Config {
                refresh_ms: 1000,
                embedded: true,
                endpoints: vec![],
                theme: Theme::monochrome(),
                keys: KeyMap::empty(),
                no_color: false,
            },
        };
        if let Some(ms) = raw.refresh_ms {
            if !(100..=60_000).contains(&ms) {
                return Err(ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: format!("refresh_ms must be between 100 and 60000, not {ms}"),
                });
            }
            cfg.refresh_ms = ms;
        }
        let bad = |message: String| ConfigError::Parse { path: path.to_path_buf(), message };
        if let Some(e) = raw.embedded {
            cfg.embedded = e;
        }
        if let Some(list) = raw.endpoints {
            cfg.endpoints.clear();
            for (i, e) in list.into_iter().enumerate() {
                if !berth_engine::multi::valid_name(&e.name) {
                    return Err(bad(format!(
                        "endpoints[{i}].name {:?}: letters, digits and _.+- only, starting with a letter or digit",
                        e.name
                    )));
                }
                if e.name == EMBEDDED_NAME || cfg.endpoints.iter().any(|x| x.name == e.name) {
                    return Err(bad(format!(
                        "endpoints[{i}].name {:?} is used twice (\"{EMBEDDED_NAME}\" is the embedded engine)",
                        e.name
                    )));
                }
                let host = match (e.host, e.context) {
                    (Some(h), None) if host_scheme_ok(&h) => h,
                    (Some(h), None) => {
                        return Err(bad(format!(
                            "endpoints[{i}].host {h:?}: use unix:///path, tcp://HOST:PORT, https://HOST:PORT or ssh://USER@HOST"
                        )));
                    }
                    (None, Some(c)) if berth_engine::multi::valid_name(&c) => c,
                    (None, Some(c)) => return Err(bad(format!("endpoints[{i}].context {c:?} is not a docker context name"))),
                    _ => return Err(bad(format!("endpoints[{i}] ({}): give either host = \"…\" or context = \"…\"", e.name))),
                };
                cfg.endpoints.push(EndpointConfig { name: e.name, host });
            }
        }
        if !cfg.embedded && cfg.endpoints.is_empty() {
            return Err(bad("embedded = false needs at least one [[endpoints]] entry".into()));
        }
        if let Some(t) = raw.theme {
            let set = |dst: &mut Color, v: Option<String>, f: &str| -> Result<(), ConfigError> {
                if let Some(v) = v {
                    *dst = color(&v, f, path)?;
                }
                Ok(())
            };
            set(&mut cfg.theme.accent, t.accent, "accent")?;
            set(&mut cfg.theme.running, t.running, "running")?;
            set(&mut cfg.theme.exited, t.exited, "exited")?;
            set(&mut cfg.theme.paused, t.paused, "paused")?;
            set(&mut cfg.theme.error, t.error, "error")?;
            set(&mut cfg.theme.selected_bg, t.selected_bg, "selected_bg")?;
            set(&mut cfg.theme.border, t.border, "border")?;
        }
        if let Some(k) = raw.keys {
            cfg.keys = cfg.keys.merge(k, path)?;
        }
        Ok(cfg)
    }

    /// `$XDG_CONFIG_HOME/berth/config.toml` (or `~/.config/berth/config.toml`); the
    /// `BERTH_CONFIG_DIR` environment variable overrides the directory.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("BERTH_CONFIG_DIR") {
            return Some(PathBuf::from(d).join("config.toml"));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("berth").join("config.toml"))
    }

    /// Load the user's config over the defaults (a missing file is not an error), and
    /// honour NO_COLOR.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let defaults = Self::default_config();
        let mut cfg = match path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => Self::parse(&text, p, Some(&defaults))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => defaults,
                Err(e) => return Err(ConfigError::Read { path: p.to_path_buf(), source: e }),
            },
            None => defaults,
        };
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            cfg.no_color = true;
            cfg.theme = Theme::monochrome();
        }
        Ok(cfg)
    }
}

/// toml's message with the line number up front, on one line.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let c = Config::default_config();
        assert_eq!(c.refresh_ms, 1000);
        assert_eq!(c.theme.running, Color::Green);
        assert!(c.keys.quit.contains(&Key { code: KeyCode::Char('q'), ctrl: false }));
        assert_eq!(c.keys.terminal_prefix, vec![Key { code: KeyCode::Char('b'), ctrl: true }]);
    }

    #[test]
    fn user_file_overrides_defaults() {
        let base = Config::default_config();
        let c =
            Config::parse("refresh_ms = 2000\n[theme]\naccent = \"#ff8800\"\n[keys]\nquit = [\"x\"]\n", Path::new("u.toml"), Some(&base))
                .unwrap();
        assert_eq!(c.refresh_ms, 2000);
        assert_eq!(c.theme.accent, Color::Rgb(0xff, 0x88, 0));
        assert_eq!(c.keys.quit, vec![Key { code: KeyCode::Char('x'), ctrl: false }]);
        assert_eq!(c.keys.help, base.keys.help);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let base = Config::default_config();
        let cases = [
            ("refresh_ms = 1000\nrefrsh = 3\n", "line 2"),
            ("[theme]\naccent = \"nope\"\n", "theme.accent"),
            ("[keys]\n\nquit = [\"ctrl-\"]\n", "keys.quit"),
            ("refresh_ms = \"fast\"\n", "line 1"),
            ("refresh_ms = 5\n", "between 100 and 60000"),
            ("[keys\n", "line 1"),
            ("[keys]\nstop = [\"x\"]\nstopp = [\"y\"]\n", "line 3"),
            ("[keys]\npause = [\"ctrl-shift-x\"]\n", "keys.pause"),
        ];
        for (text, want) in cases {
            let e = Config::parse(text, Path::new("/x/config.toml"), Some(&base)).unwrap_err().to_string();
            assert!(e.starts_with("/x/config.toml: "), "{e}");
            assert!(e.contains(want), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn endpoints_from_the_config_file() {
        let base = Config::default_config();
        assert!(base.embedded && base.endpoints.is_empty(), "by default only the embedded engine");
        let c = Config::parse(include_str!("../testdata/endpoints-valid.toml"), Path::new("v.toml"), Some(&base)).unwrap();
        assert!(c.embedded);
        let names: Vec<(&str, &str)> = c.endpoints.iter().map(|e| (e.name.as_str(), e.host.as_str())).collect();
        assert_eq!(names, [("local-docker", "unix:///run/docker.sock"), ("build.box-2", "ssh://me@build-box"), ("prod", "prod-ctx")]);
        assert_eq!(c.keys.command, vec![Key { code: KeyCode::Char(';'), ctrl: false }]);
        let c = Config::parse(include_str!("../testdata/endpoints-docker-only.toml"), Path::new("d.toml"), Some(&base)).unwrap();
        assert!(!c.embedded);
        assert_eq!(c.endpoints, vec![EndpointConfig { name: "prod".into(), host: "tcp://10.0.0.2:2375".into() }]);
    }

    #[test]
    fn bad_endpoints_are_one_line_naming_the_entry() {
        let base = Config::default_config();
        let cases = [
            (include_str!("../testdata/endpoints-bad-host.toml"), "endpoints[1].host \"10.0.0.2:2375\""),
            (include_str!("../testdata/endpoints-bad-name.toml"), "endpoints[0].name \"my docker\""),
            (include_str!("../testdata/endpoints-duplicate.toml"), "used twice"),
            (include_str!("../testdata/endpoints-unknown-key.toml"), "line 4"),
            (include_str!("../testdata/endpoints-none.toml"), "needs at least one [[endpoints]]"),
            (include_str!("../testdata/endpoints-host-and-context.toml"), "endpoints[0] (both): give either host"),
        ];
        for (text, want) in cases {
            let e = Config::parse(text, Path::new("/x/config.toml"), Some(&base)).unwrap_err().to_string();
            assert!(e.starts_with("/x/config.toml: ") && e.contains(want), "{text:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn every_action_has_a_key_and_no_key_means_two_things() {
        let c = Config::default_config();
        // The logs search's own keys are read only while a search is applied in the logs
        // tab with the detail focused, before any list key: there they may reuse a list's
        // key (n runs a container elsewhere), but not a key of the detail.
        let search = ["search_next", "search_prev"];
        let detail = ["back", "up", "down", "page_up", "page_down", "top", "bottom", "filter", "timestamps", "follow", "quit"];
        let mut seen = std::collections::HashMap::new();
        let mut in_search = std::collections::HashMap::new();
        for (action, keys) in c.keys.entries() {
            assert!(!keys.is_empty(), "{action} has no key");
            for k in keys {
                let (map, name) = if search.contains(&action) { (&mut in_search, action) } else { (&mut seen, action) };
                if let Some(other) = map.insert(*k, name) {
                    panic!("{} is bound to both {other} and {action}", k.label());
                }
            }
        }
        for (k, action) in &in_search {
            if let Some(other) = seen.get(k).filter(|o| detail.contains(o)) {
                panic!("{} is bound to both {other} and {action}", k.label());
            }
        }
    }
}
