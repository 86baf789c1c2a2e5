//! Entry identities: what an entry is for and what it is called.

use std::fmt;

/// What an entry of `.secrets.cfg` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EntryKind {
    /// A partition user's permanent secret (`ppin -a/-u/-r`), in
    /// `primus.users`.
    User,
    /// A CloudHSM service proxy user's password (`ppin -p/-x`), in
    /// `primus.service_proxies`.
    ServiceProxy,
}

impl EntryKind {
    /// Every kind, in file order.
    pub const ALL: [EntryKind; 2] = [EntryKind::User, EntryKind::ServiceProxy];

    /// A stable machine-readable name: `user` or `service_proxy` (the tag
    /// the cipher binds, so it never changes).
    pub fn as_str(self) -> &'static str {
        self.aad_tag()
    }

    /// The group under `primus` that holds entries of this kind.
    pub(crate) fn group_name(self) -> &'static str {
        match self {
            EntryKind::User => "users",
            EntryKind::ServiceProxy => "service_proxies",
        }
    }

    /// Prefix of the setting names given to new entries (`user0`, `proxy3`).
    pub(crate) fn setting_prefix(self) -> &'static str {
        match self {
            EntryKind::User => "user",
            EntryKind::ServiceProxy => "proxy",
        }
    }

    /// The field inside an entry that holds the ciphered value.
    pub(crate) fn value_field(self) -> &'static str {
        match self {
            EntryKind::User => "secret",
            EntryKind::ServiceProxy => "password",
        }
    }

    /// The tag bound into the associated data of each value.
    pub(crate) fn aad_tag(self) -> &'static str {
        match self {
            EntryKind::User => "user",
            EntryKind::ServiceProxy => "service_proxy",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::User => "user",
            EntryKind::ServiceProxy => "service proxy user",
        })
    }
}

/// One entry as [`SecretsStore::list`](crate::SecretsStore::list) shows it;
/// nothing is decrypted to produce it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntrySummary {
    /// What the entry holds.
    pub kind: EntryKind,
    /// The user name the entry belongs to.
    pub name: String,
    /// True when the entry holds a ciphered value.
    pub configured: bool,
}

/// Longest accepted entry name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// Why `name` cannot name an entry, if it cannot.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("the name is longer than 255 bytes")
    } else if name.chars().any(char::is_control) {
        Some("the name contains a control character")
    } else {
        None
    }
}
