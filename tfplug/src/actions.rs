//! Actions (Terraform 1.14+): an operation run on demand,
//! `terraform apply -invoke=action.TYPE.NAME`, or from a resource's
//! lifecycle `action_trigger`. It has a configuration (the `config` block)
//! but no state; while it runs it reports progress messages, and it ends
//! with diagnostics.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::cty::Value;
use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::schema::{Schema, SchemaMismatch};
use crate::serde_value::from_value;

/// An action. Terraform validates and plans its configuration with the
/// schema's rules (the framework does that), then invokes it with the
/// configured client.
#[async_trait]
pub trait Action<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The `config` block as a serde struct; its fields must match the
    /// schema (the framework checks at startup).
    type Config: DeserializeOwned + Send + 'static;

    /// The full type name, e.g. `localfile_touch`.
    fn type_name(&self) -> &str;

    /// The `config` block's attributes; also the source of the docs.
    fn schema(&self) -> Schema;

    /// Runs the action. Report what it is doing with
    /// [`Progress::report`]; return warnings on success, errors on failure.
    async fn invoke(
        &self,
        req: InvokeRequest<'_, C, Self::Config>,
    ) -> Result<Diagnostics, Diagnostics>;
}

/// Request of [`Action::invoke`].
#[non_exhaustive]
pub struct InvokeRequest<'a, C, T> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The `config` block, every value known.
    pub config: T,
    /// Where progress messages go; Terraform prints each as it arrives.
    pub progress: Progress,
}

/// Sends progress messages to Terraform while an action runs.
#[derive(Clone, Debug)]
pub struct Progress(mpsc::UnboundedSender<pb::invoke_action::Event>);

impl Progress {
    pub(crate) fn new(events: mpsc::UnboundedSender<pb::invoke_action::Event>) -> Progress {
        Progress(events)
    }

    /// Shows `message` in Terraform's output now.
    pub fn report(&self, message: impl Into<String>) {
        let progress = pb::invoke_action::event::Progress {
            message: message.into(),
        };
        // A closed channel means Terraform has gone; the action still
        // finishes, as an operation cut off halfway could leave a mess.
        let _ = self.0.send(pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Progress(progress)),
        });
    }
}

/// What the server needs from an action, on plain values.
#[async_trait]
pub(crate) trait ErasedAction<C>: Send + Sync {
    fn type_name(&self) -> String;
    fn schema(&self) -> &Schema;
    fn check(&self) -> Result<(), SchemaMismatch>;
    async fn invoke(&self, client: &C, config: &Value, progress: Progress) -> Diagnostics;
}

/// A registered action, built by [`register`](crate::action::register).
pub struct ActionEntry<C>(pub(crate) Arc<dyn ErasedAction<C>>);

/// Registers an action: `vec![action::register(TouchAction)]` in
/// [`Provider::actions`](crate::provider::Provider::actions).
pub fn register_action<C: Send + Sync + 'static, A: Action<C>>(action: A) -> ActionEntry<C> {
    let schema = action.schema();
    ActionEntry(Arc::new(Registered {
        action,
        schema,
        _client: PhantomData,
    }))
}

struct Registered<C, A> {
    action: A,
    schema: Schema,
    _client: PhantomData<fn(&C)>,
}

#[async_trait]
impl<C: Send + Sync + 'static, A: Action<C>> ErasedAction<C> for Registered<C, A> {
    fn type_name(&self) -> String {
        self.action.type_name().to_owned()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn check(&self) -> Result<(), SchemaMismatch> {
        self.schema
            .check_against::<A::Config>(self.action.type_name())
    }

    async fn invoke(&self, client: &C, config: &Value, progress: Progress) -> Diagnostics {
        let config = match from_value::<A::Config>(config) {
            Ok(config) => config,
            Err(e) => {
                return Diagnostic::error(
                    "Invalid Action Configuration",
                    format!(
                        "The config block of {} does not match what the provider expects: {e}.",
                        self.action.type_name()
                    ),
                )
                .into()
            }
        };
        let req = InvokeRequest {
            client,
            config,
            progress,
        };
        self.action.invoke(req).await.unwrap_or_else(|d| d)
    }
}
