//! A `primus.cfg` of another host and the files it `@include`s, all read
//! there: parsing never looks at this machine's disk, where the same paths
//! may hold other files or none.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{ConfigError, PrimusConfig};

/// How many included files are fetched at most: far more than a real
/// `primus.cfg` has, and a bound on the round trips a looping one costs.
const MAX_INCLUDED_FILES: usize = 32;

/// The text of a host's `primus.cfg` and of each file it includes.
#[derive(Debug, Clone)]
pub(crate) struct HostConfigFiles {
    text: Vec<u8>,
    /// Each included file by its path on the host; `None`: no such file there.
    included: BTreeMap<PathBuf, Option<Vec<u8>>>,
}

impl HostConfigFiles {
    /// `text`, the `primus.cfg` at `path` on a host, with every file it
    /// includes read there by `read` (`None`: no such file), one at a time
    /// as the parse reaches it. A text without `@include` reads nothing.
    pub(crate) async fn fetch<E, F, Fut>(path: &Path, text: Vec<u8>, read: F) -> Result<Self, E>
    where
        F: Fn(PathBuf) -> Fut,
        Fut: Future<Output = Result<Option<Vec<u8>>, E>>,
    {
        let mut files = HostConfigFiles {
            text,
            included: BTreeMap::new(),
        };
        while files.included.len() < MAX_INCLUDED_FILES {
            let Some(next) = files.first_unread(path) else {
                break;
            };
            let content = read(next.clone()).await?;
            files.included.insert(next, content);
        }
        Ok(files)
    }

    /// The configuration these files hold, as the file at `path` on the host.
    pub(crate) fn parse(&self, path: &Path) -> Result<PrimusConfig, ConfigError> {
        PrimusConfig::parse_with_includes(&self.text, path, &|included| self.read(included))
    }

    /// The first included file the parse reaches that was not read yet.
    fn first_unread(&self, path: &Path) -> Option<PathBuf> {
        let unread = Mutex::new(None);
        let _ = PrimusConfig::parse_with_includes(&self.text, path, &|included| {
            self.read(included).inspect_err(|_| {
                if !self.included.contains_key(included) {
                    *unread.lock().unwrap_or_else(|p| p.into_inner()) = Some(included.to_owned());
                }
            })
        });
        unread.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, included: &Path) -> io::Result<Vec<u8>> {
        match self.included.get(included) {
            Some(Some(text)) => Ok(text.clone()),
            Some(None) => Err(io::ErrorKind::NotFound.into()),
            None => Err(io::Error::other(format!(
                "more than {MAX_INCLUDED_FILES} included files"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMUS_CFG: &str = "primus: { hsms: {\n@include \"hsm0.cfg\"\n}; };\n";
    const HSM0: &str = "hsm0: { host = \"a\"; port = 1; slots: {\n@include \"slots.cfg\"\n}; };\n";
    const SLOTS: &str = "s: { user_name = \"ONE\"; id = 0; };\n";

    fn host_file(path: PathBuf) -> impl Future<Output = Result<Option<Vec<u8>>, ()>> {
        let text = match path.to_str() {
            Some("/host/etc/hsm0.cfg") => Some(HSM0),
            Some("/host/etc/slots.cfg") => Some(SLOTS),
            _ => None,
        };
        std::future::ready(Ok(text.map(|t| t.as_bytes().to_vec())))
    }

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn nested_includes_are_read_from_the_host_one_by_one() {
        let path = Path::new("/host/etc/primus.cfg");
        let reads = Mutex::new(Vec::new());
        let files = block_on(HostConfigFiles::fetch(path, PRIMUS_CFG.into(), |p| {
            reads.lock().unwrap().push(p.clone());
            host_file(p)
        }))
        .unwrap();
        assert_eq!(
            *reads.lock().unwrap(),
            [
                PathBuf::from("/host/etc/hsm0.cfg"),
                PathBuf::from("/host/etc/slots.cfg")
            ]
        );
        assert!(files.parse(path).unwrap().user("ONE").is_some());
    }

    #[test]
    fn a_text_without_includes_reads_nothing_and_a_missing_include_is_named() {
        let path = Path::new("/host/etc/primus.cfg");
        let plain = "primus: { hsms: {\n@include \"gone.cfg\"\n}; };\n";
        let files = block_on(HostConfigFiles::fetch(path, plain.into(), host_file)).unwrap();
        let error = files.parse(path).unwrap_err().to_string();
        assert!(error.contains("/host/etc/gone.cfg"), "{error}");

        let files = block_on(HostConfigFiles::fetch(path, SLOTS.into(), |_| async {
            Err::<Option<Vec<u8>>, _>("read")
        }));
        assert!(files.is_ok());
    }

    #[test]
    fn a_file_including_itself_stops_at_the_nesting_bound() {
        let path = Path::new("/host/etc/primus.cfg");
        let looping = "@include \"primus.cfg\"\n";
        let files = block_on(HostConfigFiles::fetch(path, looping.into(), |_| {
            std::future::ready(Ok::<_, ()>(Some(looping.as_bytes().to_vec())))
        }))
        .unwrap();
        let error = files.parse(path).unwrap_err().to_string();
        assert!(error.contains("deeper than"), "{error}");
    }
}
