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

impl PasswordPair {
    /// Checks that the configuration sets exactly one of the pair (unknown
    /// counts as set), and `password_wo_version` with the write-only twin.
    pub(crate) fn validate(&self, supplied: &Supplied<'_>, diags: &mut Diagnostics) {
        match (supplied.plain.is_null(), supplied.write_only.is_null()) {
            (true, true) => diags.attribute_error(
                AttributePath::root(self.plain),
                "Missing Password",
                format!(
                    "Set {plain} (kept in the Terraform state as a sensitive value) or, with Terraform 1.11 or later, \
                     {wo} together with {VERSION} (never stored).",
                    plain = self.plain,
                    wo = self.write_only
                ),
            ),
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

    /// The password `config` gives, from the write-only twin or the
    /// sensitive attribute. Validation guarantees one of them is set.
    pub(crate) fn pick<'a>(
        &self,
        write_only: &'a Option<Password>,
        plain: &'a Option<Password>,
    ) -> Result<&'a Password, Diagnostics> {
        write_only.as_ref().or(plain.as_ref()).ok_or_else(|| {
            let mut diags = Diagnostics::new();
            diags.attribute_error(
                AttributePath::root(self.plain),
                "Missing Password",
                format!("Set {} or {}.", self.plain, self.write_only),
            );
            diags
        })
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
    fn exactly_one_of_the_pair_with_a_version_for_write_only() {
        let s = |v: &str| Field::Known(Password::new(v.to_owned()));
        assert_eq!(
            summaries(Field::Null, Field::Null, Field::Null),
            ["Missing Password"]
        );
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
    fn pick_prefers_the_write_only_twin() {
        let plain = Some(Password::new("plain".into()));
        let wo = Some(Password::new("wo".into()));
        assert_eq!(PAIR.pick(&wo, &plain).unwrap().expose_secret(), "wo");
        assert_eq!(PAIR.pick(&None, &plain).unwrap().expose_secret(), "plain");
        assert!(PAIR.pick(&None, &None).is_err());
    }
}
