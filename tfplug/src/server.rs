//! The tfplugin6 gRPC service: decodes requests, calls the provider's
//! typed operations, applies Terraform's rules, encodes responses.
//!
//! This file holds what every RPC shares: [`ProviderService`] (the tracked
//! tasks requests run in) and its `Core` (the provider, its registered
//! types, its configured client). Each family of RPCs adds its operations
//! to `Core` in a file of its own under `server/`, listed here from the
//! bottom up (a file uses only those before it):
//!
//! - `wire`: values to and from protocol messages;
//! - `identity_list`: resource identity, list resources, generated
//!   configuration;
//! - `functions_actions`: provider-defined functions and actions;
//! - `data_sources`: validate and read;
//! - `resources`: validate, plan, apply, read, import, upgrade;
//! - `provider`: metadata, schema, the provider block, configure;
//! - `rpc`: the one `impl` of the tonic service, handing each RPC to its
//!   family.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::Status;

use crate::actions::{ActionEntry, ErasedAction};
use crate::diag::{Diagnostic, Diagnostics};
use crate::erased::{DataSourceEntry, ErasedDataSource, ErasedResource, ResourceEntry};
use crate::functions::{ErasedFunction, FunctionEntry};
use crate::providers::Provider;
use crate::request_log::{LoggedRequest, Outcome, RequestLog};
use crate::schema::Schema;

mod data_sources;
mod functions_actions;
mod identity_list;
mod provider;
mod resources;
mod rpc;
#[cfg(test)]
mod tests;
mod wire;

/// Serves one [`Provider`] over tfplugin6. Every request that runs provider
/// code runs in a task of its own, tracked in `ops`: a connection dropped
/// halfway (Terraform killed) then cannot cut an operation off between the
/// HSM issuing a secret and the secret being stored, and shutdown can wait
/// for what is under way.
pub(crate) struct ProviderService<P: Provider> {
    core: Arc<Core<P>>,
    ops: TaskTracker,
}

/// The provider, its registered types and its configured client: what the
/// operations share.
struct Core<P: Provider> {
    provider: Arc<P>,
    schema: Schema,
    resources: HashMap<String, Arc<dyn ErasedResource<P::Client>>>,
    data_sources: HashMap<String, Arc<dyn ErasedDataSource<P::Client>>>,
    functions: HashMap<String, Arc<dyn ErasedFunction>>,
    actions: HashMap<String, Arc<dyn ErasedAction<P::Client>>>,
    client: RwLock<Option<Arc<P::Client>>>,
    /// Problems found when checking schemas against state structs; every
    /// schema request reports them so `terraform validate` shows them.
    schema_problems: Diagnostics,
    /// Fired by StopProvider and by shutdown; handed to the provider in
    /// [`ConfigureRequest::stop`](crate::provider::ConfigureRequest::stop).
    stop: CancellationToken,
}

impl<P: Provider> ProviderService<P> {
    pub(crate) fn new(provider: P, stop: CancellationToken) -> Self {
        ProviderService {
            core: Arc::new(Core::new(provider, stop)),
            ops: TaskTracker::new(),
        }
    }

    /// The operations under way; serving closes it to refuse new requests
    /// and waits on it before exiting.
    pub(crate) fn operations(&self) -> TaskTracker {
        self.ops.clone()
    }

    /// Runs `op` in a tracked task of its own and waits for it; refuses it
    /// once shutdown has begun. Logged as [`spawn_logged`](Self::spawn_logged) says.
    async fn detached<T, F, Fut>(&self, request: RequestLog, op: F) -> Result<T, Status>
    where
        F: FnOnce(Arc<Core<P>>) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Outcome + Send + 'static,
    {
        self.spawn_logged(request, op)?
            .await
            .map_err(|e| Status::internal(format!("the provider operation failed: {e}")))
    }

    /// Starts `op` in a tracked task of its own (refused once shutdown has
    /// begun) and returns its handle: the streaming RPCs answer before it
    /// ends. Logged as [`LoggedRequest`] says; the RPCs that run no
    /// provider code answer inline and log the same lines.
    fn spawn_logged<T, F, Fut>(
        &self,
        request: RequestLog,
        op: F,
    ) -> Result<tokio::task::JoinHandle<T>, Status>
    where
        F: FnOnce(Arc<Core<P>>) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Outcome + Send + 'static,
    {
        let log = LoggedRequest::received(request);
        if self.ops.is_closed() {
            log.refused();
            return Err(Status::unavailable(
                "the provider is shutting down and takes no new requests",
            ));
        }
        let operation = op(Arc::clone(&self.core));
        // Logged in the task, so a request whose connection is gone (and
        // whose handler was dropped) is still reported when it ends.
        let task = async move {
            let result = operation.await;
            log.served(&result);
            result
        };
        Ok(self.ops.spawn(task))
    }
}

impl<P: Provider> Core<P> {
    fn new(provider: P, stop: CancellationToken) -> Self {
        let schema = provider.schema();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|ResourceEntry(r)| (r.type_name(), r))
            .collect();
        let data_sources: HashMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|DataSourceEntry(d)| (d.type_name(), d))
            .collect();
        let functions: HashMap<_, _> = provider
            .functions()
            .into_iter()
            .map(|FunctionEntry(f)| (f.name(), f))
            .collect();
        let actions: HashMap<_, _> = provider
            .actions()
            .into_iter()
            .map(|ActionEntry(a)| (a.type_name(), a))
            .collect();
        let mut schema_problems = Diagnostics::new();
        let checks = resources
            .values()
            .map(|r| r.check())
            .chain(data_sources.values().map(|d| d.check()))
            .chain(actions.values().map(|a| a.check()));
        for problem in checks.filter_map(Result::err) {
            tracing::error!(%problem, "schema does not match its state type");
            schema_problems.error(
                "Provider Schema Error",
                format!("{problem}. This is a provider bug; please report it to the provider's authors."),
            );
        }
        Core {
            provider: Arc::new(provider),
            schema,
            resources,
            data_sources,
            functions,
            actions,
            client: RwLock::new(None),
            schema_problems,
            stop,
        }
    }

    fn resource(&self, name: &str) -> Result<&Arc<dyn ErasedResource<P::Client>>, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    fn client(&self) -> Result<Arc<P::Client>, Diagnostics> {
        // A poisoned lock only means another request panicked while
        // holding it; the Option inside is still whole.
        let guard = self.client.read().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider Not Configured",
                "Terraform asked for a resource operation before configuring the provider. This is unexpected; \
                 re-run the command.",
            )
            .into()
        })
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type {name:?}; check the spelling and the provider version."),
    )
    .into()
}
