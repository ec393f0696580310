//! Recording states: each node's events (one per layer that touched it), the change each
//! made against the layer below, and the reference counts that say which objects the final
//! filesystem still reaches.

use super::stored::Stored;
use super::{Change, Event, Fs, NO_EVENT, NONE, NodeId, Object};
use crate::layer::Kind;

impl Fs {
    /// The node's current state (after the layers applied so far).
    pub(super) fn current(&self, node: NodeId) -> Option<Stored> {
        self.events(node)
            .last()
            .and_then(|e| self.stored(e))
            .copied()
    }

    /// Regular-file bytes at or below `node` in the current state.
    pub(super) fn subtree_bytes(&self, node: NodeId) -> u64 {
        let mut total = 0;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let Some(meta) = self.current(n) else {
                continue;
            };
            match meta.kind() {
                Kind::File if !meta.hardlink() => {
                    total += meta.object().map_or(0, |o| self.objects[o as usize].size);
                }
                Kind::Dir => stack.extend(self.children(n)),
                _ => {}
            }
        }
        total
    }

    /// Removes `node` and everything present below it.
    pub(super) fn remove_subtree(&mut self, node: NodeId, layer: u16) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if self.current(n).is_none() {
                continue;
            }
            stack.extend(self.children(n));
            self.set_state(n, layer, None);
        }
    }

    /// Records the node's new state at `layer`, keeping one event per layer, classifying the
    /// change against the state below the layer, and keeping object reference counts.
    pub(super) fn set_state(&mut self, node: NodeId, layer: u16, new: Option<Stored>) {
        let events = self.events(node);
        let last = events.last().copied();
        let (prev_state, replace) = match last {
            Some(e) if e.layer == layer => {
                let below = events.len().checked_sub(2).map(|i| events[i]);
                (below.map_or(NONE, |b| b.state), true)
            }
            Some(e) => (e.state, false),
            None => (NONE, false),
        };
        let cur_state = last.map_or(NONE, |e| e.state);
        if let Some(obj) = (cur_state != NONE)
            .then(|| self.metas[cur_state as usize].object())
            .flatten()
        {
            let o = &mut self.objects[obj as usize];
            o.refs -= 1;
            if o.refs == 0 {
                o.killed_by = layer;
            }
        }
        if let Some(obj) = new.and_then(|m| m.object()) {
            self.objects[obj as usize].refs += 1;
        }
        // A removal, a symlink or a change of kind can change how paths resolve; a path
        // created where nothing was cannot (no remembered resolution went through it).
        if !self.link_memo.is_empty() {
            let cur_kind = (cur_state != NONE).then(|| self.metas[cur_state as usize].kind());
            let changes_resolution = new.is_none_or(|m| {
                m.kind() == Kind::Symlink || cur_kind.is_some_and(|k| k != m.kind())
            });
            if changes_resolution {
                self.link_memo.clear();
            }
        }
        let prev = (prev_state != NONE).then(|| self.metas[prev_state as usize]);
        let change = match (&prev, &new) {
            (None, None) => None,
            (Some(_), None) => Some(Change::Removed),
            (None, Some(_)) => Some(Change::Added),
            (Some(p), Some(n)) => Some(classify(p, n, &self.objects)),
        };
        let state = match new {
            Some(m) => {
                let i = self.metas.len() as u32;
                self.metas.push(m);
                i
            }
            None => NONE,
        };
        let event = change.map(|change| Event {
            layer,
            change,
            state,
        });
        self.edit_events(node, replace, event);
    }

    /// Drops the node's last event when `replace`, then appends `push`: inline while the node
    /// has at most one event, spilled from its second on.
    fn edit_events(&mut self, node: NodeId, replace: bool, push: Option<Event>) {
        let n = &mut self.nodes[node as usize];
        if n.spill != NONE {
            let events = &mut self.spilled[n.spill as usize];
            if replace {
                events.pop();
            }
            events.extend(push);
            return;
        }
        let kept = n.event.layer != NO_EVENT.layer && !replace;
        match push {
            None if replace => n.event = NO_EVENT,
            None => {}
            Some(e) if !kept => n.event = e,
            Some(e) => {
                n.spill = self.spilled.len() as u32;
                self.spilled.push(smallvec::smallvec![n.event, e]);
            }
        }
    }
}

/// How `new` differs from `prev`, both present.
fn classify(prev: &Stored, new: &Stored, objects: &[Object]) -> Change {
    let kind = new.kind();
    if prev.kind() != kind {
        return Change::Modified;
    }
    let owner_mode = prev.owner_mode_differs(new);
    match kind {
        Kind::File => {
            let (p, n) = (prev.object(), new.object());
            let same_object = p == n;
            let content =
                |o: Option<u32>| o.map(|o| (objects[o as usize].size, objects[o as usize].hash));
            let same_content = same_object || content(p) == content(n);
            if !same_content {
                Change::Modified
            } else if !same_object || owner_mode || prev.mtime() != new.mtime() {
                Change::Metadata
            } else {
                Change::Unchanged
            }
        }
        Kind::Symlink if prev.link() != new.link() => Change::Modified,
        // Directory mtimes move whenever a child changes; only owner and mode count.
        Kind::Dir => {
            if owner_mode {
                Change::Metadata
            } else {
                Change::Unchanged
            }
        }
        _ if owner_mode || prev.mtime() != new.mtime() => Change::Metadata,
        _ => Change::Unchanged,
    }
}
