//! The full check behind `secrets-cfg check`: every entry opened, every
//! failure named, nothing written.

use super::*;

/// What [`SecretsStore::check`] found in a file that parsed and whose key
/// opened it.
#[derive(Debug)]
#[non_exhaustive]
pub struct CheckReport {
    /// Every entry in the file (decrypted to check, never returned).
    pub entries: Vec<EntrySummary>,
    /// Each entry whose value does not open, in file order.
    pub failures: Vec<EntryFailure>,
}

/// An entry of a checked file whose value does not open.
#[derive(Debug)]
#[non_exhaustive]
pub struct EntryFailure {
    /// The entry's kind.
    pub kind: EntryKind,
    /// The entry's name.
    pub name: String,
    /// Why: [`Error::Tampered`], [`Error::MalformedValue`] or
    /// [`Error::UnknownScheme`] (never the value).
    pub error: Error,
}

impl CheckReport {
    /// True when every entry opened.
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Shared {
    /// The work of [`SecretsStore::check`].
    pub(super) fn check(&self) -> Result<CheckReport> {
        let model = self.read_model()?;
        let key = self.choose_key(&model, false)?;
        let cipher = Cipher::new(&key.key);
        let failures = model
            .entries()
            .filter_map(|e| {
                let error = open_entry(&self.path, &cipher, &model, e.kind, &e.name).err()?;
                Some(EntryFailure {
                    kind: e.kind,
                    name: e.name.clone(),
                    error,
                })
            })
            .collect();
        Ok(CheckReport {
            entries: model.summaries(),
            failures,
        })
    }
}
