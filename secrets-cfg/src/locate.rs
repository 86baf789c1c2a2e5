//! Finding the secrets file the way the vendor's tools do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the secrets file.
pub const SECRETS_CFG_ENV: &str = "SECUROSYS_SECRETS_CONF";

/// The vendor's default locations, in lookup order.
pub const SECRETS_CFG_DEFAULT_PATHS: [&str; 2] = [
    "/etc/primus/.secrets.cfg",
    "/usr/local/primus/etc/.secrets.cfg",
];

/// The secrets file to use, in the vendor's order (never fails: a missing
/// file is reported by the read, with vendor code 0x80005004): `explicit` if given;
/// else `$SECUROSYS_SECRETS_CONF` if set and non-empty; else the first of
/// `/etc/primus/.secrets.cfg` and `/usr/local/primus/etc/.secrets.cfg` that
/// exists; else `/etc/primus/.secrets.cfg` (where the first write creates it).
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    locate_with(explicit, std::env::var_os(SECRETS_CFG_ENV), |p| p.exists())
}

fn locate_with(
    explicit: Option<&Path>,
    env: Option<OsString>,
    exists: impl Fn(&Path) -> bool,
) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    if let Some(path) = env.filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    SECRETS_CFG_DEFAULT_PATHS
        .iter()
        .map(Path::new)
        .find(|p| exists(p))
        .unwrap_or(Path::new(SECRETS_CFG_DEFAULT_PATHS[0]))
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_lookup_order() {
        let none = |_: &Path| false;
        let only_usr = |p: &Path| p == Path::new(SECRETS_CFG_DEFAULT_PATHS[1]);
        let both = |_: &Path| true;
        let env = || Some(OsString::from("/env/.secrets.cfg"));
        assert_eq!(
            locate_with(Some(Path::new("/x")), env(), both),
            Path::new("/x")
        );
        assert_eq!(
            locate_with(None, env(), both),
            Path::new("/env/.secrets.cfg")
        );
        assert_eq!(
            locate_with(None, Some(OsString::new()), only_usr),
            Path::new(SECRETS_CFG_DEFAULT_PATHS[1])
        );
        assert_eq!(
            locate_with(None, None, both),
            Path::new(SECRETS_CFG_DEFAULT_PATHS[0])
        );
        assert_eq!(
            locate_with(None, None, none),
            Path::new(SECRETS_CFG_DEFAULT_PATHS[0])
        );
    }
}
