//! Where each entry is among the model's slots, by kind and name, in
//! shared shards.
//!
//! The readers' view after every commit shares the index with the writer.
//! As one shared map, the first new entry of the next commit copied all of
//! it (a profile of a 1,000-resource apply found that copy in every
//! create); in shards, it copies the one shard the name falls in.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;

use crate::entry::EntryKind;

/// Shards per entry kind.
const SHARDS: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct Index {
    /// `SHARDS` maps per kind, in [`EntryKind::ALL`] order.
    shards: Vec<Arc<HashMap<String, usize>>>,
}

impl Default for Index {
    fn default() -> Self {
        Self {
            shards: vec![Arc::default(); EntryKind::ALL.len() * SHARDS],
        }
    }
}

/// The shard of `(kind, name)`: a fixed hash, so every copy agrees.
fn shard_of(kind: EntryKind, name: &str) -> usize {
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(name);
    first_shard(kind) + (hash % SHARDS as u64) as usize
}

/// Where the shards of `kind` start.
fn first_shard(kind: EntryKind) -> usize {
    EntryKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) * SHARDS
}

impl Index {
    /// The slot of `(kind, name)`.
    pub(crate) fn get(&self, kind: EntryKind, name: &str) -> Option<usize> {
        self.shards[shard_of(kind, name)].get(name).copied()
    }

    pub(crate) fn insert(&mut self, kind: EntryKind, name: &str, slot: usize) {
        let shard = Arc::make_mut(&mut self.shards[shard_of(kind, name)]);
        shard.insert(name.to_owned(), slot);
    }

    /// Removes `(kind, name)`; its slot, if it had one.
    pub(crate) fn remove(&mut self, kind: EntryKind, name: &str) -> Option<usize> {
        let at = shard_of(kind, name);
        // Not copied when the name is absent.
        self.shards[at].get(name)?;
        Arc::make_mut(&mut self.shards[at]).remove(name)
    }

    /// Whether any entry of `kind` is indexed.
    pub(crate) fn has_any(&self, kind: EntryKind) -> bool {
        self.shards[first_shard(kind)..][..SHARDS]
            .iter()
            .any(|shard| !shard.is_empty())
    }

    /// Every slot number, writable (copies every shared shard).
    pub(crate) fn slots_mut(&mut self) -> impl Iterator<Item = &mut usize> {
        self.shards
            .iter_mut()
            .flat_map(|shard| Arc::make_mut(shard).values_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_keeps_its_entries_and_shares_the_shards_not_written() {
        let mut index = Index::default();
        for n in 0..500 {
            index.insert(EntryKind::User, &format!("U{n}"), n);
        }
        index.insert(EntryKind::ServiceProxy, "U1", 1_000);
        let copy = index.clone();
        index.insert(EntryKind::User, "NEW", 500);
        assert_eq!(index.remove(EntryKind::User, "U7"), Some(7));
        assert_eq!(index.remove(EntryKind::User, "ABSENT"), None);
        let shared = (0..index.shards.len())
            .filter(|&i| Arc::ptr_eq(&index.shards[i], &copy.shards[i]))
            .count();
        assert!(
            shared >= index.shards.len() - 2,
            "only {shared} shards shared"
        );
        assert_eq!(copy.get(EntryKind::User, "NEW"), None);
        assert!(index.has_any(EntryKind::ServiceProxy));
        assert_eq!(index.remove(EntryKind::ServiceProxy, "U1"), Some(1_000));
        assert!(!index.has_any(EntryKind::ServiceProxy) && index.has_any(EntryKind::User));
        index.insert(EntryKind::ServiceProxy, "U1", 1_000);
        assert_eq!(copy.get(EntryKind::User, "U7"), Some(7));
        assert_eq!(index.get(EntryKind::User, "NEW"), Some(500));
        assert_eq!(index.get(EntryKind::User, "U7"), None);
        // The same name under another kind is another entry.
        assert_eq!(index.get(EntryKind::ServiceProxy, "U1"), Some(1_000));
        assert_eq!(index.get(EntryKind::User, "U1"), Some(1));
        index.slots_mut().for_each(|slot| *slot += 1);
        assert_eq!(index.get(EntryKind::User, "U1"), Some(2));
        assert_eq!(copy.get(EntryKind::User, "U1"), Some(1));
    }
}
