//! `primus.cfg` as a long-running program sees it: read on first use and
//! again whenever the file changed, so a Terraform apply can write the file
//! and then onboard the users it names.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use primus_core::FileStamp;

use super::{ConfigError, HostConfigFiles, PrimusConfig};

/// Where the current [`PrimusConfig`] comes from.
#[derive(Debug)]
pub(crate) enum LiveConfig {
    /// Read once by the caller; the file is never looked at again (the
    /// `ppin` tool, which lives for one command).
    Fixed(Arc<PrimusConfig>),
    /// Located by [`PrimusConfig::locate`] and read on demand.
    Watched {
        /// The explicit path given, if any.
        explicit: Option<PathBuf>,
        /// The last read, with the stamp of the file it came from.
        cached: Mutex<Option<(FileStamp, Arc<PrimusConfig>)>>,
    },
    /// Read on another host by the caller, and again when the caller says
    /// it changed there (this process is what changes it).
    Fetched(Mutex<Fetched>),
}

/// A `primus.cfg` read on another host.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// Its path there.
    path: PathBuf,
    /// Its text and its included files'; `None` when there is no file.
    files: Option<HostConfigFiles>,
    /// The text parsed, once it parsed.
    parsed: Option<Arc<PrimusConfig>>,
}

impl LiveConfig {
    pub(crate) fn watched(explicit: Option<PathBuf>) -> Self {
        LiveConfig::Watched {
            explicit,
            cached: Mutex::new(None),
        }
    }

    /// The `primus.cfg` at `path` on another host, with the `files` read
    /// there (`None`: no file).
    pub(crate) fn fetched(path: PathBuf, files: Option<HostConfigFiles>) -> Self {
        LiveConfig::Fetched(Mutex::new(Fetched {
            path,
            files,
            parsed: None,
        }))
    }

    /// Takes the files read again on the host; does nothing to a file of
    /// this machine, which is watched instead.
    pub(crate) fn refetched(&self, path: PathBuf, files: Option<HostConfigFiles>) {
        if let LiveConfig::Fetched(fetched) = self {
            *fetched.lock().unwrap_or_else(|p| p.into_inner()) = Fetched {
                path,
                files,
                parsed: None,
            };
        }
    }

    /// The configuration now: the cached one while the file keeps the stamp
    /// it had when read (and that stamp has settled, so a same-size rewrite
    /// within one timestamp tick cannot hide), else the file read again.
    pub(crate) fn current(&self) -> Result<Arc<PrimusConfig>, ConfigError> {
        let (explicit, cached) = match self {
            LiveConfig::Fixed(config) => return Ok(Arc::clone(config)),
            LiveConfig::Fetched(fetched) => {
                return fetched.lock().unwrap_or_else(|p| p.into_inner()).parsed()
            }
            LiveConfig::Watched { explicit, cached } => (explicit, cached),
        };
        let path = PrimusConfig::locate(explicit.as_deref());
        let before = SystemTime::now();
        // A file that vanished between here and the read reads as not found there.
        let stamp = std::fs::metadata(&path).ok().map(|m| FileStamp::of(&m));
        // The lock is never held across an await, and a poisoned cache is only a stale one: reload.
        let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(stamp), Some((known, config))) = (&stamp, cached.as_ref()) {
            if stamp == known && known.settled(before) && config.path() == path {
                return Ok(Arc::clone(config));
            }
        }
        let config = Arc::new(PrimusConfig::read(&path)?);
        *cached = stamp.map(|stamp| (stamp, Arc::clone(&config)));
        Ok(config)
    }
}

impl Fetched {
    /// The configuration the text holds; an invalid text is parsed again
    /// at each call, for its error.
    fn parsed(&mut self) -> Result<Arc<PrimusConfig>, ConfigError> {
        if let Some(config) = &self.parsed {
            return Ok(Arc::clone(config));
        }
        let Some(files) = &self.files else {
            return Err(ConfigError::NotFound {
                searched: vec![self.path.clone()],
            });
        };
        let config = Arc::new(files.parse(&self.path)?);
        self.parsed = Some(Arc::clone(&config));
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "primus: { hsms: { hsm0: { host = \"a\"; port = 1; slots: { s: { user_name = \"ONE\"; id = 0; }; }; }; }; };";
    const TWO: &str = "primus: { hsms: { hsm0: { host = \"a\"; port = 1; slots: { s: { user_name = \"TWO\"; id = 0; }; }; }; }; };";

    #[test]
    fn a_rewrite_of_the_same_size_is_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("primus.cfg");
        let live = LiveConfig::watched(Some(path.clone()));
        assert!(matches!(live.current(), Err(ConfigError::NotFound { .. })));
        std::fs::write(&path, ONE).unwrap();
        assert!(live.current().unwrap().user("ONE").is_some());
        // Same size, in place, within the same tick: the settled rule rereads.
        std::fs::write(&path, TWO).unwrap();
        let config = live.current().unwrap();
        assert!(config.user("TWO").is_some());
        assert!(config.user("ONE").is_none());
    }
}
