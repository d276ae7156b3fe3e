//! The dashboard's one state store. Background tasks and key handling produce
//! [`Message`]s; [`AppState::update`] applies them and says whether anything visible
//! changed, so the loop redraws only when dirty. Rendering reads this, never does I/O.
use berth_engine::api::{ImageSummary, PruneReport, RemovedImage};

/// Which list has focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Images,
}

impl Pane {
    pub const ALL: [Pane; 1] = [Pane::Images];
    pub fn title(self) -> &'static str {
        match self {
            Pane::Images => "Images",
        }
    }
}

/// A modal on top of everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modal {
    Help,
    /// Confirm removal of the named image.
    ConfirmRemove {
        image: String,
        label: String,
    },
    /// A dismissable error.
    Error(String),
    /// A dismissable report of a finished action.
    Info(String),
}

/// Everything that can change the state.
#[derive(Debug)]
pub enum Message {
    Images(Result<Vec<ImageSummary>, String>),
    Removed(Result<Vec<RemovedImage>, String>),
    Pruned(Result<PruneReport, String>),
    Tick { now: i64 },
}

#[derive(Clone, Debug)]
pub struct AppState {
    /// Backend description shown in the header.
    pub backend: String,
    pub focus: Pane,
    pub images: Vec<ImageSummary>,
    pub images_loaded: bool,
    pub selected: usize,
    pub filter: String,
    pub filtering: bool,
    pub modal: Option<Modal>,
    /// Unix seconds used for "3 minutes ago"; set by ticks so renders are pure.
    pub now: i64,
    pub quit: bool,
}

impl AppState {
    pub fn new(backend: String, now: i64) -> Self {
        Self {
            backend,
            focus: Pane::Images,
            images: vec![],
            images_loaded: false,
            selected: 0,
            filter: String::new(),
            filtering: false,
            modal: None,
            now,
            quit: false,
        }
    }

    /// Images after the `/` filter (on names and ID).
    pub fn visible_images(&self) -> Vec<&ImageSummary> {
        let f = self.filter.to_lowercase();
        self.images
            .iter()
            .filter(|i| f.is_empty() || i.id.contains(&f) || i.repo_tags.iter().any(|t| t.to_lowercase().contains(&f)))
            .collect()
    }

    pub fn selected_image(&self) -> Option<&ImageSummary> {
        self.visible_images().get(self.selected).copied()
    }

    pub fn move_selection(&mut self, delta: isize) {
        let n = self.visible_images().len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        self.selected = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    pub fn select_last(&mut self) {
        self.selected = self.visible_images().len().saturating_sub(1);
    }

    /// Apply a message; true when the screen must be redrawn.
    pub fn update(&mut self, msg: Message) -> bool {
        match msg {
            Message::Images(Ok(list)) => {
                let keep = self.selected_image().map(|i| i.id.clone());
                let changed = !self.images_loaded || list != self.images;
                self.images = list;
                self.images_loaded = true;
                if let Some(id) = keep
                    && let Some(pos) = self.visible_images().iter().position(|i| i.id == id)
                {
                    self.selected = pos;
                }
                self.move_selection(0);
                changed
            }
            Message::Images(Err(e)) | Message::Removed(Err(e)) | Message::Pruned(Err(e)) => {
                self.modal = Some(Modal::Error(e));
                true
            }
            Message::Removed(Ok(items)) => {
                let lines: Vec<String> = items
                    .iter()
                    .map(|r| match r {
                        RemovedImage::Untagged(t) => format!("Untagged: {t}"),
                        RemovedImage::Deleted(d) => format!("Deleted: {d}"),
                    })
                    .collect();
                self.modal = Some(Modal::Info(lines.join("\n")));
                true
            }
            Message::Pruned(Ok(r)) => {
                self.modal = Some(Modal::Info(format!(
                    "Pruned {} image(s)",
                    r.removed.iter().filter(|x| matches!(x, RemovedImage::Deleted(_))).count()
                )));
                true
            }
            Message::Tick { now } => {
                // Ages shown in minutes change at most once a minute: redraw only then.
                let dirty = now / 60 != self.now / 60;
                self.now = now;
                dirty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(id: &str, tag: &str) -> ImageSummary {
        ImageSummary { id: format!("sha256:{id}"), repo_tags: vec![tag.into()], repo_digests: vec![], created: 0, size: 1, containers: 0 }
    }

    #[test]
    fn selection_follows_the_image_across_refreshes() {
        let mut s = AppState::new("local".into(), 0);
        assert!(s.update(Message::Images(Ok(vec![img("a", "alpine:1"), img("b", "busybox:1")]))));
        s.move_selection(1);
        assert_eq!(s.selected_image().unwrap().id, "sha256:b");
        assert!(s.update(Message::Images(Ok(vec![img("c", "c:1"), img("a", "alpine:1"), img("b", "busybox:1")]))));
        assert_eq!(s.selected_image().unwrap().id, "sha256:b");
        // Same list again: nothing to redraw.
        assert!(!s.update(Message::Images(Ok(vec![img("c", "c:1"), img("a", "alpine:1"), img("b", "busybox:1")]))));
        s.filter = "alp".into();
        s.move_selection(0);
        assert_eq!(s.visible_images().len(), 1);
        assert_eq!(s.selected_image().unwrap().id, "sha256:a");
    }

    #[test]
    fn errors_become_a_modal() {
        let mut s = AppState::new("local".into(), 0);
        assert!(s.update(Message::Images(Err("boom".into()))));
        assert_eq!(s.modal, Some(Modal::Error("boom".into())));
    }
}
