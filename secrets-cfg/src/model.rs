//! The secrets file as entries: parsed strictly from libconfig, rendered
//! back canonically with every unknown setting kept.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::entry::{name_problem, EntryKind, EntrySummary};
use crate::error::{Error, Result};
use primus_core::libconfig::{self, Group, Value};

mod index;
mod slots;
use index::Index;
use slots::{Changes, Slots};

/// The only file version this crate reads and writes.
pub(crate) const FILE_VERSION: &str = "1.0";
const ROOT: &str = "primus";
const KEY_CHECK: &str = "key_check";
const NAME: &str = "name";

/// One entry: its identity, its ciphered value, and whatever else its
/// group held (kept verbatim).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) kind: EntryKind,
    pub(crate) name: String,
    /// The setting name in the file (`user0`); `None` until first written.
    setting: Option<String>,
    /// The sealed value (`v1:...`), if configured.
    pub(crate) value: Option<String>,
    /// Unknown fields of the entry, in file order.
    extra: Group,
    /// The entry's canonical text, cached by `Model::render` until it changes.
    text: Option<String>,
}

/// Nesting depth of an entry's setting: `primus` > group > entry.
const ENTRY_INDENT: usize = 2;
/// The setting that stands in for the entries while the rest of the
/// document is written (a valid name, so the writer takes it).
const MARKER: &str = "secrets-cfg-entries";

/// `N` of a setting named `<prefix>N`, the way new entries are named (no
/// sign, no leading zero): `user7` but not `user07`, which is another name.
fn setting_number(setting: &str, prefix: &str) -> Option<usize> {
    let digits = setting.strip_prefix(prefix)?;
    let canonical =
        digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The marker's line as the writer writes it inside an entry group.
fn marker_line() -> String {
    format!("{}{MARKER} = 0;\n", " ".repeat(2 * ENTRY_INDENT))
}

impl Entry {
    /// The text [`Model::render`] cached for the entry (empty before).
    fn cached_text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }

    /// The entry's setting as the canonical writer writes it in its group.
    fn render(&self) -> Result<String, libconfig::WriteError> {
        let mut fields = Group::new();
        fields.insert(NAME, Value::String(self.name.clone()));
        if let Some(value) = &self.value {
            fields.insert(self.kind.value_field(), Value::String(value.clone()));
        }
        for extra in self.extra.iter() {
            fields.insert(extra.name.clone(), extra.value.clone());
        }
        let mut wrapper = Group::new();
        wrapper.insert(
            self.setting.clone().unwrap_or_default(),
            Value::Group(fields),
        );
        libconfig::write_at(&wrapper, ENTRY_INDENT)
    }
}

/// An undoable change, so a failed edit in a group commit leaves no trace.
#[derive(Debug)]
pub(crate) enum Undo {
    /// Slot `index` held this entry before.
    Restore(usize, Option<Arc<Entry>>),
    /// An entry was appended.
    Pop,
}

/// The whole file. Entries are held apart from the document; the document
/// keeps everything else (including empty placeholders for the entry
/// groups, so they are written back where they were).
#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    doc: Group,
    /// Entries in file order; `None` marks a removed one. Shared in chunks,
    /// so a copy of the model (the readers' view after each commit) copies a
    /// few pointers, not entries; a chunk and an entry are copied when one
    /// side changes them.
    slots: Slots,
    /// Shared with copies in shards, as the entries are in chunks.
    index: Index,
    pub(crate) key_check: Option<String>,
    /// The text the last [`render`](Model::render) made, so the next one
    /// copies what did not change in long stretches.
    last_render: Option<Arc<LastRender>>,
}

/// A rendered text and where each slot's entry is in it.
#[derive(Debug)]
struct LastRender {
    text: Arc<Vec<u8>>,
    /// The text of the rest of the document; a render whose skeleton
    /// differs (a new key check, a new group) starts from scratch.
    skeleton: String,
    /// By slot index: the entry's bytes in `text` (empty for a removed
    /// slot).
    spans: Vec<Range<usize>>,
    /// Where each entry group ends in `text`: new entries go there.
    group_ends: Vec<(EntryKind, usize)>,
}

fn format_error(path: &Path, problem: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        problem,
    }
}

/// Line and column (from 1) of byte `offset` in `bytes`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // `before[line_start..]` is valid UTF-8: the first invalid byte is at `offset`.
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

impl Model {
    /// A model for a file that does not exist yet.
    pub(crate) fn empty() -> Self {
        let mut doc = Group::new();
        doc.insert("version", Value::String(FILE_VERSION.to_owned()));
        Self {
            doc,
            ..Self::default()
        }
    }

    /// Parses and checks the file's bytes: UTF-8, libconfig, version, shape,
    /// unique names. Decrypts nothing.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_column(bytes, e.valid_up_to());
            Error::NotUtf8 {
                path: path.to_path_buf(),
                line,
                column,
            }
        })?;
        let mut doc = libconfig::parse(text).map_err(|source| Error::Syntax {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        match doc.get("version") {
            Some(Value::String(v)) if v == FILE_VERSION => {}
            Some(Value::String(v)) => {
                return Err(format_error(
                    path,
                    format!("file version {v:?} is not supported (expected \"{FILE_VERSION}\")"),
                ))
            }
            Some(other) => {
                return Err(format_error(
                    path,
                    format!("`version` is a {}, expected a string", other.type_name()),
                ))
            }
            None => return Err(format_error(path, "`version` is missing".to_owned())),
        }
        let mut model = Self::default();
        if let Some(root) = doc.get_mut(ROOT) {
            let root = root
                .as_group_mut()
                .ok_or_else(|| format_error(path, format!("`{ROOT}` is not a group")))?;
            match root.remove(KEY_CHECK) {
                Some(Value::String(check)) => model.key_check = Some(check),
                Some(other) => {
                    return Err(format_error(
                        path,
                        format!(
                            "`{ROOT}.{KEY_CHECK}` is a {}, expected a string",
                            other.type_name()
                        ),
                    ))
                }
                None => {}
            }
            for kind in EntryKind::ALL {
                model.take_entries(path, root, kind)?;
            }
        }
        if model.key_check.is_none() && model.slots.iter().flatten().any(|e| e.value.is_some()) {
            return Err(format_error(
                path,
                format!("ciphered entries but no `{ROOT}.{KEY_CHECK}`"),
            ));
        }
        model.doc = doc;
        Ok(model)
    }

    /// Moves the entries of `kind` out of `root` into the model, leaving an
    /// empty group in their place.
    fn take_entries(&mut self, path: &Path, root: &mut Group, kind: EntryKind) -> Result<()> {
        let group_name = kind.group_name();
        let Some(group) = root.get_mut(group_name) else {
            return Ok(());
        };
        let where_ = |setting: &str| format!("`{ROOT}.{group_name}.{setting}`");
        let group = group
            .as_group_mut()
            .ok_or_else(|| format_error(path, format!("`{ROOT}.{group_name}` is not a group")))?;
        for setting in std::mem::take(group).iter() {
            let Value::Group(fields) = &setting.value else {
                return Err(format_error(
                    path,
                    format!("{} is not a group", where_(&setting.name)),
                ));
            };
            let mut extra = fields.clone();
            let name = match extra.remove(NAME) {
                Some(Value::String(name)) => name,
                _ => {
                    return Err(format_error(
                        path,
                        format!("{} has no string `{NAME}`", where_(&setting.name)),
                    ))
                }
            };
            if let Some(problem) = name_problem(&name) {
                return Err(format_error(
                    path,
                    format!("{}: {problem}", where_(&setting.name)),
                ));
            }
            let value = match extra.remove(kind.value_field()) {
                Some(Value::String(v)) => Some(v),
                Some(other) => {
                    return Err(format_error(
                        path,
                        format!(
                            "{}.{} is a {}, expected a string",
                            where_(&setting.name),
                            kind.value_field(),
                            other.type_name()
                        ),
                    ))
                }
                None => None,
            };
            if self.index.get(kind, &name).is_some() {
                return Err(Error::DuplicateEntry {
                    path: path.to_path_buf(),
                    kind,
                    name,
                });
            }
            self.index.insert(kind, &name, self.slots.len());
            self.slots.push(Entry {
                kind,
                name,
                setting: Some(setting.name.clone()),
                value,
                extra,
                text: None,
            });
        }
        Ok(())
    }

    /// Live entries in file order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten().map(|e| &**e)
    }

    pub(crate) fn summaries(&self) -> Vec<EntrySummary> {
        self.entries()
            .map(|e| EntrySummary {
                kind: e.kind,
                name: e.name.clone(),
                configured: e.value.is_some(),
            })
            .collect()
    }

    pub(crate) fn get(&self, kind: EntryKind, name: &str) -> Option<&Entry> {
        let index = self.index.get(kind, name)?;
        self.slots.get(index)
    }

    /// Sets the sealed value of `(kind, name)`, creating the entry if needed.
    pub(crate) fn put(&mut self, kind: EntryKind, name: &str, sealed: String) -> Undo {
        match self.index.get(kind, name) {
            Some(index) => {
                let previous = self.slots.slot(index);
                if let Some(entry) = self.slots.entry_mut(index) {
                    entry.value = Some(sealed);
                    entry.text = None;
                }
                Undo::Restore(index, previous)
            }
            None => {
                self.index.insert(kind, name, self.slots.len());
                self.slots.push(Entry {
                    kind,
                    name: name.to_owned(),
                    setting: None,
                    value: Some(sealed),
                    extra: Group::new(),
                    text: None,
                });
                Undo::Pop
            }
        }
    }

    /// Removes `(kind, name)`; `None` if there was no such entry.
    pub(crate) fn remove(&mut self, kind: EntryKind, name: &str) -> Option<Undo> {
        let index = self.index.remove(kind, name)?;
        Some(Undo::Restore(index, self.slots.slot_mut(index)?.take()))
    }

    /// Reverts one change; apply a transaction's undo log in reverse.
    pub(crate) fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Restore(index, previous) => {
                if let Some(entry) = self.slots.get(index) {
                    self.index.remove(entry.kind, &entry.name);
                }
                if let Some(entry) = &previous {
                    self.index.insert(entry.kind, &entry.name, index);
                }
                if let Some(slot) = self.slots.slot_mut(index) {
                    *slot = previous;
                }
            }
            Undo::Pop => {
                if let Some(Some(entry)) = self.slots.pop() {
                    self.index.remove(entry.kind, &entry.name);
                }
            }
        }
    }

    /// Replaces every sealed value (and the key check) through `reseal`;
    /// used by key rotation.
    pub(crate) fn reseal_all(
        &mut self,
        mut reseal: impl FnMut(Option<&Entry>, &str) -> Result<String>,
    ) -> Result<()> {
        if let Some(check) = &self.key_check {
            self.key_check = Some(reseal(None, check)?);
        }
        for entry in self.slots.iter_mut().flatten() {
            if let Some(value) = &entry.value {
                let fresh = reseal(Some(entry), value)?;
                let entry = Arc::make_mut(entry);
                entry.value = Some(fresh);
                entry.text = None;
            }
        }
        Ok(())
    }

    /// Renders the canonical file text, naming new entries `user<N>` /
    /// `proxy<N>` with the lowest free `N`. `size_hint`: the likely length
    /// (the current file's).
    ///
    /// The text is what `libconfig::write` makes of the whole document, built
    /// faster: each entry's text is cached until the entry changes, and
    /// spliced into the text of the rest of the document where a marker
    /// setting stands in for the entries. When no entry came or went since
    /// the last render, that render's text is copied in long stretches
    /// around the entries that changed: with 10,000 entries, gathering every
    /// entry's text again took as long as a quarter of the fsync.
    pub(crate) fn render(&mut self, path: &Path, size_hint: usize) -> Result<Arc<Vec<u8>>> {
        // Put back only on success: after a failure the next render starts from scratch.
        let last = self.last_render.take();
        self.compact();
        let (skeleton, spots) = self.skeleton(path)?;
        let changes = self.slots.take_changes();
        // New entries are among these: they have no text yet.
        let stale = match &changes {
            Changes::Restructured => self.positions_where(|e| e.text.is_none()),
            Changes::Slots(changed) => {
                let mut stale: Vec<usize> = changed
                    .iter()
                    .copied()
                    .filter(|&index| self.slots.get(index).is_some_and(|e| e.text.is_none()))
                    .collect();
                // In slot order, once each: new entries are numbered in that order.
                stale.sort_unstable();
                stale.dedup();
                stale
            }
        };
        self.name_new_entries(&stale);
        self.render_entries(&stale)
            .map_err(|e| format_error(path, format!("cannot be written: {e}")))?;
        // Naming and caching texts wrote to slots already counted in `changes`.
        self.slots.take_changes();
        let spliced = match (changes, last) {
            (Changes::Slots(changed), Some(last)) if last.skeleton == skeleton => {
                self.splice(&last, changed)
            }
            _ => None,
        };
        let rendered = spliced.unwrap_or_else(|| self.gather(&skeleton, &spots, size_hint));
        let text = Arc::clone(&rendered.text);
        self.last_render = Some(Arc::new(LastRender {
            skeleton,
            ..rendered
        }));
        Ok(text)
    }

    /// The document's text without its entries, and where each entry group
    /// goes in it: the marker's offset and the kind of the group's entries,
    /// in document order.
    fn skeleton(&self, path: &Path) -> Result<(String, Vec<(usize, EntryKind)>)> {
        let mut doc = self.doc.clone();
        if doc.get(ROOT).is_none() {
            doc.insert(ROOT, Value::Group(Group::new()));
        }
        // `parse` checked that `primus` is a group, and `empty` has none.
        let Some(Value::Group(root)) = doc.get_mut(ROOT) else {
            return Err(format_error(path, format!("`{ROOT}` is not a group")));
        };
        if let Some(check) = &self.key_check {
            root.insert(KEY_CHECK, Value::String(check.clone()));
        }
        for kind in EntryKind::ALL {
            if self.index.has_any(kind) || root.get(kind.group_name()).is_some() {
                let mut placeholder = Group::new();
                placeholder.insert(MARKER, Value::Int(0));
                root.insert(kind.group_name(), Value::Group(placeholder));
            }
        }
        // The entry groups in document order, which is the markers' order.
        let kinds: Vec<EntryKind> = root
            .iter()
            .filter_map(|s| {
                EntryKind::ALL
                    .into_iter()
                    .find(|k| k.group_name() == s.name)
            })
            .collect();
        let skeleton = libconfig::write(&doc)
            .map_err(|e| format_error(path, format!("cannot be written: {e}")))?;
        let spots: Vec<usize> = skeleton
            .match_indices(&marker_line())
            .map(|(at, _)| at)
            .collect();
        if spots.len() != kinds.len() {
            return Err(format_error(
                path,
                format!("the setting name `{MARKER}` is reserved; rename that setting"),
            ));
        }
        Ok((skeleton, spots.into_iter().zip(kinds).collect()))
    }

    /// The whole text from the skeleton and every entry's cached text.
    fn gather(&self, skeleton: &str, spots: &[(usize, EntryKind)], size_hint: usize) -> LastRender {
        let mut out = Vec::with_capacity(size_hint + size_hint / 8);
        let mut spans = vec![0..0; self.slots.len()];
        let mut group_ends = Vec::with_capacity(spots.len());
        let mut done = 0;
        for &(spot, kind) in spots {
            out.extend_from_slice(&skeleton.as_bytes()[done..spot]);
            for (index, slot) in self.slots.iter().enumerate() {
                if let Some(entry) = slot.as_deref().filter(|e| e.kind == kind) {
                    let start = out.len();
                    out.extend_from_slice(entry.cached_text().as_bytes());
                    spans[index] = start..out.len();
                }
            }
            group_ends.push((kind, out.len()));
            done = spot + marker_line().len();
        }
        out.extend_from_slice(&skeleton.as_bytes()[done..]);
        LastRender {
            text: Arc::new(out),
            skeleton: String::new(),
            spans,
            group_ends,
        }
    }

    /// `last`'s text with the entries of the `changed` slots replaced by
    /// their current text, and the entries added since (slots `last` has no
    /// span for) inserted at the end of their group; every other entry is
    /// where `last` had it, shifted by the change in length before it.
    ///
    /// `None` if the recorded positions do not fit `last`'s text or have no
    /// place for a new entry, which would be a bug here: the caller then gathers, rather than panic in
    /// the middle of a commit.
    fn splice(&self, last: &LastRender, changed: Vec<usize>) -> Option<LastRender> {
        // Where each changed slot's text is in `last`, or goes if it is new
        // (the end of its group), in text order, once each.
        let old_span = |index: usize| match last.spans.get(index) {
            Some(span) => Some(span.clone()),
            None => {
                let kind = self.slots.get(index)?.kind;
                let &(_, end) = last.group_ends.iter().find(|(k, _)| *k == kind)?;
                Some(end..end)
            }
        };
        let mut changed: Vec<(Range<usize>, usize)> = changed
            .into_iter()
            .map(|index| Some((old_span(index)?, index)))
            .collect::<Option<_>>()?;
        changed.sort_unstable_by_key(|(old, index)| (old.start, *index));
        changed.dedup();
        let mut out = Vec::with_capacity(last.text.len() + 256 * changed.len());
        let mut fresh = Vec::with_capacity(changed.len());
        // (old end of a changed entry, how much longer the text is from there on), in text order.
        let mut growth: Vec<(usize, isize)> = Vec::with_capacity(changed.len());
        let mut copied = 0;
        for (old, index) in changed {
            out.extend_from_slice(last.text.get(copied..old.start)?);
            let start = out.len();
            let text = self.slots.get(index).map_or("", Entry::cached_text);
            out.extend_from_slice(text.as_bytes());
            fresh.push((index, start..out.len()));
            growth.push((old.end, out.len() as isize - old.end as isize));
            copied = old.end;
        }
        out.extend_from_slice(last.text.get(copied..)?);
        // How far what was at `at` moved: the growth of every change that ended
        // there or before (so a group's end moves past the entries added at it).
        let moved = |at: usize| {
            let before = growth.partition_point(|&(end, _)| end <= at);
            before.checked_sub(1).map_or(0, |i| growth[i].1)
        };
        let mut spans = last.spans.clone();
        let mut group_ends = last.group_ends.clone();
        if growth.iter().any(|&(_, by)| by != 0) {
            for span in &mut spans {
                // By where it starts: an entry ends where new ones of its group go.
                let by = moved(span.start);
                *span = span.start.saturating_add_signed(by)..span.end.saturating_add_signed(by);
            }
            for (_, end) in &mut group_ends {
                *end = end.saturating_add_signed(moved(*end));
            }
        }
        spans.resize(self.slots.len(), 0..0);
        for (index, span) in fresh {
            spans[index] = span;
        }
        Some(LastRender {
            text: Arc::new(out),
            skeleton: String::new(),
            spans,
            group_ends,
        })
    }

    /// Caches the text of the entries at `positions`. Only those are
    /// written to: the others stay shared with the readers' view.
    fn render_entries(&mut self, positions: &[usize]) -> Result<(), libconfig::WriteError> {
        for &index in positions {
            if let Some(entry) = self.slots.entry_mut(index) {
                entry.text = Some(entry.render()?);
            }
        }
        Ok(())
    }

    /// The positions of the live entries that `pick` picks.
    fn positions_where(&self, pick: impl Fn(&Entry) -> bool) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.as_deref().is_some_and(&pick))
            .map(|(index, _)| index)
            .collect()
    }

    /// Gives each entry at `candidates` (in slot order) that has none a
    /// setting name, `user<N>` / `proxy<N>` with the lowest `N` not taken in
    /// its group.
    fn name_new_entries(&mut self, candidates: &[usize]) {
        for kind in EntryKind::ALL {
            let unnamed: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| {
                    self.slots
                        .get(i)
                        .is_some_and(|e| e.kind == kind && e.setting.is_none())
                })
                .collect();
            if unnamed.is_empty() {
                continue;
            }
            let prefix = kind.setting_prefix();
            // The lowest free numbers are below this: fewer entries than it hold one.
            let limit = self.slots.len() + unnamed.len();
            // Numbers, not a set of names: a commit that adds an entry must not hash every name.
            let mut used = vec![false; limit];
            for entry in self.entries().filter(|e| e.kind == kind) {
                let number = entry
                    .setting
                    .as_deref()
                    .and_then(|s| setting_number(s, prefix));
                if let Some(n) = number.filter(|&n| n < limit) {
                    used[n] = true;
                }
            }
            let mut free = (0..limit).filter(|&n| !used[n]);
            let names: Vec<Option<String>> = unnamed
                .iter()
                .map(|_| free.next().map(|n| format!("{prefix}{n}")))
                .collect();
            for (index, name) in unnamed.into_iter().zip(names) {
                if let Some(entry) = self.slots.entry_mut(index) {
                    entry.setting = name;
                }
            }
        }
    }

    /// Drops removed slots so the model does not grow with churn.
    fn compact(&mut self) {
        if self.slots.iter().all(Option::is_some) {
            return;
        }
        // New positions by old one, so the index is renumbered without copying its names.
        let mut moved_to = Vec::with_capacity(self.slots.len());
        let mut next = 0;
        for slot in self.slots.iter() {
            moved_to.push(next);
            next += usize::from(slot.is_some());
        }
        self.slots.retain_live();
        for position in self.index.slots_mut() {
            *position = moved_to[*position];
        }
    }
}

#[cfg(test)]
mod tests;
