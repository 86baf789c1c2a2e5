//! The provider's request log: for every request one DEBUG line when it is
//! served (`tf_rpc`, `tf_req_id`, the type it is about, and
//! `tf_req_duration_ms`), and at TRACE its arrival and its outcome (how
//! many errors and warnings it answered with). The lines name the RPC and
//! the type, never a value from the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::diag::{Diagnostics, Severity};
use crate::proto::tfplugin6 as pb;

/// Numbers requests for the logs (`tf_req_id`), unique within the process.
static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// What the request log lines name: the RPC and the type it is about.
pub(crate) struct RequestLog {
    rpc: &'static str,
    subject: Subject,
}

/// The type a request is about, logged under the field Terraform's own
/// SDKs use for it.
enum Subject {
    None,
    ResourceType(String),
    Function(String),
    Action(String),
}

impl RequestLog {
    /// A request about no type (provider-wide: schema, configuration).
    pub(crate) fn provider(rpc: &'static str) -> RequestLog {
        RequestLog {
            rpc,
            subject: Subject::None,
        }
    }

    /// A request about a resource or data source type.
    pub(crate) fn of(rpc: &'static str, resource_type: &str) -> RequestLog {
        RequestLog {
            rpc,
            subject: Subject::ResourceType(resource_type.to_owned()),
        }
    }

    pub(crate) fn function(rpc: &'static str, name: &str) -> RequestLog {
        RequestLog {
            rpc,
            subject: Subject::Function(name.to_owned()),
        }
    }

    pub(crate) fn action(rpc: &'static str, action_type: &str) -> RequestLog {
        RequestLog {
            rpc,
            subject: Subject::Action(action_type.to_owned()),
        }
    }
}

impl Subject {
    /// `(tf_resource_type, tf_function_name, tf_action_type)`: the one
    /// that names this subject, the others absent from the line.
    fn fields(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Subject::None => (None, None, None),
            Subject::ResourceType(t) => (Some(t), None, None),
            Subject::Function(f) => (None, Some(f), None),
            Subject::Action(a) => (None, None, Some(a)),
        }
    }
}

/// A request under way, from its arrival to its answer.
pub(crate) struct LoggedRequest {
    request: RequestLog,
    id: u64,
    started: Instant,
}

/// One line about `$log` at `$level`: the RPC, the request id and the
/// subject's field, then the given fields and message.
macro_rules! request_line {
    ($level:ident, $log:expr, $($fields_and_message:tt)+) => {{
        let log: &LoggedRequest = $log;
        let (resource_type, function_name, action_type) = log.request.subject.fields();
        tracing::$level!(
            tf_rpc = log.request.rpc,
            tf_req_id = log.id,
            tf_resource_type = resource_type,
            tf_function_name = function_name,
            tf_action_type = action_type,
            $($fields_and_message)+
        );
    }};
}

impl LoggedRequest {
    /// Numbers the request and logs its arrival (TRACE).
    pub(crate) fn received(request: RequestLog) -> LoggedRequest {
        let log = LoggedRequest {
            request,
            id: NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed),
            started: Instant::now(),
        };
        request_line!(trace, &log, "received request");
        log
    }

    /// The request was refused (DEBUG): the provider is shutting down.
    pub(crate) fn refused(&self) {
        request_line!(
            debug,
            self,
            "refused request: the provider is shutting down"
        );
    }

    /// The request was answered with `outcome`: its diagnostics count
    /// (TRACE), then the one DEBUG line with the duration.
    pub(crate) fn served(&self, outcome: &(impl Outcome + ?Sized)) {
        let (errors, warnings) = outcome.diagnostics_count();
        tracing::trace!(
            tf_rpc = self.request.rpc,
            tf_req_id = self.id,
            tf_diagnostic_errors = errors,
            tf_diagnostic_warnings = warnings,
            "request outcome"
        );
        request_line!(
            debug,
            self,
            tf_req_duration_ms =
                u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "served request"
        );
    }
}

/// What a request's TRACE outcome line counts: `(errors, warnings)`.
pub(crate) trait Outcome {
    fn diagnostics_count(&self) -> (usize, usize);
}

impl Outcome for Diagnostics {
    fn diagnostics_count(&self) -> (usize, usize) {
        let errors = self
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        (errors, self.iter().count() - errors)
    }
}

impl<T> Outcome for Result<(T, Diagnostics), Diagnostics> {
    fn diagnostics_count(&self) -> (usize, usize) {
        match self {
            Ok((_, d)) | Err(d) => d.diagnostics_count(),
        }
    }
}

impl Outcome for Result<Diagnostics, Diagnostics> {
    fn diagnostics_count(&self) -> (usize, usize) {
        match self {
            Ok(d) | Err(d) => d.diagnostics_count(),
        }
    }
}

impl Outcome for pb::call_function::Response {
    fn diagnostics_count(&self) -> (usize, usize) {
        (usize::from(self.error.is_some()), 0)
    }
}

/// A list: the whole request failed, or each listed entry may carry its own diagnostics.
impl Outcome for Result<Vec<pb::list_resource::Event>, Diagnostics> {
    fn diagnostics_count(&self) -> (usize, usize) {
        match self {
            Err(d) => d.diagnostics_count(),
            Ok(events) => events.iter().fold((0, 0), |(errors, warnings), event| {
                let (e, w) = event.diagnostic[..].diagnostics_count();
                (errors + e, warnings + w)
            }),
        }
    }
}

/// Answers already in protocol form, for requests served inline.
impl Outcome for [pb::Diagnostic] {
    fn diagnostics_count(&self) -> (usize, usize) {
        let error = pb::diagnostic::Severity::Error as i32;
        let errors = self.iter().filter(|d| d.severity == error).count();
        (errors, self.len() - errors)
    }
}
