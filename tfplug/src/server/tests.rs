//! The service on its own, without a connection: RPCs called directly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic::Request;

use super::ProviderService;
use crate::cty::{from_msgpack, to_msgpack, Type, Value};
use crate::diag::{AttributePath, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as _;
use crate::resource_builder::register_resource as resource;
use crate::resources::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ModifyPlan, ModifyPlanRequest,
    Plan, ReadRequest, ReadResponse, Resource, UpdateRequest, UpdateResponse, UpgradeRequest,
    UpgradeState,
};
use crate::schema::{Attribute, Schema};
use crate::testing::BareProvider;

struct Thing;

#[derive(Serialize, Deserialize)]
struct ThingState {
    name: String,
    id: Option<String>,
}

/// A service of one resource, `test_thing`, with a state upgrade and a
/// plan modifier.
fn service(stop: CancellationToken) -> ProviderService<BareProvider> {
    let provider =
        BareProvider::new(|| vec![resource(Thing).with_upgrade().with_plan_modifier().into()]);
    ProviderService::new(provider, stop)
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
    service: &ProviderService<BareProvider>,
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
    let service = service(CancellationToken::new());
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
    let service = service(CancellationToken::new());
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
    let service = service(CancellationToken::new());
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
    let service = service(stop.clone());
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
    let service = service(CancellationToken::new());
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
    let service = service(CancellationToken::new());
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
