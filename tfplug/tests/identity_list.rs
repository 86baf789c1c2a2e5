//! Resource identity, list resources and generated configuration
//! (protocol 6.9/6.10), spoken over gRPC to the served example provider.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use tfplug::proto::tfplugin6 as pb;
use tfplug::testing::{ClientCert, PluginProcess};
use tfplug::value::{from_msgpack, Type, Value};

#[path = "common/grpc.rs"]
mod grpc;
use grpc::{configured, dv, example, file_type, Client};

fn identity_type() -> Type {
    Type::object([("path", Type::String)])
}

fn object(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn value(dv: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    from_msgpack(&dv.unwrap().msgpack, ty).unwrap()
}

fn identity_path(identity: Option<&pb::ResourceIdentityData>) -> Value {
    let data = identity.and_then(|i| i.identity_data.as_ref());
    value(data, &identity_type()).attr("path").clone()
}

async fn list(
    client: &mut Client,
    suffix: &str,
    include: bool,
    limit: i64,
) -> Vec<pb::list_resource::Event> {
    let config = object(&[("suffix", suffix)]);
    let req = pb::list_resource::Request {
        type_name: "localfile_file".into(),
        config: dv(&config, &Type::object([("suffix", Type::String)])),
        include_resource_object: include,
        limit,
    };
    let mut stream = client.list_resource(req).await.unwrap().into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.message().await.unwrap() {
        let errors = event
            .diagnostic
            .iter()
            .any(|d| d.severity != pb::diagnostic::Severity::Warning as i32);
        assert!(!errors, "{:?}", event.diagnostic);
        events.push(event);
    }
    events
}

/// The events that carry an object (warnings come alone, before them).
fn objects(events: Vec<pb::list_resource::Event>) -> Vec<pb::list_resource::Event> {
    events
        .into_iter()
        .filter(|e| e.identity.is_some())
        .collect()
}

async fn upgrade_identity(
    client: &mut Client,
    version: i64,
) -> pb::upgrade_resource_identity::Response {
    let req = pb::upgrade_resource_identity::Request {
        type_name: "localfile_file".into(),
        version,
        raw_identity: Some(pb::RawState {
            json: br#"{"path":"a.txt"}"#.to_vec(),
            flatmap: Default::default(),
        }),
    };
    client
        .upgrade_resource_identity(req)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn schemas_advertise_identity_list_and_generated_config() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = plugin.provider_client(&cert).await.unwrap();
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let list_schema = &schema.list_resource_schemas["localfile_file"];
    let block = list_schema.block.as_ref().unwrap();
    assert_eq!(block.attributes[0].name, "suffix");
    assert!(schema.server_capabilities.unwrap().generate_resource_config);
    let metadata = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(metadata.list_resources[0].type_name, "localfile_file");
    let identities = client
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    let identity = &identities.identity_schemas["localfile_file"];
    assert_eq!(identity.version, 0);
    let path = &identity.identity_attributes[0];
    assert_eq!(
        (path.name.as_str(), path.required_for_import),
        ("path", true)
    );
    assert_eq!(path.r#type, br#""string""#);

    // Same version: passed through. Another version: a clear refusal.
    let same = upgrade_identity(&mut client, 0).await;
    assert!(same.diagnostics.is_empty(), "{:?}", same.diagnostics);
    assert_eq!(
        identity_path(same.upgraded_identity.as_ref()),
        Value::from("a.txt")
    );
    let newer = upgrade_identity(&mut client, 3).await;
    assert_eq!(
        newer.diagnostics[0].summary,
        "Identity Upgrade Not Supported"
    );
    assert!(newer.diagnostics[0].detail.contains("identity version 3"));
}

#[tokio::test]
async fn list_filters_limits_and_includes_state_on_request() {
    let root = tempfile::tempdir().unwrap();
    for (name, content) in [("b.txt", "bee"), ("a.txt", "ay"), ("c.log", "sea")] {
        std::fs::write(root.path().join(name), content).unwrap();
    }
    std::fs::create_dir(root.path().join("d.txt")).unwrap();
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = configured(&plugin, &cert, root.path()).await;

    let events = list(&mut client, ".txt", true, 10).await;
    // The directory d.txt: a warning alone, first, naming it.
    assert!(events[0].identity.is_none());
    assert_eq!(events[0].diagnostic[0].summary, "Not A Regular File");
    assert!(events[0].diagnostic[0].detail.starts_with("d.txt in "));
    let events = objects(events);
    let names: Vec<&str> = events.iter().map(|e| e.display_name.as_str()).collect();
    assert_eq!(names, ["a.txt", "b.txt"]);
    assert_eq!(
        identity_path(events[1].identity.as_ref()),
        Value::from("b.txt")
    );
    let state = value(events[1].resource_object.as_ref(), &file_type());
    assert_eq!(state.attr("content"), &Value::from("bee"));
    assert_eq!(state.attr("id"), &Value::from("b.txt"));

    let first = objects(list(&mut client, "", false, 1).await);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].display_name, "a.txt");
    assert!(first[0].resource_object.is_none());

    let invalid = client
        .validate_list_resource_config(pb::validate_list_resource_config::Request {
            type_name: "localfile_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(invalid.diagnostics[0].detail.contains("\"localfile_nope\""));
}

#[tokio::test]
async fn import_by_identity_then_read_and_generate_config() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "ay").unwrap();
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = configured(&plugin, &cert, root.path()).await;

    let identity = pb::ResourceIdentityData {
        identity_data: dv(&object(&[("path", "a.txt")]), &identity_type()),
    };
    let imported = client
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "localfile_file".into(),
            id: String::new(),
            client_capabilities: None,
            identity: Some(identity.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        imported.diagnostics.is_empty(),
        "{:?}",
        imported.diagnostics
    );
    let resource = &imported.imported_resources[0];
    assert_eq!(
        identity_path(resource.identity.as_ref()),
        Value::from("a.txt")
    );
    let state = value(resource.state.as_ref(), &file_type());
    assert_eq!(state.attr("path"), &Value::from("a.txt"));

    let read = client
        .read_resource(pb::read_resource::Request {
            type_name: "localfile_file".into(),
            current_state: resource.state.clone(),
            current_identity: Some(identity),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    assert_eq!(
        identity_path(read.new_identity.as_ref()),
        Value::from("a.txt")
    );

    let generated = client
        .generate_resource_config(pb::generate_resource_config::Request {
            type_name: "localfile_file".into(),
            state: read.new_state,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        generated.diagnostics.is_empty(),
        "{:?}",
        generated.diagnostics
    );
    let config = value(generated.config.as_ref(), &file_type());
    assert_eq!(config.attr("path"), &Value::from("a.txt"));
    assert_eq!(config.attr("content"), &Value::from("ay"));
    // Computed-only attributes are not configuration.
    assert_eq!(config.attr("id"), &Value::Null);
    assert_eq!(config.attr("size"), &Value::Null);
}

/// A `localfile_file` object: `content` "x" at `path`, every other attribute null.
fn file_object(path: Value) -> Value {
    let mut attrs: BTreeMap<String, Value> = ["content_wo", "permissions", "id", "size"]
        .iter()
        .map(|name| (name.to_string(), Value::Null))
        .collect();
    attrs.insert("content".into(), Value::from("x"));
    attrs.insert("path".into(), path);
    Value::Object(attrs)
}

async fn plan_create(client: &mut Client, path: Value) -> pb::plan_resource_change::Response {
    let config = file_object(path);
    let req = pb::plan_resource_change::Request {
        type_name: "localfile_file".into(),
        prior_state: dv(&Value::Null, &file_type()),
        proposed_new_state: dv(&config, &file_type()),
        config: dv(&config, &file_type()),
        ..Default::default()
    };
    let resp = client.plan_resource_change(req).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    resp
}

#[tokio::test]
async fn plan_and_apply_answer_the_identity_once_known() {
    let root = tempfile::tempdir().unwrap();
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = configured(&plugin, &cert, root.path()).await;

    // Terraform 1.15 cannot render a plan holding an unknown identity.
    let unknown = plan_create(&mut client, Value::Unknown).await;
    assert!(unknown.planned_identity.is_none());

    let known = plan_create(&mut client, Value::from("n.txt")).await;
    assert_eq!(
        identity_path(known.planned_identity.as_ref()),
        Value::from("n.txt")
    );
    let applied = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "localfile_file".into(),
            prior_state: dv(&Value::Null, &file_type()),
            planned_state: known.planned_state.clone(),
            config: known.planned_state,
            planned_identity: known.planned_identity,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(
        identity_path(applied.new_identity.as_ref()),
        Value::from("n.txt")
    );
    assert_eq!(
        std::fs::read_to_string(root.path().join("n.txt")).unwrap(),
        "x"
    );

    // Destroy: the prior identity is planned; the deleted object has none.
    let state = applied.new_state;
    let prior_identity = applied.new_identity;
    let destroy = client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "localfile_file".into(),
            prior_state: state.clone(),
            proposed_new_state: dv(&Value::Null, &file_type()),
            config: dv(&Value::Null, &file_type()),
            prior_identity: prior_identity.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(destroy.planned_identity, prior_identity);
    let deleted = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "localfile_file".into(),
            prior_state: state,
            planned_state: dv(&Value::Null, &file_type()),
            config: dv(&Value::Null, &file_type()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.diagnostics.is_empty(), "{:?}", deleted.diagnostics);
    assert!(deleted.new_identity.is_none());
}
