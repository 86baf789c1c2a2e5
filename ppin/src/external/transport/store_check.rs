//! The checks made where `.secrets.cfg` lives before a password is typed
//! at the tool: the ones the built-in engine makes in-process, as one
//! `sh` script, so they run the same on this machine and, over the same
//! SSH connection, on a host, as the user the tool runs as.

use primus_ssh::quote;

/// Exit status of the script when a check fails; its stderr says which.
pub(super) const NOT_STORABLE: u32 = 3;

/// The checks, as `sh` commands on the path in `$s`: `.secrets.cfg` is a
/// regular file or absent, its directory exists and is writable by the
/// running user, the file too, and its key file, if there is one beside
/// it, is readable by that user and not open to others (mode 0640 at most).
/// Prints nothing and exits 0 when all hold; else says which on stderr and
/// exits `$not_storable` ([`checks`] sets it to [`NOT_STORABLE`]). It
/// starts no program unless a check fails or a key file is there (`stat`):
/// the host runs it at every first contact.
const CHECKS: &str = r#"case $s in */*) d=${s%/*}; d=${d:-/} ;; *) d=. ;; esac; k="$s.key"
who() { id -un; }
fail() { printf '%s\n' "$*" >&2; exit "$not_storable"; }
[ -d "$d" ] || fail "the directory $d of $s does not exist; create it"
[ -w "$d" ] && [ -x "$d" ] || fail "the directory $d of $s is not writable by $(who), who runs ppin; give $(who) write access to it"
if [ -e "$s" ] || [ -L "$s" ]; then
  [ -f "$s" ] && [ ! -L "$s" ] || fail "$s is not a regular file; move it away"
  [ -r "$s" ] && [ -w "$s" ] || fail "$s is not readable and writable by $(who), who runs ppin"
fi
if [ -e "$k" ]; then
  [ -r "$k" ] || fail "the key $k is not readable by $(who), who runs ppin"
  mode=$(stat -c %a -- "$k")
  case "$mode" in *[1-7]) fail "the key $k is open to other users (mode $mode); chmod 640 it" ;; esac
fi"#;

/// The checks, on the path in `$s`, exiting [`NOT_STORABLE`] when one fails.
pub(super) fn checks() -> String {
    format!("not_storable={NOT_STORABLE}\n{CHECKS}")
}

/// [`checks`] on `secrets_file`.
pub(super) fn script(secrets_file: &str) -> String {
    format!("s={}\n{}\n", quote(secrets_file), checks())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::{Command, Output};

    use super::*;

    fn checked(secrets_file: &Path) -> Output {
        checked_in(secrets_file, Path::new("/"))
    }

    fn checked_in(secrets_file: &Path, cwd: &Path) -> Output {
        Command::new("sh")
            .args(["-c", &script(&secrets_file.to_string_lossy())])
            .current_dir(cwd)
            .output()
            .unwrap()
    }

    /// The check exited [`NOT_STORABLE`], saying `problem`.
    fn assert_refused(output: &Output, problem: &str) {
        assert_eq!(
            output.status.code(),
            Some(i32::try_from(NOT_STORABLE).unwrap())
        );
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains(problem), "{said}");
    }

    #[test]
    fn a_failed_check_exits_not_storable_and_names_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let secrets_file = missing.join(".secrets.cfg");
        assert_refused(
            &checked(&secrets_file),
            &format!(
                "the directory {} of {} does not exist",
                missing.display(),
                secrets_file.display()
            ),
        );
    }

    #[test]
    fn a_bare_file_name_is_checked_in_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(checked_in(Path::new(".secrets.cfg"), dir.path())
            .status
            .success());
    }

    #[test]
    fn a_key_open_to_others_is_named_with_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join(".secrets.cfg.key");
        std::fs::write(&key, "k").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_refused(
            &checked(&dir.path().join(".secrets.cfg")),
            &format!(
                "the key {} is open to other users (mode 644)",
                key.display()
            ),
        );
    }

    #[test]
    fn a_writable_directory_passes_silently() {
        let dir = tempfile::tempdir().unwrap();
        let output = checked(&dir.path().join(".secrets.cfg"));
        assert!(output.status.success());
        assert!(output.stdout.is_empty() && output.stderr.is_empty());
    }
}
