//! Human spellings of lockout times: `4m12s`, `13:05:09 UTC`.

use std::time::{Duration, SystemTime};

/// Spells `duration` as `1h2m3s`, `4m12s` or `9s`, rounding sub-seconds up so
/// that a lockout is never reported shorter than it is.
pub(crate) fn compact(duration: Duration) -> String {
    let total = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m{seconds:02}s"),
        _ => format!("{hours}h{minutes:02}m{seconds:02}s"),
    }
}

/// Spells `at` as the UTC wall-clock time `HH:MM:SS UTC`, rounded up to the
/// next whole second (the earliest moment it is safe to act).
pub(crate) fn utc_clock(at: SystemTime) -> String {
    let since_epoch = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_epoch.as_secs() + u64::from(since_epoch.subsec_nanos() > 0);
    let of_day = seconds % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_spellings() {
        assert_eq!(compact(Duration::from_secs(252)), "4m12s");
        assert_eq!(compact(Duration::from_secs(300)), "5m00s");
        assert_eq!(compact(Duration::from_millis(8_001)), "9s");
        assert_eq!(compact(Duration::ZERO), "0s");
        assert_eq!(compact(Duration::from_secs(3 * 3600 + 61)), "3h01m01s");
    }

    #[test]
    fn utc_clock_rounds_up() {
        let at =
            SystemTime::UNIX_EPOCH + Duration::from_millis((13 * 3600 + 5 * 60 + 8) * 1000 + 1);
        assert_eq!(utc_clock(at), "13:05:09 UTC");
        assert_eq!(
            utc_clock(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 3)),
            "00:00:00 UTC"
        );
    }
}
