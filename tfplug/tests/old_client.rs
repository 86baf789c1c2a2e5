//! A client that announces nothing newer than protocol 6.0, as OpenTofu
//! (no list resources or actions, resource identity only from 1.13) and
//! Terraform before 1.11 are: no client capabilities (neither write-only
//! attributes nor deferral) and no resource identity in any request. The
//! example provider has identity, list resources and actions; it must still
//! serve every managed resource and data source through schema, validate,
//! plan, apply, read, import and destroy, requiring nothing the client did
//! not announce.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use tfplug::proto::tfplugin6 as pb;
use tfplug::testing::{ClientCert, PluginProcess};
use tfplug::value::{from_msgpack, Type, Value};

#[path = "common/grpc.rs"]
#[allow(dead_code)] // helpers shared by several test files; this one needs only some
mod grpc;
use grpc::{configured_by, dv, example, file_type, Client};

const FILE: &str = "localfile_file";

/// The configuration of a `localfile_file` writing `content` to `a.txt`
/// through the plain (not write-only) attribute.
fn file_config(content: &str) -> Value {
    let mut attributes: BTreeMap<String, Value> = ["content_wo", "permissions", "id", "size"]
        .iter()
        .map(|name| (name.to_string(), Value::Null))
        .collect();
    attributes.insert("path".to_owned(), Value::from("a.txt"));
    attributes.insert("content".to_owned(), Value::from(content));
    Value::Object(attributes)
}

fn decode(value: &Option<pb::DynamicValue>, ty: &Type) -> Value {
    from_msgpack(&value.as_ref().unwrap().msgpack, ty).unwrap()
}

/// Plans and applies the change from `prior` to `config` (`Null` for a
/// destroy) as an old client does: no capabilities, no identity. The new state.
async fn plan_and_apply(client: &mut Client, prior: &Value, config: &Value) -> Value {
    let ty = file_type();
    let plan = client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: FILE.into(),
            prior_state: dv(prior, &ty),
            proposed_new_state: dv(config, &ty),
            config: dv(config, &ty),
            client_capabilities: None,
            prior_identity: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let applied = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: FILE.into(),
            prior_state: dv(prior, &ty),
            planned_state: plan.planned_state,
            config: dv(config, &ty),
            planned_private: plan.planned_private,
            planned_identity: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    decode(&applied.new_state, &ty)
}

async fn read(client: &mut Client, state: &Value) -> Value {
    let ty = file_type();
    let read = client
        .read_resource(pb::read_resource::Request {
            type_name: FILE.into(),
            current_state: dv(state, &ty),
            client_capabilities: None,
            current_identity: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    decode(&read.new_state, &ty)
}

#[tokio::test]
async fn every_resource_and_data_source_is_served_to_a_client_announcing_no_capabilities() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let root = tempfile::tempdir().unwrap();
    let written = root.path().join("a.txt");
    let mut client = configured_by(&plugin, &cert, root.path(), "1.6.0", None).await;

    // Every resource and data source has its schema; the lifecycle below covers them all.
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    assert_eq!(schema.resource_schemas.keys().collect::<Vec<_>>(), [FILE]);
    assert_eq!(
        schema.data_source_schemas.keys().collect::<Vec<_>>(),
        [FILE]
    );

    let validated = client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: FILE.into(),
            config: dv(&file_config("one"), &file_type()),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        validated.diagnostics.is_empty(),
        "{:?}",
        validated.diagnostics
    );

    // Create, read, update.
    let created = plan_and_apply(&mut client, &Value::Null, &file_config("one")).await;
    assert_eq!(created.attr("id"), &Value::from("a.txt"));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "one");
    assert_eq!(read(&mut client, &created).await, created);
    let updated = plan_and_apply(&mut client, &created, &file_config("two")).await;
    assert_eq!(updated.attr("content"), &Value::from("two"));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "two");

    // Import by id, without an identity.
    let imported = client
        .import_resource_state(pb::import_resource_state::Request {
            type_name: FILE.into(),
            id: "a.txt".into(),
            client_capabilities: None,
            identity: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        imported.diagnostics.is_empty(),
        "{:?}",
        imported.diagnostics
    );
    let imported = decode(&imported.imported_resources[0].state, &file_type());
    assert_eq!(read(&mut client, &imported).await, updated);

    // The data source.
    let data_type = Type::object([
        ("path", Type::String),
        ("content", Type::String),
        ("size", Type::Number),
    ]);
    let data_config = Value::Object(BTreeMap::from([
        ("path".to_owned(), Value::from("a.txt")),
        ("content".to_owned(), Value::Null),
        ("size".to_owned(), Value::Null),
    ]));
    let validated = client
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: FILE.into(),
            config: dv(&data_config, &data_type),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        validated.diagnostics.is_empty(),
        "{:?}",
        validated.diagnostics
    );
    let data = client
        .read_data_source(pb::read_data_source::Request {
            type_name: FILE.into(),
            config: dv(&data_config, &data_type),
            client_capabilities: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(data.diagnostics.is_empty(), "{:?}", data.diagnostics);
    let data = decode(&data.state, &data_type);
    assert_eq!(data.attr("content"), &Value::from("two"));
    assert_eq!(data.attr("size"), &Value::from(3));

    // Destroy.
    let destroyed = plan_and_apply(&mut client, &updated, &Value::Null).await;
    assert!(destroyed.is_null());
    assert!(!written.exists(), "destroy removes {}", written.display());
}
