//! What every pane reads and none owns: the config (keys, theme), the backend's
//! description and overview, the clock, and the endpoints with the one in view. Panes get
//! it by reference when they handle a key or draw, so none of them reaches into another.
use berth_engine::api::SystemInfo;
use berth_engine::multi::{EndpointState, EndpointStatus};

use crate::config::{Config, Key};

/// The endpoint a qualified ID belongs to ("" for a single backend's plain IDs).
pub fn host_of(id: &str) -> &str {
    berth_engine::multi::split(id).0.unwrap_or("")
}

/// A container or image ID as a user reads it: 12 hex digits, and where it lives.
pub fn id_label(id: &str) -> String {
    let (host, rest) = berth_engine::multi::split(id);
    let short: String = rest.trim_start_matches("sha256:").chars().take(12).collect();
    match host {
        Some(h) => format!("{short} on {h}"),
        None => short,
    }
}

/// Whether `k` is one of `set` (an action's keys in the keymap).
pub fn is(set: &[Key], k: &crossterm::event::KeyEvent) -> bool {
    set.iter().any(|x| x.matches(k))
}

#[derive(Clone, Debug)]
pub struct Ctx {
    pub cfg: Config,
    /// Backend description shown in the header.
    pub backend: String,
    pub info: Option<SystemInfo>,
    /// Unix seconds used for "3 minutes ago"; set by ticks so renders are pure.
    pub now: i64,
    /// Every endpoint when the dashboard shows several (empty for a single backend).
    pub endpoints: Vec<EndpointStatus>,
    /// Show only this endpoint's objects (`:ctx NAME`); None shows all.
    pub endpoint: Option<String>,
}

impl Ctx {
    pub fn new(cfg: Config, backend: String, now: i64) -> Self {
        Ctx { cfg, backend, info: None, now, endpoints: vec![], endpoint: None }
    }

    /// Several endpoints: rows carry a HOST and `:ctx` switches.
    pub fn multi(&self) -> bool {
        self.endpoints.len() > 1
    }

    /// The HOST column is shown: several endpoints, all in view.
    pub fn show_host(&self) -> bool {
        self.multi() && self.endpoint.is_none()
    }

    /// Whether an object (by its qualified ID) belongs to the endpoint in view.
    pub fn in_view(&self, id: &str) -> bool {
        self.endpoint.as_deref().is_none_or(|e| host_of(id) == e)
    }

    /// Endpoints that do not answer, with why.
    pub fn down_endpoints(&self) -> Vec<(&str, &str)> {
        self.endpoints
            .iter()
            .filter_map(|e| match &e.state {
                EndpointState::Down(why) => Some((e.name.as_str(), why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The HOST column's width when it is shown: the longest endpoint name (4..=16).
    pub fn host_width(&self) -> Option<u16> {
        self.show_host().then(|| self.endpoints.iter().map(|e| e.name.chars().count()).max().unwrap_or(4).clamp(4, 16) as u16)
    }

    /// Where unqualified names (a typed pull) go: the endpoint in view, else the first.
    pub fn current_endpoint(&self) -> &str {
        self.endpoint.as_deref().or(self.endpoints.first().map(|e| e.name.as_str())).unwrap_or("")
    }
}
