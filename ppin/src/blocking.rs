//! Blocking file work, run off the async threads: a slow disk or a
//! contended lock holds a thread of tokio's blocking pool, never one that
//! drives other operations.

/// Runs `work` on tokio's blocking pool and returns its result.
pub(crate) async fn off_async_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        // A panic in the work is a bug; carry it on rather than hide it.
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}
