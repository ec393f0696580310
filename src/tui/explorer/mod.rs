//! The explorer: one image's layers, its wasted paths and its file tree as of a layer, in a
//! terminal. [`App`] is the state (`state.rs`); `update.rs` changes it in answer to keys, the
//! mouse and workers; `layout.rs` places the panes for the terminal's size; [`draw`] reads it
//! and changes nothing. The runtime drives it as a [`super::runtime::Screen`] (`screens.rs`).

mod draw;
mod layout;
mod state;
mod update;

pub use draw::{draw, draw_loading};
pub use layout::{Areas, areas};
pub use state::{App, Content, Exporting, History, HistoryRow, Input, InputKind, Pane, Popup};
