//! Passwords that come as a sensitive attribute or as its write-only twin
//! (Terraform >= 1.11) plus a `password_wo_version` trigger: the shared
//! validation and selection of both resources.

use secrets_cfg::Password;
use tfplug::{
    diag::{AttributePath, Diagnostics},
    value::Field,
};

/// The name of the version trigger of every write-only password.
pub(crate) const VERSION: &str = "password_wo_version";

/// One password attribute and its write-only twin, e.g. `setup_password`
/// and `setup_password_wo`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PasswordPair {
    /// The sensitive attribute (stored in the state).
    pub(crate) plain: &'static str,
    /// The write-only twin (never stored).
    pub(crate) write_only: &'static str,
}

/// What a configuration gives for one [`PasswordPair`], typed: unknown
/// values (known at apply) count as set.
pub(crate) struct Supplied<'a> {
    /// The sensitive attribute.
    pub(crate) plain: &'a Field<Password>,
    /// The write-only twin.
    pub(crate) write_only: &'a Field<Password>,
    /// `password_wo_version`.
    pub(crate) version: &'a Field<i64>,
}

impl<'a> Supplied<'a> {
    /// Whether the configuration sets the password, either attribute of the
    /// pair (unknown counts as set: it will be known at apply).
    pub(crate) fn is_set(&self) -> bool {
        !self.plain.is_null() || !self.write_only.is_null()
    }
}

impl PasswordPair {
    /// Checks that the configuration sets at most one of the pair, and
    /// `password_wo_version` with the write-only twin. Setting neither is
    /// fine here: a resource whose entry is already stored adopts it.
    pub(crate) fn validate(&self, supplied: &Supplied<'_>, diags: &mut Diagnostics) {
        match (supplied.plain.is_null(), supplied.write_only.is_null()) {
            (false, false) => diags.attribute_error(
                AttributePath::root(self.write_only),
                "Conflicting Attributes",
                format!("Set either {} or {}, not both.", self.plain, self.write_only),
            ),
            (true, false) if supplied.version.is_null() => diags.attribute_error(
                AttributePath::root(VERSION),
                "Missing Version Trigger",
                format!(
                    "{wo} is never stored, so Terraform cannot see it change: set {VERSION} (e.g. 1) with it and \
                     raise it whenever {wo} gets a new value.",
                    wo = self.write_only
                ),
            ),
            _ => {}
        }
    }

    /// Refuses `password_wo_version` when the configuration sets no password
    /// of this pair: the trigger would have nothing to send.
    pub(crate) fn validate_version(&self, supplied: &Supplied<'_>, diags: &mut Diagnostics) {
        if !supplied.version.is_null() && !supplied.is_set() {
            diags.attribute_error(
                AttributePath::root(VERSION),
                "Version Trigger Without Password",
                format!(
                    "{VERSION} rotates with the configured {plain} (or {wo}), and none is set. Remove {VERSION}, or \
                     set the new password with it.",
                    plain = self.plain,
                    wo = self.write_only
                ),
            );
        }
    }

    /// Refuses `self` set without `partner` (or the other way round): both
    /// are sent together, one alone would be stored but never used.
    pub(crate) fn validate_together(
        &self,
        supplied: &Supplied<'_>,
        partner: (&PasswordPair, &Supplied<'_>),
        diags: &mut Diagnostics,
    ) {
        let (other, other_supplied) = partner;
        let (missing, present) = match (supplied.is_set(), other_supplied.is_set()) {
            (true, false) => (other, self),
            (false, true) => (self, other),
            _ => return,
        };
        diags.attribute_error(
            AttributePath::root(missing.plain),
            "Missing Password",
            format!(
                "{present} is sent to the HSM together with {missing} (or {missing_wo}): set both, or neither to \
                 adopt an entry already in .secrets.cfg.",
                present = present.plain,
                missing = missing.plain,
                missing_wo = missing.write_only
            ),
        );
    }

    /// The password a configuration gives, from the write-only twin or the
    /// sensitive attribute; `None` when it sets neither.
    pub(crate) fn pick<'p>(
        &self,
        write_only: &'p Option<Password>,
        plain: &'p Option<Password>,
    ) -> Option<&'p Password> {
        write_only.as_ref().or(plain.as_ref())
    }

    /// The error of an operation that needs this password when the
    /// configuration sets none; `detail` names the user, why the password is
    /// needed and what to do.
    pub(crate) fn missing(&self, detail: String) -> Diagnostics {
        let mut diags = Diagnostics::new();
        diags.attribute_error(AttributePath::root(self.plain), "Missing Password", detail);
        diags
    }

    /// How a configuration sets this password, for error details:
    /// "setup_password (or setup_password_wo with password_wo_version)".
    pub(crate) fn spelled(&self) -> String {
        format!("{} (or {} with {VERSION})", self.plain, self.write_only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIR: PasswordPair = PasswordPair {
        plain: "password",
        write_only: "password_wo",
    };

    fn summaries(
        plain: Field<Password>,
        write_only: Field<Password>,
        version: Field<i64>,
    ) -> Vec<String> {
        let mut diags = Diagnostics::new();
        let supplied = Supplied {
            plain: &plain,
            write_only: &write_only,
            version: &version,
        };
        PAIR.validate(&supplied, &mut diags);
        diags.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn at_most_one_of_the_pair_with_a_version_for_write_only() {
        let s = |v: &str| Field::Known(Password::new(v.to_owned()));
        // Neither: the resource adopts an entry already stored.
        assert!(summaries(Field::Null, Field::Null, Field::Null).is_empty());
        assert_eq!(
            summaries(s("a"), s("b"), Field::Null),
            ["Conflicting Attributes"]
        );
        assert_eq!(
            summaries(Field::Null, s("b"), Field::Null),
            ["Missing Version Trigger"]
        );
        assert!(summaries(Field::Null, s("b"), Field::Known(1)).is_empty());
        assert!(summaries(Field::Unknown, Field::Null, Field::Null).is_empty());
        // An unknown version will be set at apply.
        assert!(summaries(Field::Null, s("b"), Field::Unknown).is_empty());
        // The trigger also rotates with a plain password.
        assert!(summaries(s("a"), Field::Null, Field::Known(2)).is_empty());
    }

    #[test]
    fn a_version_needs_a_password_and_partners_come_together() {
        let set = Field::Known(Password::new("a".to_owned()));
        let (null, version) = (Field::Null, Field::Known(1));
        let none = Supplied {
            plain: &null,
            write_only: &null,
            version: &version,
        };
        let given = Supplied {
            plain: &set,
            write_only: &null,
            version: &version,
        };
        let mut diags = Diagnostics::new();
        PAIR.validate_version(&given, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        PAIR.validate_version(&none, &mut diags);
        let only: Vec<_> = diags.iter().collect();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].summary, "Version Trigger Without Password");
        assert_eq!(only[0].path, Some(AttributePath::root(VERSION)));

        const PARTNER: PasswordPair = PasswordPair {
            plain: "pin",
            write_only: "pin_wo",
        };
        let mut diags = Diagnostics::new();
        PAIR.validate_together(&given, (&PARTNER, &given), &mut diags);
        PAIR.validate_together(&none, (&PARTNER, &none), &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        PAIR.validate_together(&given, (&PARTNER, &none), &mut diags);
        PAIR.validate_together(&none, (&PARTNER, &given), &mut diags);
        let paths: Vec<_> = diags.iter().map(|d| d.path.clone()).collect();
        assert_eq!(
            paths,
            [
                Some(AttributePath::root("pin")),
                Some(AttributePath::root("password"))
            ]
        );
    }

    #[test]
    fn pick_prefers_the_write_only_twin() {
        let plain = Some(Password::new("plain".into()));
        let wo = Some(Password::new("wo".into()));
        assert_eq!(PAIR.pick(&wo, &plain).unwrap().expose_secret(), "wo");
        assert_eq!(PAIR.pick(&None, &plain).unwrap().expose_secret(), "plain");
        assert!(PAIR.pick(&None, &None).is_none());
    }
}
