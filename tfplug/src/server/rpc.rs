//! The one `impl` of the tfplugin6 service (tonic wants every RPC in one
//! block): each RPC runs its family's operation in a tracked task, or
//! answers inline when it runs no provider code, and logs it.

use tonic::{Request, Response, Status};

use crate::diag::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as GrpcProvider;
use crate::providers::Provider;
use crate::request_log::{LoggedRequest, RequestLog};

use super::wire::{flatten, not_supported, one_event, EventStream};
use super::ProviderService;

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl<P: Provider> GrpcProvider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> R<pb::get_metadata::Response> {
        let log = LoggedRequest::received(RequestLog::provider("GetMetadata"));
        let resp = self.core.metadata();
        log.served(&resp.diagnostics[..]);
        Ok(Response::new(resp))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> R<pb::get_provider_schema::Response> {
        let log = LoggedRequest::received(RequestLog::provider("GetProviderSchema"));
        let resp = self.core.provider_schema();
        log.served(&resp.diagnostics[..]);
        Ok(Response::new(resp))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> R<pb::validate_provider_config::Response> {
        let log = LoggedRequest::received(RequestLog::provider("ValidateProviderConfig"));
        let diags = self.core.validate_provider_config(req.into_inner());
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
                |core| async move { core.do_validate_data_source(req).await },
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
