//! The vendor's setup-password format (`XXXXX-XXXXX-XXXXX-XXXXX-XXXXX` of
//! `[A-Z0-9]`): clients check it before connecting so that a typo costs no
//! trial at the HSM, and the simulator checks the passwords it is configured with.

use std::fmt;

use primus_core::Password;

/// Groups in a setup password.
const GROUPS: usize = 5;
/// Characters in each group.
const GROUP_LEN: usize = 5;
/// Total length: five groups of five joined by four dashes.
const LEN: usize = GROUPS * GROUP_LEN + GROUPS - 1;

/// What is wrong with a setup password's format. Never quotes the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupPasswordProblem {
    /// The password does not have the 29 characters of the format.
    Length {
        /// How many characters it has.
        found: usize,
    },
    /// A group (1-based) holds a character outside `A-Z0-9`.
    Character {
        /// Which group, counted from 1.
        group: usize,
        /// Whether that character is a lowercase letter (the format is upper case).
        lowercase: bool,
    },
    /// A separator between two groups is not `-`.
    Separator {
        /// After which group, counted from 1.
        after_group: usize,
    },
}

impl fmt::Display for SetupPasswordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupPasswordProblem::Length { found } => {
                write!(f, "it has {found} characters instead of {LEN}")
            }
            SetupPasswordProblem::Character {
                group,
                lowercase: true,
            } => {
                write!(
                    f,
                    "group {group} has a lowercase letter (setup passwords are upper case)"
                )
            }
            SetupPasswordProblem::Character {
                group,
                lowercase: false,
            } => {
                write!(f, "group {group} has a character other than A-Z and 0-9")
            }
            SetupPasswordProblem::Separator { after_group } => {
                write!(f, "group {after_group} is not followed by '-'")
            }
        }
    }
}

/// Checks that `password` has the setup password's format: five groups of five
/// characters `A-Z0-9` joined by `-` (`XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`).
pub fn check_setup_password(password: &Password) -> Result<(), SetupPasswordProblem> {
    // Walks the characters in place: no copy of the password is made.
    let text = password.expose_secret();
    let found = text.chars().count();
    if found != LEN {
        return Err(SetupPasswordProblem::Length { found });
    }
    for (index, c) in text.chars().enumerate() {
        let group = index / (GROUP_LEN + 1) + 1;
        if index % (GROUP_LEN + 1) == GROUP_LEN {
            if c != '-' {
                return Err(SetupPasswordProblem::Separator { after_group: group });
            }
        } else if !(c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(SetupPasswordProblem::Character {
                group,
                lowercase: c.is_ascii_lowercase(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;

    fn check(text: &str) -> Result<(), SetupPasswordProblem> {
        check_setup_password(&Password::new(text.to_owned()))
    }

    #[test]
    fn vendor_example_is_accepted() {
        assert_eq!(check("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3"), Ok(()));
        assert_eq!(check("00000-ZZZZZ-A1B2C-99999-AAAAA"), Ok(()));
    }

    #[test]
    fn each_kind_of_typo_is_named() {
        assert_eq!(
            check("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L"),
            Err(SetupPasswordProblem::Length { found: 28 })
        );
        assert_eq!(check(""), Err(SetupPasswordProblem::Length { found: 0 }));
        assert_eq!(
            check("FXAJX-XWVQ3-dC0O5-3SLQF-LJ9L3"),
            Err(SetupPasswordProblem::Character {
                group: 3,
                lowercase: true
            })
        );
        assert_eq!(
            check("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L!"),
            Err(SetupPasswordProblem::Character {
                group: 5,
                lowercase: false
            })
        );
        assert_eq!(
            check("FXAJX-XWVQ3_DC0O5-3SLQF-LJ9L3"),
            Err(SetupPasswordProblem::Separator { after_group: 2 })
        );
        // Multi-byte characters count as one character each, and are refused.
        assert_eq!(
            check("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9LÄ"),
            Err(SetupPasswordProblem::Character {
                group: 5,
                lowercase: false
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn every_well_formed_password_is_accepted(text in "[A-Z0-9]{5}(-[A-Z0-9]{5}){4}") {
            proptest::prop_assert_eq!(check(&text), Ok(()));
        }

        #[test]
        fn one_wrong_character_is_refused(
            text in "[A-Z0-9]{5}(-[A-Z0-9]{5}){4}",
            index in 0usize..29,
            wrong in "[^A-Z0-9-]",
        ) {
            let mut chars: Vec<char> = text.chars().collect();
            chars[index] = wrong.chars().next().unwrap_or('?');
            let broken: String = chars.into_iter().collect();
            proptest::prop_assert!(check(&broken).is_err());
        }
    }

    #[test]
    fn messages_never_quote_the_password() {
        let text = SetupPasswordProblem::Character {
            group: 3,
            lowercase: true,
        }
        .to_string();
        assert_eq!(
            text,
            "group 3 has a lowercase letter (setup passwords are upper case)"
        );
        assert!(!check("ABCDE-ABCDE-ABCDE-ABCDE-ABCD?")
            .unwrap_err()
            .to_string()
            .contains("ABCD"));
    }
}
