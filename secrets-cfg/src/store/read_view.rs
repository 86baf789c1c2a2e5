//! The read side's cache: `list` and `get` reuse the last parse while
//! the file's stamp (or bytes) are unchanged.

use super::*;

/// A parsed file (not authenticated: reads decrypt lazily) and the version
/// on disk it came from.
pub(super) struct View {
    /// `None`: the stamp is unknown (the file changed while being read), so
    /// only the bytes can confirm a match.
    stamp: Option<FileStamp>,
    /// Whether `stamp` alone proves the content unchanged (see
    /// [`FileStamp::settled`]); if not, the bytes are read and compared, which
    /// still saves the parse.
    settled: bool,
    bytes: Arc<Vec<u8>>,
    model: Arc<Model>,
}

impl Shared {
    /// The parsed file, read without the lock: the rename in every write
    /// makes any read see one whole version. Reuses the view when one `stat`
    /// shows a settled, unchanged stamp, or when the bytes read are the
    /// ones it was parsed from. An error is never kept, so it is reported
    /// again by every read until the file is fixed. A missing file is
    /// [`Error::NotFound`].
    pub(super) fn read_model(&self) -> Result<Arc<Model>> {
        self.read_model_if_present()?
            .ok_or_else(|| Error::NotFound {
                path: self.path.clone(),
            })
    }

    /// As [`read_model`](Self::read_model), `None` for a missing file.
    pub(super) fn read_model_if_present(&self) -> Result<Option<Arc<Model>>> {
        let mut view = lock(&self.parsed);
        let before = SystemTime::now();
        let stamp = FileStamp::at(&self.path).map_err(|e| Error::read(&self.path, e))?;
        if let Some(v) = view.as_ref() {
            if v.settled && stamp.is_some() && v.stamp == stamp {
                return Ok(Some(Arc::clone(&v.model)));
            }
        }
        let kept = view.take();
        let Some(OnDisk { bytes, stamp, .. }) = self.read_file()? else {
            return Ok(None);
        };
        let model = match kept {
            Some(v) if *v.bytes == *bytes => v.model,
            _ => Arc::new(Model::parse(&self.path, &bytes)?),
        };
        *view = Some(View {
            stamp,
            settled: stamp.is_some_and(|s| s.settled(before)),
            bytes: Arc::new(bytes),
            model: Arc::clone(&model),
        });
        Ok(Some(model))
    }

    /// After a commit: the committed model is what reads will find. Always
    /// kept: copying the model copies pointers to its entries, while a read
    /// that found no view would parse the whole file (commits interleave
    /// with reads when Terraform runs ten operations at once).
    pub(super) fn remember(&self, loaded: &Loaded) {
        let mut view = lock(&self.parsed);
        *view = None;
        if let Some(bytes) = &loaded.bytes {
            // Under the lock, so the stamp is of the file just renamed into
            // place unless a program that ignores the lock replaced it since:
            // the stamp is fresh, hence not settled, so the next read
            // compares bytes and would see that.
            if let Ok(stamp @ Some(_)) = FileStamp::at(&self.path) {
                *view = Some(View {
                    stamp,
                    settled: false,
                    bytes: Arc::clone(bytes),
                    model: Arc::new(loaded.model.clone()),
                });
            }
        }
    }
}
