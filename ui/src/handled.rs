//! What a key or a click did, as panes report it to the router: whether the screen
//! changed, the work it starts, and the dialog it opens. Dialogs answer with their own
//! [`crate::dialogs::Reply`]; this type is for everything else.
use crate::dialogs::Dialog;
use crate::message::Action;

#[derive(Debug, Default, PartialEq)]
pub struct Handled {
    pub redraw: bool,
    pub action: Option<Action>,
    pub open: Option<Dialog>,
}

impl Handled {
    /// Handled; the screen changed.
    pub fn redraw() -> Option<Handled> {
        Some(Handled { redraw: true, ..Handled::default() })
    }
    /// Handled; nothing to redraw.
    pub fn quiet() -> Option<Handled> {
        Some(Handled::default())
    }
    /// Handled by starting `action` (the screen shows its result when it comes).
    pub fn start(action: Action) -> Option<Handled> {
        Some(Handled { action: Some(action), ..Handled::default() })
    }
    /// Handled; the screen changed and `action` starts.
    pub fn redraw_and(action: Action) -> Option<Handled> {
        Some(Handled { redraw: true, action: Some(action), open: None })
    }
    /// Handled by opening a dialog.
    pub fn open(dialog: impl Into<Dialog>) -> Option<Handled> {
        Some(Handled { redraw: true, action: None, open: Some(dialog.into()) })
    }
}
