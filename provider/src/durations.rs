//! Duration arguments (`connect_timeout`, `ssh.timeout`, ...): written as
//! Terraform users write them (`"10s"`, `"1m30s"`), checked when the
//! configuration is validated.

use std::time::Duration;

use tfplug::{
    diag::{AttributePath, Diagnostic, Diagnostics},
    validators,
};

/// The validator of a duration attribute.
pub(crate) fn duration_validator() -> impl tfplug::schema::Validator {
    validators::custom(
        "a duration such as \"10s\", \"1m30s\" or \"500ms\"",
        |v| match v.as_str() {
            Some(text) => parse_duration(text).map(drop),
            None => Ok(()),
        },
    )
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!("{text:?} (must be longer than zero)")),
        Err(e) => Err(format!("{text:?} ({e})")),
    }
}

/// The duration in `value`, else `default`; the validator has already
/// checked any configured value, so only a provider bug fails here.
pub(crate) fn duration(
    value: Option<&str>,
    default: &str,
    at: AttributePath,
) -> Result<Duration, Diagnostics> {
    parse_duration(value.unwrap_or(default)).map_err(|e| {
        Diagnostic::error(
            "Invalid Timeout",
            format!("{at} = {e}; use a duration such as \"10s\"."),
        )
        .at(at)
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_zero_is_refused() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("0s")
            .unwrap_err()
            .contains("longer than zero"));
        assert!(parse_duration("soon").unwrap_err().contains("\"soon\""));
    }
}
