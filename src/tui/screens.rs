//! The two screens as the runtime drives them: each state with its drawing. Here, and not in
//! the states' modules, so that a state never depends on how it is drawn (the views read the
//! states, not the other way round).

use ratatui::Frame;
use ratatui::crossterm::event::MouseEvent;
use ratatui::layout::Rect;

use super::compare::State;
use super::compare_view;
use super::explorer::{self, App};
use super::keymap::Key;
use super::runtime::{Effect, Screen, WorkerEvent};

impl Screen for App {
    fn key(&mut self, key: Key) -> Vec<Effect> {
        App::key(self, key)
    }

    fn mouse(&mut self, event: MouseEvent) -> Vec<Effect> {
        App::mouse(self, event);
        Vec::new()
    }

    fn resize(&mut self, area: Rect) {
        App::resize(self, area);
    }

    fn render(&self, frame: &mut Frame) {
        explorer::draw(frame, self);
    }

    fn worker(&mut self, event: WorkerEvent) {
        App::worker(self, event);
    }

    fn done(&self) -> bool {
        self.quit()
    }
}

/// The compare screen takes no mouse and starts no worker.
impl Screen for State {
    fn key(&mut self, key: Key) -> Vec<Effect> {
        State::key(self, key)
    }

    fn resize(&mut self, area: Rect) {
        State::resize(self, area);
    }

    fn render(&self, frame: &mut Frame) {
        compare_view::draw(frame, self);
    }

    fn done(&self) -> bool {
        self.quit()
    }
}
