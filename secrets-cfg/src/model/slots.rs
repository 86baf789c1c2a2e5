//! The model's entries in file order, stored in shared chunks.
//!
//! After every commit the readers' view gets a copy of the model. With one
//! shared pointer per entry, that copy, and dropping the previous one, cost
//! an atomic reference-count change on every entry: at 10,000 entries that
//! was a fifth of a commit's own CPU. With chunks, a copy costs one pointer
//! per `CHUNK` entries, and a change copies the one chunk it touches.

use std::sync::Arc;

use super::Entry;

/// Entries per chunk: small enough that copying one on a change is cheap,
/// large enough that copying the list of chunks is too.
const CHUNK: usize = 64;

/// One position in the file: `None` marks an entry removed since the last
/// [`retain_live`](Slots::retain_live).
pub(crate) type Slot = Option<Arc<Entry>>;

#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    chunks: Vec<Arc<Vec<Slot>>>,
    len: usize,
    changes: Changes,
}

/// What changed since [`Slots::take_changes`], so a render can copy the
/// rest of the previous text as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Changes {
    /// Slots were removed or all rewritten (or nothing was taken yet):
    /// positions in the previous text no longer hold.
    #[default]
    Restructured,
    /// Only these slots were written to or added at the end (possibly
    /// more than once each).
    Slots(Vec<usize>),
}

impl Slots {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }

    /// Every slot, writable: copies every chunk the readers' view shares,
    /// so only for changes to every entry (key rotation).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.changes = Changes::Restructured;
        self.chunks
            .iter_mut()
            .flat_map(|chunk| Arc::make_mut(chunk).iter_mut())
    }

    /// The entry at `index`, if it is live.
    pub(crate) fn get(&self, index: usize) -> Option<&Entry> {
        self.chunks
            .get(index / CHUNK)?
            .get(index % CHUNK)?
            .as_deref()
    }

    /// The slot at `index`, shared (for an undo log).
    pub(crate) fn slot(&self, index: usize) -> Slot {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)?.clone()
    }

    /// The slot at `index`, writable: its chunk is copied if shared.
    pub(crate) fn slot_mut(&mut self, index: usize) -> Option<&mut Slot> {
        if let Changes::Slots(changed) = &mut self.changes {
            changed.push(index);
        }
        Arc::make_mut(self.chunks.get_mut(index / CHUNK)?).get_mut(index % CHUNK)
    }

    /// The entry at `index`, writable: its chunk and the entry are copied
    /// if shared.
    pub(crate) fn entry_mut(&mut self, index: usize) -> Option<&mut Entry> {
        self.slot_mut(index)?.as_mut().map(Arc::make_mut)
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(Some(Arc::new(entry))),
            _ => self.chunks.push(Arc::new(vec![Some(Arc::new(entry))])),
        }
        self.len += 1;
        if let Changes::Slots(changed) = &mut self.changes {
            changed.push(self.len - 1);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Slot> {
        let last = self.chunks.last_mut()?;
        let slot = Arc::make_mut(last).pop();
        if last.is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        self.changes = Changes::Restructured;
        slot
    }

    /// Drops the removed slots, keeping the live ones in order.
    pub(crate) fn retain_live(&mut self) {
        let live: Vec<Slot> = self.iter().filter(|slot| slot.is_some()).cloned().collect();
        self.len = live.len();
        self.chunks = live.chunks(CHUNK).map(|c| Arc::new(c.to_vec())).collect();
        self.changes = Changes::Restructured;
    }

    /// What changed so far, without taking it.
    #[cfg(test)]
    pub(crate) fn changes(&self) -> &Changes {
        &self.changes
    }

    /// What changed since the last call; starts recording anew.
    pub(crate) fn take_changes(&mut self) -> Changes {
        std::mem::replace(&mut self.changes, Changes::Slots(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryKind;

    fn entry(n: usize) -> Entry {
        Entry {
            kind: EntryKind::User,
            name: format!("USER{n}"),
            setting: None,
            value: None,
            extra: Default::default(),
            text: None,
        }
    }

    fn names(slots: &Slots) -> Vec<Option<String>> {
        slots
            .iter()
            .map(|s| s.as_ref().map(|e| e.name.clone()))
            .collect()
    }

    #[test]
    fn a_copy_is_not_changed_by_edits_to_the_original() {
        let mut slots = Slots::default();
        for n in 0..(2 * CHUNK + 3) {
            slots.push(entry(n));
        }
        let copy = slots.clone();
        slots.entry_mut(CHUNK + 1).unwrap().name = "CHANGED".into();
        // Only the chunk edited was copied.
        assert!(Arc::ptr_eq(&copy.chunks[0], &slots.chunks[0]));
        assert!(!Arc::ptr_eq(&copy.chunks[1], &slots.chunks[1]));
        *slots.slot_mut(2).unwrap() = None;
        let last = slots.pop().flatten().unwrap();
        assert_eq!(last.name, format!("USER{}", 2 * CHUNK + 2));
        assert_eq!(copy.len(), 2 * CHUNK + 3);
        assert_eq!(slots.len(), 2 * CHUNK + 2);
        assert_eq!(
            copy.get(CHUNK + 1).unwrap().name,
            format!("USER{}", CHUNK + 1)
        );
        assert_eq!(copy.get(2).unwrap().name, "USER2");
        assert!(copy.get(2 * CHUNK + 2).is_some());
        assert_eq!(slots.get(CHUNK + 1).unwrap().name, "CHANGED");
        assert!(slots.get(2).is_none());
        assert!(slots.get(2 * CHUNK + 2).is_none());
    }

    #[test]
    fn changes_name_the_slots_written_or_added_until_slots_go() {
        let mut slots = Slots::default();
        slots.push(entry(0));
        slots.push(entry(1));
        assert_eq!(slots.take_changes(), Changes::Restructured);
        slots.entry_mut(1).unwrap().value = Some("v1:x".into());
        assert!(slots.get(0).is_some());
        slots.push(entry(2));
        assert_eq!(slots.changes(), &Changes::Slots(vec![1, 2]));
        assert_eq!(slots.take_changes(), Changes::Slots(vec![1, 2]));
        slots.iter_mut().for_each(drop);
        assert_eq!(slots.take_changes(), Changes::Restructured);
        slots.pop();
        assert_eq!(slots.take_changes(), Changes::Restructured);
        slots.retain_live();
        assert_eq!(slots.take_changes(), Changes::Restructured);
        assert_eq!(slots.take_changes(), Changes::Slots(Vec::new()));
    }

    #[test]
    fn retain_live_keeps_order_and_pop_empties_chunks() {
        let mut slots = Slots::default();
        for n in 0..(CHUNK + 2) {
            slots.push(entry(n));
        }
        for index in (0..slots.len()).step_by(2) {
            *slots.slot_mut(index).unwrap() = None;
        }
        slots.retain_live();
        let expected: Vec<_> = (0..(CHUNK + 2))
            .filter(|n| n % 2 == 1)
            .map(|n| Some(format!("USER{n}")))
            .collect();
        assert_eq!(names(&slots), expected);
        assert_eq!(slots.len(), expected.len());
        while slots.pop().is_some() {}
        assert_eq!(slots.len(), 0);
        assert!(slots.chunks.is_empty());
        assert!(slots.get(0).is_none());
    }
}
