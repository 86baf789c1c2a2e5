//! The tfplugin6 gRPC service: decodes requests, calls the provider's
//! typed operations, applies Terraform's rules, encodes responses.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};

use crate::actions::{ActionEntry, ErasedAction, Progress};
use crate::cty::{from_json, from_msgpack, to_msgpack, Type, Value};
use crate::diag::{Diagnostic, Diagnostics};
use crate::functions::{ErasedFunction, FunctionEntry};
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as GrpcProvider;
use crate::request_log::{LoggedRequest, Outcome, RequestLog};
use crate::schema::{Block, Schema};
use crate::serde_value::from_value;
use crate::traits::{
    ClientCapabilities, ConfigureRequest, DataSourceEntry, ErasedDataSource, ErasedResource, Plan,
    Provider, ResourceEntry,
};

mod identity_list;

type R<T> = Result<Response<T>, Status>;

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
    /// [`ConfigureRequest::stop`].
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

    fn data_source(
        &self,
        name: &str,
    ) -> Result<&Arc<dyn ErasedDataSource<P::Client>>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }

    fn function_definitions(&self) -> HashMap<String, pb::Function> {
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

/// A server stream of already-known events, for the streaming RPCs.
type EventStream<T> = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

fn one_event<T: Send + 'static>(event: T) -> EventStream<T> {
    Box::pin(tokio_stream::iter([Ok(event)]))
}

/// The answer to an RPC of a feature tfplug does not offer, logged like
/// every other request.
fn not_supported(rpc: &'static str, what: &str) -> Vec<pb::Diagnostic> {
    let log = LoggedRequest::received(RequestLog::provider(rpc));
    let diagnostics = Diagnostics::from(Diagnostic::error(
        "Not Supported",
        format!("This provider (built with tfplug) does not support {what}."),
    ))
    .to_proto();
    log.served(&diagnostics[..]);
    diagnostics
}

fn caps(c: Option<pb::ClientCapabilities>) -> ClientCapabilities {
    let c = c.unwrap_or_default();
    ClientCapabilities {
        write_only_attributes_allowed: c.write_only_attributes_allowed,
        deferral_allowed: c.deferral_allowed,
    }
}

fn decode(
    dv: Option<&pb::DynamicValue>,
    schema: &Schema,
    what: &str,
) -> Result<Value, Diagnostics> {
    decode_as(dv, schema.value_type(), what)
}

fn decode_as(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let result = match dv {
        None => Ok(Value::Null),
        Some(dv) if !dv.msgpack.is_empty() => from_msgpack(&dv.msgpack, ty),
        Some(dv) if !dv.json.is_empty() => serde_json::from_slice(&dv.json)
            .map_err(|e| crate::error::CodecError::Serde(e.to_string()))
            .and_then(|j| from_json(&j, ty)),
        Some(_) => Ok(Value::Null),
    };
    result.map_err(|e| {
        Diagnostic::error(
            "Invalid Value From Terraform",
            format!("The {what} could not be decoded: {e}."),
        )
        .into()
    })
}

fn encode(v: &Value, schema: &Schema) -> Result<pb::DynamicValue, Diagnostics> {
    to_msgpack(v, schema.value_type())
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                "Value Encoding Error",
                format!("The provider produced an invalid value: {e}."),
            )
            .into()
        })
}

/// Runs `f`, turning its diagnostics (errors or warnings) into the list
/// the response carries.
fn diags_of<T>(r: Result<(T, Diagnostics), Diagnostics>) -> (Option<T>, Vec<pb::Diagnostic>) {
    match r {
        Ok((v, d)) => (Some(v), d.to_proto()),
        Err(d) => (None, d.to_proto()),
    }
}

impl<P: Provider> Core<P> {
    fn validate_against(
        &self,
        block: &Block,
        config: &Value,
        write_only_allowed: bool,
    ) -> Diagnostics {
        let mut diags = Diagnostics::new();
        plan::validate(block, config, None, write_only_allowed, &mut diags);
        diags
    }

    async fn do_validate_resource(
        &self,
        req: pb::validate_resource_config::Request,
    ) -> Result<Diagnostics, Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let config = decode(req.config.as_ref(), r.schema(), "configuration")?;
        let write_only = caps(req.client_capabilities).write_only_attributes_allowed;
        let mut diags = self.validate_against(&r.schema().block, &config, write_only);
        diags.extend(r.validate(&config).await);
        Ok(diags)
    }

    async fn do_plan(
        &self,
        req: pb::plan_resource_change::Request,
    ) -> Result<(pb::plan_resource_change::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let prior = decode(req.prior_state.as_ref(), schema, "prior state")?;
        let proposed = decode(
            req.proposed_new_state.as_ref(),
            schema,
            "proposed new state",
        )?;
        let config = decode(req.config.as_ref(), schema, "configuration")?;
        let write_only = caps(req.client_capabilities).write_only_attributes_allowed;
        let mut diags = Diagnostics::new();
        if proposed.is_null() {
            // Destroy: nothing to plan.
            let resp = pb::plan_resource_change::Response {
                planned_state: Some(encode(&Value::Null, schema)?),
                planned_private: req.prior_private,
                planned_identity: req.prior_identity,
                ..Default::default()
            };
            return Ok((resp, diags));
        }
        let (planned, replace) = plan::plan(&schema.block, &prior, &proposed, &config, write_only);
        let client = self.client().ok();
        let before = Plan {
            planned,
            requires_replace: replace,
            private: req.prior_private,
            warnings: Diagnostics::new(),
        };
        let mut after = r
            .modify_plan(client.as_deref(), &config, &prior, before)
            .await?;
        diags.extend(std::mem::take(&mut after.warnings));
        plan::keep_config(&schema.block, &config, &mut after.planned, &mut diags);
        if write_only {
            plan::null_write_only(&schema.block, &mut after.planned);
        }
        crate::log::trace_plan(&req.type_name, &prior, &after.planned);
        let resp = pb::plan_resource_change::Response {
            planned_identity: identity_list::identity_data(r.as_ref(), &after.planned)?,
            planned_state: Some(encode(&after.planned, schema)?),
            requires_replace: after
                .requires_replace
                .iter()
                .map(|p| p.to_proto())
                .collect(),
            planned_private: after.private,
            ..Default::default()
        };
        Ok((resp, diags))
    }

    async fn do_apply(
        &self,
        req: pb::apply_resource_change::Request,
    ) -> Result<(pb::apply_resource_change::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let prior = decode(req.prior_state.as_ref(), schema, "prior state")?;
        let planned = decode(req.planned_state.as_ref(), schema, "planned state")?;
        let config = decode(req.config.as_ref(), schema, "configuration")?;
        let client = self.client()?;
        let mut diags = Diagnostics::new();
        let (mut new, private) = if planned.is_null() {
            r.delete(&client, &prior, req.planned_private).await?;
            (Value::Null, Vec::new())
        } else {
            let stored = if prior.is_null() {
                r.create(&client, &config, &planned, req.planned_private)
                    .await?
            } else {
                r.update(&client, &config, &planned, &prior, req.planned_private)
                    .await?
            };
            diags.extend(stored.warnings);
            (stored.state, stored.private)
        };
        if !new.is_null() {
            plan::finish_apply(&schema.block, &planned, &mut new, &mut diags);
        }
        diags.clone().into_result()?;
        let resp = pb::apply_resource_change::Response {
            new_identity: identity_list::identity_data(r.as_ref(), &new)?,
            new_state: Some(encode(&new, schema)?),
            private,
            ..Default::default()
        };
        Ok((resp, diags))
    }

    async fn do_read(
        &self,
        req: pb::read_resource::Request,
    ) -> Result<(pb::read_resource::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let current = decode(req.current_state.as_ref(), schema, "current state")?;
        if current.is_null() {
            let resp = pb::read_resource::Response {
                new_state: req.current_state,
                private: req.private,
                ..Default::default()
            };
            return Ok((resp, Diagnostics::new()));
        }
        let client = self.client()?;
        let (new, private) = match r.read(&client, &current, req.private).await? {
            None => (Value::Null, Vec::new()),
            Some(mut stored) => {
                plan::copy_write_only(&schema.block, &current, &mut stored.state);
                (stored.state, stored.private)
            }
        };
        let resp = pb::read_resource::Response {
            new_identity: identity_list::identity_data(r.as_ref(), &new)?,
            new_state: Some(encode(&new, schema)?),
            private,
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }

    async fn do_import(
        &self,
        req: pb::import_resource_state::Request,
    ) -> Result<(pb::import_resource_state::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let client = self.client()?;
        let (id, given_identity) = self.import_target(r.as_ref(), req.id, req.identity)?;
        let mut stored = r.import(&client, id).await?;
        plan::null_write_only(&r.schema().block, &mut stored.state);
        let identity = match given_identity {
            Some(identity) => Some(identity),
            None => identity_list::identity_data(r.as_ref(), &stored.state)?,
        };
        let resp = pb::import_resource_state::Response {
            imported_resources: vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(encode(&stored.state, r.schema())?),
                private: stored.private,
                identity,
            }],
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }

    async fn do_upgrade(
        &self,
        req: pb::upgrade_resource_state::Request,
    ) -> Result<(pb::upgrade_resource_state::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            if raw.flatmap.is_empty() {
                let resp = pb::upgrade_resource_state::Response {
                    upgraded_state: Some(encode(&Value::Null, schema)?),
                    ..Default::default()
                };
                return Ok((resp, Diagnostics::new()));
            }
            return Err(Diagnostic::error(
                "Legacy State Not Supported",
                "This state was written by a Terraform 0.11-era provider (flatmap); refresh it with that provider version first.",
            )
            .into());
        }
        let json: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid Stored State",
                format!("The stored state is not JSON: {e}."),
            ))
        })?;
        let upgraded = if req.version != schema.version {
            match r.upgrade(req.version, json).await {
                Some(v) => v?,
                None => {
                    return Err(Diagnostic::error(
                        "State Upgrade Not Supported",
                        format!(
                            "The state of {} was written with schema version {}, this provider uses version {} and cannot convert it. Use the provider version that wrote it.",
                            req.type_name, req.version, schema.version
                        ),
                    )
                    .into())
                }
            }
        } else {
            // Attributes a newer provider removed are dropped, as Terraform expects.
            let json = match json {
                serde_json::Value::Object(mut m) => {
                    let ty = schema.value_type();
                    if let crate::cty::Type::Object(attrs) = &ty {
                        m.retain(|k, _| attrs.contains_key(k));
                    }
                    serde_json::Value::Object(m)
                }
                other => other,
            };
            from_json(&json, schema.value_type()).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid Stored State",
                    format!("The stored state does not match the schema: {e}."),
                ))
            })?
        };
        let resp = pb::upgrade_resource_state::Response {
            upgraded_state: Some(encode(&upgraded, schema)?),
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }

    async fn do_read_data(
        &self,
        req: pb::read_data_source::Request,
    ) -> Result<(pb::read_data_source::Response, Diagnostics), Diagnostics> {
        let d = self.data_source(&req.type_name)?;
        let schema = d.schema();
        let config = decode(req.config.as_ref(), schema, "configuration")?;
        let client = self.client()?;
        let mut state = d.read(&client, &config).await?;
        let mut diags = Diagnostics::new();
        for a in &schema.block.attributes {
            let c = config.attr(&a.name);
            if !a.mode.is_computed() || !c.is_null() {
                if let Value::Object(m) = &mut state {
                    m.insert(a.name.clone(), c.clone());
                }
            } else if !state.attr(&a.name).is_wholly_known() {
                diags.error(
                    "Value Unknown After Read",
                    format!(
                        "The data source left {} unknown. This is a provider bug.",
                        a.name
                    ),
                );
            }
        }
        diags.clone().into_result()?;
        let resp = pb::read_data_source::Response {
            state: Some(encode(&state, schema)?),
            ..Default::default()
        };
        Ok((resp, diags))
    }

    async fn do_configure(
        &self,
        req: pb::configure_provider::Request,
    ) -> Result<Diagnostics, Diagnostics> {
        let mut config_value = decode(req.config.as_ref(), &self.schema, "provider configuration")?;
        if config_value.is_null() {
            // No provider block: every attribute is null.
            config_value = crate::serde_value::conform(
                Value::Object(Default::default()),
                self.schema.value_type(),
            )
            .map_err(|e| {
                Diagnostics::from(Diagnostic::error("Invalid Provider Schema", e.to_string()))
            })?;
        }
        let config = from_value::<P::Config>(&config_value).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid Provider Configuration",
                format!("The provider block is invalid: {e}."),
            ))
        })?;
        let request = ConfigureRequest {
            config,
            terraform_version: req.terraform_version,
            capabilities: caps(req.client_capabilities),
            stop: self.stop.clone(),
        };
        let resp = self.provider.configure(request).await?;
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(resp.client));
        let mut diags = Diagnostics::new();
        resp.warnings.into_iter().for_each(|w| diags.push(w));
        Ok(diags)
    }
}

impl<P: Provider> Core<P> {
    async fn do_call_function(
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
    fn action_config(
        &self,
        action_type: &str,
        config: Option<&pb::DynamicValue>,
    ) -> Result<Value, Diagnostics> {
        let action = self.action(action_type)?;
        let config = decode(config, action.schema(), "action configuration")?;
        self.validate_against(&action.schema().block, &config, false)
            .into_result()?;
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
    async fn do_invoke_action(
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

fn flatten<T: Default>(
    r: Result<(T, Diagnostics), Diagnostics>,
    set: impl FnOnce(&mut T, Vec<pb::Diagnostic>),
) -> T {
    let (value, diags) = diags_of(r);
    let mut v = value.unwrap_or_default();
    set(&mut v, diags);
    v
}

#[tonic::async_trait]
impl<P: Provider> GrpcProvider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> R<pb::get_metadata::Response> {
        let log = LoggedRequest::received(RequestLog::provider("GetMetadata"));
        let resp = pb::get_metadata::Response {
            server_capabilities: Some(server_capabilities(&self.core)),
            list_resources: self
                .core
                .list_schemas()
                .map(|(n, _)| pb::get_metadata::ListResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            diagnostics: self.core.schema_problems.to_proto(),
            resources: self
                .core
                .resources
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            data_sources: self
                .core
                .data_sources
                .keys()
                .map(|n| pb::get_metadata::DataSourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            functions: self
                .core
                .functions
                .keys()
                .map(|n| pb::get_metadata::FunctionMetadata { name: n.clone() })
                .collect(),
            actions: self
                .core
                .actions
                .keys()
                .map(|n| pb::get_metadata::ActionMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            ..Default::default()
        };
        log.served(&resp.diagnostics[..]);
        Ok(Response::new(resp))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> R<pb::get_provider_schema::Response> {
        let log = LoggedRequest::received(RequestLog::provider("GetProviderSchema"));
        let resp = pb::get_provider_schema::Response {
            provider: Some(self.core.schema.to_proto()),
            resource_schemas: self
                .core
                .resources
                .iter()
                .map(|(n, r)| (n.clone(), r.schema().to_proto()))
                .collect(),
            data_source_schemas: self
                .core
                .data_sources
                .iter()
                .map(|(n, d)| (n.clone(), d.schema().to_proto()))
                .collect(),
            list_resource_schemas: self
                .core
                .list_schemas()
                .map(|(n, s)| (n.clone(), s.to_proto()))
                .collect(),
            functions: self.core.function_definitions(),
            action_schemas: self
                .core
                .actions
                .iter()
                .map(|(n, a)| {
                    let schema = Some(a.schema().to_proto());
                    (n.clone(), pb::ActionSchema { schema })
                })
                .collect(),
            diagnostics: self.core.schema_problems.to_proto(),
            server_capabilities: Some(server_capabilities(&self.core)),
            ..Default::default()
        };
        log.served(&resp.diagnostics[..]);
        Ok(Response::new(resp))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> R<pb::validate_provider_config::Response> {
        let log = LoggedRequest::received(RequestLog::provider("ValidateProviderConfig"));
        let req = req.into_inner();
        let core = &self.core;
        let diags = decode(req.config.as_ref(), &core.schema, "provider configuration")
            .map(|config| core.validate_against(&core.schema.block, &config, false))
            .unwrap_or_else(|d| d);
        log.served(&diags);
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> R<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        let diags = self
            .detached(
                RequestLog::of("ValidateResourceConfig", &req.type_name),
                |core| async move { core.do_validate_resource(req).await },
            )
            .await?
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> R<pb::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let result = self
            .detached(
                RequestLog::of("ValidateDataResourceConfig", &req.type_name),
                |core| async move {
                    let d = core.data_source(&req.type_name)?;
                    let config = decode(req.config.as_ref(), d.schema(), "configuration")?;
                    let mut diags = core.validate_against(&d.schema().block, &config, false);
                    diags.extend(d.validate(&config).await);
                    Ok::<_, Diagnostics>(diags)
                },
            )
            .await?;
        let diags = result.unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> R<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("UpgradeResourceState", &req.type_name),
                |core| async move { core.do_upgrade(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> R<pb::get_resource_identity_schemas::Response> {
        let log = LoggedRequest::received(RequestLog::provider("GetResourceIdentitySchemas"));
        let resp = self.core.identity_schemas();
        log.served(&resp.diagnostics[..]);
        Ok(Response::new(resp))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> R<pb::upgrade_resource_identity::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("UpgradeResourceIdentity", &req.type_name),
                |core| async move { core.do_upgrade_identity(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> R<pb::configure_provider::Response> {
        let req = req.into_inner();
        let diags = self
            .detached(
                RequestLog::provider("ConfigureProvider"),
                |core| async move { core.do_configure(req).await },
            )
            .await?
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> R<pb::read_resource::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("ReadResource", &req.type_name),
                |core| async move { core.do_read(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> R<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("PlanResourceChange", &req.type_name),
                |core| async move { core.do_plan(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> R<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("ApplyResourceChange", &req.type_name),
                |core| async move { core.do_apply(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> R<pb::import_resource_state::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("ImportResourceState", &req.type_name),
                |core| async move { core.do_import(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn move_resource_state(
        &self,
        _: Request<pb::move_resource_state::Request>,
    ) -> R<pb::move_resource_state::Response> {
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: not_supported(
                "MoveResourceState",
                "moving state between resource types (moved blocks across types)",
            ),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> R<pb::read_data_source::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("ReadDataSource", &req.type_name),
                |core| async move { core.do_read_data(req).await },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        _: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> R<pb::validate_ephemeral_resource_config::Response> {
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: not_supported(
                    "ValidateEphemeralResourceConfig",
                    "ephemeral resources",
                ),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        _: Request<pb::open_ephemeral_resource::Request>,
    ) -> R<pb::open_ephemeral_resource::Response> {
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: not_supported("OpenEphemeralResource", "ephemeral resources"),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        _: Request<pb::renew_ephemeral_resource::Request>,
    ) -> R<pb::renew_ephemeral_resource::Response> {
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: not_supported("RenewEphemeralResource", "ephemeral resources"),
            ..Default::default()
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        _: Request<pb::close_ephemeral_resource::Request>,
    ) -> R<pb::close_ephemeral_resource::Response> {
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: not_supported("CloseEphemeralResource", "ephemeral resources"),
        }))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> R<pb::get_functions::Response> {
        let log = LoggedRequest::received(RequestLog::provider("GetFunctions"));
        let resp = pb::get_functions::Response {
            functions: self.core.function_definitions(),
            diagnostics: Vec::new(),
        };
        log.served(&resp.diagnostics[..]);
        Ok(Response::new(resp))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> R<pb::call_function::Response> {
        let req = req.into_inner();
        let resp = self
            .detached(
                RequestLog::function("CallFunction", &req.name),
                |core| async move { core.do_call_function(req).await },
            )
            .await?;
        Ok(Response::new(resp))
    }

    type ListResourceStream = EventStream<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> R<Self::ListResourceStream> {
        let req = req.into_inner();
        let listed = self
            .detached(
                RequestLog::of("ListResource", &req.type_name),
                |core| async move { core.do_list(req).await },
            )
            .await?;
        let events = listed.unwrap_or_else(|d| {
            vec![pb::list_resource::Event {
                diagnostic: d.to_proto(),
                ..Default::default()
            }]
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(
            events.into_iter().map(Ok),
        ))))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> R<pb::validate_list_resource_config::Response> {
        let req = req.into_inner();
        let diags = self
            .detached(
                RequestLog::of("ValidateListResourceConfig", &req.type_name),
                |core| async move { core.do_validate_list(req) },
            )
            .await?
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: diags.to_proto(),
        }))
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> R<pb::generate_resource_config::Response> {
        let req = req.into_inner();
        let r = self
            .detached(
                RequestLog::of("GenerateResourceConfig", &req.type_name),
                |core| async move { core.do_generate_config(req) },
            )
            .await?;
        Ok(Response::new(flatten(r, |v, d| v.diagnostics = d)))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> R<pb::validate_action_config::Response> {
        let req = req.into_inner();
        let checked = self
            .detached(
                RequestLog::action("ValidateActionConfig", &req.type_name),
                |core| async move {
                    core.action_config(&req.type_name, req.config.as_ref())
                        .map(|_| Diagnostics::new())
                },
            )
            .await?;
        Ok(Response::new(pb::validate_action_config::Response {
            diagnostics: checked.unwrap_or_else(|d| d).to_proto(),
        }))
    }

    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> R<pb::plan_action::Response> {
        let req = req.into_inner();
        let checked = self
            .detached(
                RequestLog::action("PlanAction", &req.action_type),
                |core| async move {
                    core.action_config(&req.action_type, req.config.as_ref())
                        .map(|_| Diagnostics::new())
                },
            )
            .await?;
        Ok(Response::new(pb::plan_action::Response {
            diagnostics: checked.unwrap_or_else(|d| d).to_proto(),
            deferred: None,
        }))
    }

    type InvokeActionStream = EventStream<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> R<Self::InvokeActionStream> {
        let req = req.into_inner();
        let (events, received) = tokio::sync::mpsc::unbounded_channel();
        // The action runs on after this returns; its events arrive on the stream.
        self.spawn_logged(
            RequestLog::action("InvokeAction", &req.action_type),
            |core| async move { core.do_invoke_action(req, events).await },
        )?;
        let stream = tokio_stream::StreamExt::map(
            tokio_stream::wrappers::UnboundedReceiverStream::new(received),
            Ok,
        );
        Ok(Response::new(Box::pin(stream)))
    }

    // State stores (Terraform's pluggable backends) are a provider feature
    // tfplug does not offer: the schema declares none, so Terraform never
    // calls these; a client that does gets a clear diagnostic.
    async fn validate_state_store_config(
        &self,
        _: Request<pb::validate_state_store::Request>,
    ) -> R<pb::validate_state_store::Response> {
        Ok(Response::new(pb::validate_state_store::Response {
            diagnostics: not_supported("ValidateStateStoreConfig", "state stores"),
        }))
    }

    async fn configure_state_store(
        &self,
        _: Request<pb::configure_state_store::Request>,
    ) -> R<pb::configure_state_store::Response> {
        Ok(Response::new(pb::configure_state_store::Response {
            diagnostics: not_supported("ConfigureStateStore", "state stores"),
            ..Default::default()
        }))
    }

    type ReadStateBytesStream = EventStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        _: Request<pb::read_state_bytes::Request>,
    ) -> R<Self::ReadStateBytesStream> {
        Ok(Response::new(one_event(pb::read_state_bytes::Response {
            diagnostics: not_supported("ReadStateBytes", "state stores"),
            ..Default::default()
        })))
    }

    async fn write_state_bytes(
        &self,
        _: Request<tonic::Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> R<pb::write_state_bytes::Response> {
        Ok(Response::new(pb::write_state_bytes::Response {
            diagnostics: not_supported("WriteStateBytes", "state stores"),
        }))
    }

    async fn lock_state(&self, _: Request<pb::lock_state::Request>) -> R<pb::lock_state::Response> {
        Ok(Response::new(pb::lock_state::Response {
            diagnostics: not_supported("LockState", "state stores"),
            ..Default::default()
        }))
    }

    async fn unlock_state(
        &self,
        _: Request<pb::unlock_state::Request>,
    ) -> R<pb::unlock_state::Response> {
        Ok(Response::new(pb::unlock_state::Response {
            diagnostics: not_supported("UnlockState", "state stores"),
        }))
    }

    async fn get_states(&self, _: Request<pb::get_states::Request>) -> R<pb::get_states::Response> {
        Ok(Response::new(pb::get_states::Response {
            diagnostics: not_supported("GetStates", "state stores"),
            ..Default::default()
        }))
    }

    async fn delete_state(
        &self,
        _: Request<pb::delete_state::Request>,
    ) -> R<pb::delete_state::Response> {
        Ok(Response::new(pb::delete_state::Response {
            diagnostics: not_supported("DeleteState", "state stores"),
        }))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> R<pb::stop_provider::Response> {
        tracing::info!("terraform asked the provider to stop");
        self.core.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

fn server_capabilities<P: Provider>(core: &Core<P>) -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: core.generates_config(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::cty::Type;
    use crate::diag::AttributePath;
    use crate::schema::Attribute;
    use crate::traits::{
        register_resource as resource, ConfigureResponse, CreateRequest, CreateResponse,
        DataSourceEntry, DeleteRequest, DeleteResponse, ModifyPlan, ModifyPlanRequest, ReadRequest,
        ReadResponse, Resource, UpdateRequest, UpdateResponse, UpgradeRequest, UpgradeState,
    };

    struct TestProvider;
    struct Thing;

    #[derive(Serialize, Deserialize)]
    struct ThingState {
        name: String,
        id: Option<String>,
    }

    #[async_trait::async_trait]
    impl Provider for TestProvider {
        type Config = ();
        type Client = ();
        fn schema(&self) -> Schema {
            Schema::new()
        }
        async fn configure(
            &self,
            _: ConfigureRequest<()>,
        ) -> Result<ConfigureResponse<()>, Diagnostics> {
            Ok(ConfigureResponse::new(()))
        }
        fn resources(&self) -> Vec<ResourceEntry<()>> {
            vec![resource(Thing).with_upgrade().with_plan_modifier().into()]
        }
        fn data_sources(&self) -> Vec<DataSourceEntry<()>> {
            Vec::new()
        }
    }

    #[async_trait::async_trait]
    impl Resource<()> for Thing {
        type State = ThingState;
        fn type_name(&self) -> &str {
            "test_thing"
        }
        fn schema(&self) -> Schema {
            Schema::new()
                .version(1)
                .attribute(Attribute::required("name", Type::String))
                .attribute(Attribute::computed("id", Type::String))
        }
        async fn create(
            &self,
            req: CreateRequest<'_, (), ThingState>,
        ) -> Result<CreateResponse<ThingState>, Diagnostics> {
            Ok(CreateResponse::new(req.planned))
        }
        async fn read(
            &self,
            req: ReadRequest<'_, (), ThingState>,
        ) -> Result<ReadResponse<ThingState>, Diagnostics> {
            Ok(ReadResponse::found(req.state))
        }
        async fn update(
            &self,
            req: UpdateRequest<'_, (), ThingState>,
        ) -> Result<UpdateResponse<ThingState>, Diagnostics> {
            Ok(UpdateResponse::new(req.planned))
        }
        async fn delete(
            &self,
            _: DeleteRequest<'_, (), ThingState>,
        ) -> Result<DeleteResponse, Diagnostics> {
            Ok(DeleteResponse::new())
        }
    }

    #[async_trait::async_trait]
    impl UpgradeState<()> for Thing {
        async fn upgrade(&self, req: UpgradeRequest) -> Result<ThingState, Diagnostics> {
            // Version 0 called the name "title".
            let title = req.raw["title"].as_str().unwrap_or_default().to_owned();
            Ok(ThingState {
                name: title,
                id: req.raw["id"].as_str().map(str::to_owned),
            })
        }
    }

    #[async_trait::async_trait]
    impl ModifyPlan<()> for Thing {
        async fn modify_plan(&self, req: ModifyPlanRequest<'_, ()>) -> Result<Plan, Diagnostics> {
            let mut plan = req.plan;
            plan.set("id", Value::from("fixed"));
            plan.set("name", Value::from("not what was configured"));
            plan.require_replace(AttributePath::root("name"));
            Ok(plan)
        }
    }

    fn ty() -> Type {
        Type::object([("name", Type::String), ("id", Type::String)])
    }

    fn obj(name: &str) -> Value {
        Value::Object(BTreeMap::from([
            ("name".to_owned(), Value::from(name)),
            ("id".to_owned(), Value::Null),
        ]))
    }

    fn dv(v: &Value) -> Option<pb::DynamicValue> {
        Some(pb::DynamicValue {
            msgpack: to_msgpack(v, &ty()).unwrap(),
            json: Vec::new(),
        })
    }

    async fn upgrade(
        service: &ProviderService<TestProvider>,
        version: i64,
        json: &str,
    ) -> pb::upgrade_resource_state::Response {
        let req = pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version,
            raw_state: Some(pb::RawState {
                json: json.as_bytes().to_vec(),
                flatmap: Default::default(),
            }),
        };
        service
            .upgrade_resource_state(Request::new(req))
            .await
            .unwrap()
            .into_inner()
    }

    #[tokio::test]
    async fn state_upgrades() {
        let service = ProviderService::new(TestProvider, CancellationToken::new());
        // Current version: attributes the provider no longer has are dropped.
        let same = upgrade(&service, 1, r#"{"name":"a","id":"1","removed":true}"#).await;
        assert!(same.diagnostics.is_empty(), "{:?}", same.diagnostics);
        let v = from_msgpack(&same.upgraded_state.unwrap().msgpack, &ty()).unwrap();
        assert_eq!(v.attr("name"), &Value::from("a"));
        // Older version: the provider's UpgradeState converts it.
        let old = upgrade(&service, 0, r#"{"title":"b","id":"2"}"#).await;
        assert!(old.diagnostics.is_empty(), "{:?}", old.diagnostics);
        let v = from_msgpack(&old.upgraded_state.unwrap().msgpack, &ty()).unwrap();
        assert_eq!(v.attr("name"), &Value::from("b"));
        assert_eq!(v.attr("id"), &Value::from("2"));
        let bad = upgrade(&service, 1, "not json").await;
        assert_eq!(bad.diagnostics[0].summary, "Invalid Stored State");
    }

    #[tokio::test]
    async fn plan_modifier_cannot_change_configured_values() {
        let service = ProviderService::new(TestProvider, CancellationToken::new());
        let config = obj("configured");
        let req = pb::plan_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&obj("old")),
            proposed_new_state: dv(&config),
            config: dv(&config),
            ..Default::default()
        };
        let resp = service
            .plan_resource_change(Request::new(req))
            .await
            .unwrap()
            .into_inner();
        let planned = from_msgpack(&resp.planned_state.unwrap().msgpack, &ty()).unwrap();
        assert_eq!(planned.attr("name"), &Value::from("configured"));
        assert_eq!(planned.attr("id"), &Value::from("fixed"));
        assert_eq!(resp.requires_replace.len(), 1);
        assert_eq!(
            resp.diagnostics[0].severity,
            pb::diagnostic::Severity::Warning as i32
        );
    }

    #[tokio::test]
    async fn unconfigured_provider_and_missing_features_say_so() {
        let service = ProviderService::new(TestProvider, CancellationToken::new());
        let apply = pb::apply_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&Value::Null),
            planned_state: dv(&obj("x")),
            config: dv(&obj("x")),
            ..Default::default()
        };
        let resp = service
            .apply_resource_change(Request::new(apply))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.diagnostics[0].summary, "Provider Not Configured");

        let configure = pb::configure_provider::Request {
            config: None,
            ..Default::default()
        };
        let resp = service
            .configure_provider(Request::new(configure))
            .await
            .unwrap()
            .into_inner();
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let import = pb::import_resource_state::Request {
            type_name: "test_thing".into(),
            id: "x".into(),
            ..Default::default()
        };
        let resp = service
            .import_resource_state(Request::new(import))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.diagnostics[0].summary, "Import Not Supported");
        let unknown = pb::read_resource::Request {
            type_name: "test_nope".into(),
            ..Default::default()
        };
        let resp = service
            .read_resource(Request::new(unknown))
            .await
            .unwrap()
            .into_inner();
        assert!(resp.diagnostics[0].detail.contains("\"test_nope\""));
    }

    #[tokio::test]
    async fn stop_provider_fires_the_token_the_provider_was_given() {
        let stop = CancellationToken::new();
        let service = ProviderService::new(TestProvider, stop.clone());
        assert!(!stop.is_cancelled());
        service
            .stop_provider(Request::new(pb::stop_provider::Request::default()))
            .await
            .unwrap();
        assert!(stop.is_cancelled());
    }

    /// Collects what a fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One process-wide subscriber: a thread-scoped one races with tests
    /// on other threads that register the same log callsites, and misses
    /// events now and then.
    fn captured_logs() -> &'static Captured {
        static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        CAPTURED.get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_thread_ids(true)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
    }

    /// This thread's lines of the captured log.
    fn this_threads_logs() -> String {
        // Other tests log into the same subscriber from their own threads.
        let this_thread = format!("{:?} ", std::thread::current().id());
        String::from_utf8(captured_logs().0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains(&this_thread))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[tokio::test]
    async fn a_plan_is_traced_by_attribute_names_without_values() {
        let service = ProviderService::new(TestProvider, CancellationToken::new());
        captured_logs();
        let config = obj("secret-name-value");
        let req = pb::plan_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&Value::Null),
            proposed_new_state: dv(&config),
            config: dv(&config),
            ..Default::default()
        };
        service
            .plan_resource_change(Request::new(req))
            .await
            .unwrap();
        let logs = this_threads_logs();
        let planned = logs
            .lines()
            .find(|l| l.contains("planned change"))
            .unwrap_or_default();
        // The plan modifier sets id; name changes from null (create).
        assert!(planned.contains("TRACE"), "{logs}");
        assert!(planned.contains("tf_plan_changed=\"id,name\""), "{logs}");
        assert!(planned.contains("tf_plan_unknown=\"\""), "{logs}");
        assert!(!logs.contains("secret-name-value"), "{logs}");
    }

    #[tokio::test]
    async fn each_request_is_logged_by_rpc_and_type_without_values() {
        let service = ProviderService::new(TestProvider, CancellationToken::new());
        let apply = pb::apply_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&Value::Null),
            planned_state: dv(&obj("value-that-must-not-be-logged")),
            config: dv(&obj("value-that-must-not-be-logged")),
            ..Default::default()
        };
        captured_logs();
        service
            .apply_resource_change(Request::new(apply.clone()))
            .await
            .unwrap();
        let logs = this_threads_logs();
        let served: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("served request"))
            .collect();
        assert_eq!(served.len(), 1, "{logs}");
        for field in [
            "DEBUG",
            "tf_rpc=\"ApplyResourceChange\"",
            "tf_req_id=",
            "tf_resource_type=\"test_thing\"",
            "tf_req_duration_ms=",
        ] {
            assert!(served[0].contains(field), "missing {field}: {logs}");
        }
        assert!(
            logs.contains("TRACE") && logs.contains("received request"),
            "{logs}"
        );
        assert!(!logs.contains("value-that-must-not-be-logged"), "{logs}");
        let outcome = logs
            .lines()
            .find(|l| l.contains("request outcome"))
            .unwrap_or_default();
        // The provider was never configured: one error.
        assert!(
            outcome.contains("TRACE") && outcome.contains("tf_diagnostic_errors=1"),
            "{logs}"
        );

        // Requests answered inline (no provider code) get the same line.
        service
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap();
        let logs = this_threads_logs();
        let schema_lines: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("served request") && l.contains("tf_rpc=\"GetProviderSchema\""))
            .collect();
        assert_eq!(schema_lines.len(), 1, "{logs}");
        assert!(schema_lines[0].contains("tf_req_duration_ms="), "{logs}");

        // Once shutdown has begun, new requests are refused.
        service.operations().close();
        let refused = service
            .apply_resource_change(Request::new(apply))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unavailable);
    }
}
