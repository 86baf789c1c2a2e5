//! The RPCs of provider-defined functions and of actions.

use std::collections::HashMap;
use std::sync::Arc;

use crate::actions::{ErasedAction, Progress};
use crate::cty::Value;
use crate::diag::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::providers::Provider;

use super::wire::{decode, validate_against};
use super::{unknown_type, Core};

impl<P: Provider> Core<P> {
    pub(super) fn function_definitions(&self) -> HashMap<String, pb::Function> {
        self.functions
            .iter()
            .map(|(n, f)| (n.clone(), f.definition().to_proto()))
            .collect()
    }

    fn action(&self, name: &str) -> Result<&Arc<dyn ErasedAction<P::Client>>, Diagnostics> {
        self.actions
            .get(name)
            .ok_or_else(|| unknown_type("action", name))
    }

    pub(super) async fn do_call_function(
        &self,
        req: pb::call_function::Request,
    ) -> pb::call_function::Response {
        let Some(function) = self.functions.get(&req.name) else {
            return pb::call_function::Response {
                result: None,
                error: Some(pb::FunctionError {
                    text: format!(
                        "this provider has no function {:?}; check the spelling and the provider version",
                        req.name
                    ),
                    function_argument: None,
                }),
            };
        };
        match function.call(&req.arguments).await {
            Ok(msgpack) => pb::call_function::Response {
                result: Some(pb::DynamicValue {
                    msgpack,
                    json: Vec::new(),
                }),
                error: None,
            },
            Err(e) => pb::call_function::Response {
                result: None,
                error: Some(e.to_proto()),
            },
        }
    }

    /// The action's configuration, checked against its schema; the
    /// shared first step of validating, planning and invoking.
    pub(super) fn action_config(
        &self,
        action_type: &str,
        config: Option<&pb::DynamicValue>,
    ) -> Result<Value, Diagnostics> {
        let action = self.action(action_type)?;
        let config = decode(config, action.schema(), "action configuration")?;
        validate_against(&action.schema().block, &config, false).into_result()?;
        Ok(config)
    }

    async fn run_action(
        &self,
        req: &pb::invoke_action::Request,
        progress: Progress,
    ) -> Diagnostics {
        let config = match self.action_config(&req.action_type, req.config.as_ref()) {
            Ok(config) => config,
            Err(d) => return d,
        };
        match (self.action(&req.action_type), self.client()) {
            (Ok(action), Ok(client)) => action.invoke(&client, &config, progress).await,
            (Err(d), _) | (_, Err(d)) => d,
        }
    }

    /// Runs the action, sending its progress and then its completion to
    /// `events`.
    pub(super) async fn do_invoke_action(
        &self,
        req: pb::invoke_action::Request,
        events: tokio::sync::mpsc::UnboundedSender<pb::invoke_action::Event>,
    ) -> Diagnostics {
        let result = self.run_action(&req, Progress::new(events.clone())).await;
        let completed = pb::invoke_action::event::Completed {
            diagnostics: result.to_proto(),
        };
        // Terraform may have gone; the outcome is still logged.
        let _ = events.send(pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Completed(completed)),
        });
        result
    }
}
