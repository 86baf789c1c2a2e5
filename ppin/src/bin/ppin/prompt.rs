//! Password prompts with the vendor's wording.
//!
//! On a terminal the typed password is not echoed (rpassword turns echo off on
//! standard input itself, so no controlling terminal is needed); otherwise one
//! line is read from standard input per prompt, so scripts can pipe passwords.
//! Prompts go to standard error, keeping standard output for the result.

use std::io::{self, BufRead, IsTerminal, Write};

use secrets_cfg::Password;

/// Which password a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    Setup,
    Pkcs11,
    Proxy,
}

/// The vendor's prompt for `asked` of `user`, byte for byte (the proxy prompt
/// has a space before its colon in the vendor's tool too).
pub(crate) fn prompt_text(asked: Asked, user: &str) -> String {
    match asked {
        Asked::Setup => format!("Provide setup password for '{user}': "),
        Asked::Pkcs11 => format!("Provide PKCS11 password for '{user}': "),
        Asked::Proxy => format!("Provide proxy password for '{user}' : "),
    }
}

/// Why no password could be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PromptError {
    #[error("cannot read the {what} for '{user}': {source}")]
    Io {
        what: &'static str,
        user: String,
        source: io::Error,
    },
    #[error(
        "no {what} for '{user}': standard input ended; give it as an argument or on its own line"
    )]
    Eof { what: &'static str, user: String },
}

fn what(asked: Asked) -> &'static str {
    match asked {
        Asked::Setup => "setup password",
        Asked::Pkcs11 => "PKCS11 password",
        Asked::Proxy => "proxy password",
    }
}

/// Takes the next positional password if there is one, otherwise prompts.
pub(crate) fn password(
    given: &mut impl Iterator<Item = Password>,
    asked: Asked,
    user: &str,
) -> Result<Password, PromptError> {
    match given.next() {
        Some(password) => Ok(password),
        None => ask(asked, user),
    }
}

fn ask(asked: Asked, user: &str) -> Result<Password, PromptError> {
    let prompt = prompt_text(asked, user);
    let io_error = |source| PromptError::Io {
        what: what(asked),
        user: user.to_owned(),
        source,
    };
    if io::stdin().is_terminal() {
        restore_terminal_on_interrupt();
        let config = rpassword::ConfigBuilder::new()
            .input_file_path("/dev/stdin")
            .output_writer(io::stderr())
            .build();
        return match rpassword::prompt_password_with_config(prompt, config) {
            Ok(typed) => Ok(Password::new(typed)),
            // Only SIGINT and SIGTERM have handlers, so an interrupted read
            // means the user pressed Ctrl-C (or ppin is being stopped).
            Err(error) if error.kind() == io::ErrorKind::Interrupted => exit_interrupted(),
            Err(error) => Err(io_error(error)),
        };
    }
    let mut stderr = io::stderr();
    stderr
        .write_all(prompt.as_bytes())
        .and_then(|()| stderr.flush())
        .map_err(io_error)?;
    let mut line = String::new();
    let read = io::stdin().lock().read_line(&mut line).map_err(io_error)?;
    if read == 0 {
        return Err(PromptError::Eof {
            what: what(asked),
            user: user.to_owned(),
        });
    }
    // The prompt left the cursor after the colon; end the line as typing would have.
    writeln!(stderr).map_err(io_error)?;
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(Password::new(line))
}

/// Exit status after Ctrl-C or SIGTERM at a prompt (128 + SIGINT, as shells report it).
const INTERRUPTED_EXIT: i32 = 130;

/// The terminal settings from before the first no-echo prompt, put back
/// when a signal ends ppin at a prompt.
static SAVED_TERMINAL: std::sync::OnceLock<rustix::termios::Termios> = std::sync::OnceLock::new();

/// While a no-echo prompt is up, SIGINT or SIGTERM would kill ppin with echo
/// still off, leaving the user's terminal (or the script that ran ppin)
/// blind. So, once per process, a thread waits for those signals, puts back
/// the terminal settings saved now, and exits 130.
fn restore_terminal_on_interrupt() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let Ok(saved) = rustix::termios::tcgetattr(io::stdin()) else {
            return;
        };
        let _ = SAVED_TERMINAL.set(saved);
        let Ok(mut signals) = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ]) else {
            return;
        };
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                exit_interrupted();
            }
        });
    });
}

/// Puts the terminal back and exits 130. Both the signal thread and the
/// prompt call it: the signal also interrupts the prompt's read, and
/// whichever thread runs first must end ppin the same way.
fn exit_interrupted() -> ! {
    // Best effort: exiting 130 matters even if the terminal is gone.
    if let Some(saved) = SAVED_TERMINAL.get() {
        let _ =
            rustix::termios::tcsetattr(io::stdin(), rustix::termios::OptionalActions::Now, saved);
    }
    let _ = io::stderr().write_all(b"\n");
    std::process::exit(INTERRUPTED_EXIT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_wording() {
        assert_eq!(
            prompt_text(Asked::Setup, "U1"),
            "Provide setup password for 'U1': "
        );
        assert_eq!(
            prompt_text(Asked::Pkcs11, "U1"),
            "Provide PKCS11 password for 'U1': "
        );
        assert_eq!(
            prompt_text(Asked::Proxy, "SVC"),
            "Provide proxy password for 'SVC' : "
        );
    }

    #[test]
    fn positional_passwords_are_used_before_prompting() {
        let mut given = vec![Password::new("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3".to_owned())].into_iter();
        let password = password(&mut given, Asked::Setup, "U1").unwrap();
        assert_eq!(password.expose_secret(), "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3");
    }
}
