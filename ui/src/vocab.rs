//! Names the router, the hit map and the panes all use, kept apart so none of them has to
//! import another for a type: which list is in view, and which container column sorts.

/// Which list has focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Containers,
    Images,
    Volumes,
    Networks,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Containers, Pane::Images, Pane::Volumes, Pane::Networks];
    pub fn title(self) -> &'static str {
        match self {
            Pane::Containers => "Containers",
            Pane::Images => "Images",
            Pane::Volumes => "Volumes",
            Pane::Networks => "Networks",
        }
    }
    /// The next (or previous) list, round them all.
    pub fn cycle(self, back: bool) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        let n = Pane::ALL.len();
        Pane::ALL[if back { (i + n - 1) % n } else { (i + 1) % n }]
    }
}

/// Container list columns that can be sorted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Image,
    State,
    Status,
    Cpu,
    Mem,
    Net,
}

impl SortKey {
    pub const ALL: [SortKey; 7] =
        [SortKey::Name, SortKey::Image, SortKey::State, SortKey::Status, SortKey::Cpu, SortKey::Mem, SortKey::Net];
    pub fn title(self) -> &'static str {
        match self {
            SortKey::Name => "NAME",
            SortKey::Image => "IMAGE",
            SortKey::State => "STATE",
            SortKey::Status => "STATUS",
            SortKey::Cpu => "CPU%",
            SortKey::Mem => "MEM",
            SortKey::Net => "NET rx/tx",
        }
    }
    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
}
