//! Protocol-level tests with a tonic client, for what Terraform 1.0.3
//! cannot exercise: the handshake details, refused certificates, write-only
//! attributes with and without the client capability, GetMetadata,
//! unknown values, the side services and shutdown.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tfplug::proto::plugin as gp;
use tfplug::proto::tfplugin6 as pb;
use tfplug::testing::{target_binary, ClientCert, PluginProcess};
use tfplug::value::{from_msgpack, to_msgpack, Type, Value};

fn example() -> std::path::PathBuf {
    target_binary("examples/localfile").unwrap()
}

fn file_type() -> Type {
    Type::object([
        ("path", Type::String),
        ("content", Type::String),
        ("content_wo", Type::String),
        ("permissions", Type::String),
        ("id", Type::String),
        ("size", Type::Number),
    ])
}

fn object(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> =
        ["path", "content", "content_wo", "permissions", "id", "size"]
            .iter()
            .map(|k| (k.to_string(), Value::Null))
            .collect();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: to_msgpack(v, ty).unwrap(),
        json: vec![],
    })
}

fn decode(v: &Option<pb::DynamicValue>) -> Value {
    from_msgpack(&v.as_ref().unwrap().msgpack, &file_type()).unwrap()
}

fn caps(write_only: bool) -> Option<pb::ClientCapabilities> {
    Some(pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: write_only,
    })
}

type Client = pb::provider_client::ProviderClient<tonic::transport::Channel>;

async fn validate(client: &mut Client, config: &Value, write_only: bool) -> Vec<pb::Diagnostic> {
    let req = pb::validate_resource_config::Request {
        type_name: "localfile_file".into(),
        config: dv(config, &file_type()),
        client_capabilities: if write_only { caps(true) } else { None },
    };
    client
        .validate_resource_config(req)
        .await
        .unwrap()
        .into_inner()
        .diagnostics
}

async fn plan_create(
    client: &mut Client,
    config: &Value,
    write_only: bool,
) -> pb::plan_resource_change::Response {
    let ty = file_type();
    let req = pb::plan_resource_change::Request {
        type_name: "localfile_file".into(),
        prior_state: dv(&Value::Null, &ty),
        proposed_new_state: dv(config, &ty),
        config: dv(config, &ty),
        client_capabilities: caps(write_only),
        ..Default::default()
    };
    let resp = client.plan_resource_change(req).await.unwrap().into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    resp
}

async fn configured(plugin: &PluginProcess, cert: &ClientCert, root: &Path) -> Client {
    let mut client = plugin.provider_client(cert).await.unwrap();
    let config = Value::Object(BTreeMap::from([(
        "root".to_owned(),
        Value::from(root.display().to_string()),
    )]));
    let ty = Type::object([("root", Type::String)]);
    let resp = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&config, &ty),
            client_capabilities: caps(true),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    client
}

#[tokio::test]
async fn handshake_line_socket_and_side_services() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let parts: Vec<&str> = plugin.handshake.split('|').collect();
    assert_eq!(parts[..3], ["1", "6", "unix"], "{}", plugin.handshake);
    assert_eq!(parts[4], "grpc");
    assert!(
        !parts[5].ends_with('='),
        "certificate must be base64 without padding"
    );
    let dir = plugin.socket().parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700,
        "socket dir must be private"
    );

    let channel = plugin.connect(&cert).await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let mut stdio = gp::grpc_stdio_client::GrpcStdioClient::new(channel.clone());
    let mut stream = stdio.stream_stdio(()).await.unwrap().into_inner();
    // The stream stays open without data (logs go to stderr as JSON).
    assert!(
        tokio::time::timeout(Duration::from_millis(100), stream.message())
            .await
            .is_err()
    );

    let mut controller = gp::grpc_controller_client::GrpcControllerClient::new(channel);
    controller.shutdown(gp::Empty {}).await.unwrap();
    // Terraform waits 2 s for a plugin to exit before killing it.
    let (status, stderr) = plugin.wait(Duration::from_millis(1900));
    let status = status.expect("provider must exit by itself after Shutdown");
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(!dir.exists(), "socket directory must be removed on exit");
    // Logs are hclog JSON lines.
    let line = stderr
        .lines()
        .find(|l| l.contains("shutdown requested"))
        .expect(&stderr);
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(json["@level"], "debug");
    assert!(json["@timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(json["@module"].as_str().unwrap().contains("tfplug"));
}

#[tokio::test]
async fn a_client_with_another_certificate_is_refused() {
    let cert = ClientCert::generate().unwrap();
    let stranger = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();

    let mut client = plugin.provider_client(&stranger).await.ok();
    if let Some(c) = client.as_mut() {
        // TLS 1.3 lets the client finish before the server checks its
        // certificate; the first call must then fail.
        let r = c.get_metadata(pb::get_metadata::Request {}).await;
        assert!(r.is_err(), "a stranger's certificate must be refused");
    }
    // The rightful client still gets through.
    let channel = plugin.connect(&cert).await.unwrap();
    let mut good = pb::provider_client::ProviderClient::new(channel.clone());
    good.get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap();
    // Stop the provider cleanly so its whole log can be read.
    gp::grpc_controller_client::GrpcControllerClient::new(channel)
        .shutdown(gp::Empty {})
        .await
        .unwrap();
    let (_, stderr) = plugin.wait(Duration::from_millis(1900));
    assert!(stderr.contains("refused a client"), "{stderr}");
}

#[test]
fn run_by_hand_it_says_what_it_is() {
    let out = Command::new(example())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Terraform provider plugin") && stderr.contains("--debug"),
        "{stderr}"
    );

    let out = Command::new(example())
        .env("TF_PLUGIN_MAGIC_COOKIE", tfplug::serve::MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .env("PLUGIN_CLIENT_CERT", ClientCert::generate().unwrap().pem)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("speaks only protocol 6"));

    let out = Command::new(example())
        .env("TF_PLUGIN_MAGIC_COOKIE", tfplug::serve::MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PLUGIN_CLIENT_CERT is not set"));
}

#[tokio::test]
async fn metadata_and_schema() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = plugin.provider_client(&cert).await.unwrap();
    let meta = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(meta.diagnostics.is_empty(), "{:?}", meta.diagnostics);
    assert_eq!(
        meta.resources
            .iter()
            .map(|r| r.type_name.as_str())
            .collect::<Vec<_>>(),
        ["localfile_file"]
    );
    assert_eq!(
        meta.data_sources
            .iter()
            .map(|r| r.type_name.as_str())
            .collect::<Vec<_>>(),
        ["localfile_file"]
    );

    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let block = schema.resource_schemas["localfile_file"]
        .block
        .clone()
        .unwrap();
    let wo = block
        .attributes
        .iter()
        .find(|a| a.name == "content_wo")
        .unwrap();
    assert!(wo.write_only && wo.sensitive && wo.optional && !wo.computed);
    let perms = block
        .attributes
        .iter()
        .find(|a| a.name == "permissions")
        .unwrap();
    assert!(
        perms.optional && perms.computed,
        "a default makes the attribute optional+computed"
    );
    let size = block.attributes.iter().find(|a| a.name == "size").unwrap();
    assert_eq!(size.r#type, b"\"number\"");

    // Unsupported RPCs answer with a diagnostic, not a transport error.
    let moved = client
        .move_resource_state(pb::move_resource_state::Request::default())
        .await
        .unwrap()
        .into_inner();
    assert!(moved.diagnostics[0].summary.contains("Not Supported"));
}

#[tokio::test]
async fn write_only_attribute_with_and_without_capability() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut client = configured(&plugin, &cert, root.path()).await;
    let ty = file_type();
    let config = object(&[("path", "s.txt".into()), ("content_wo", "s3cret".into())]);

    // An older client (no capability): refused at validation, naming the attribute.
    let old = validate(&mut client, &config, false).await;
    assert_eq!(old.len(), 1, "{old:?}");
    assert!(old[0].detail.contains("content_wo"));
    assert!(old[0].attribute.is_some());

    // A client with the capability: accepted, and the value never enters plan or state.
    let new = validate(&mut client, &config, true).await;
    assert!(new.is_empty(), "{new:?}");

    let plan = plan_create(&mut client, &config, true).await;
    let planned = decode(&plan.planned_state);
    assert!(planned.attr("content_wo").is_null());
    assert_eq!(planned.attr("content"), &Value::from(""), "default applied");
    assert!(planned.attr("id").is_unknown() && planned.attr("size").is_unknown());

    let applied = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "localfile_file".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: plan.planned_state.clone(),
            config: dv(&config, &ty),
            planned_private: plan.planned_private,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = decode(&applied.new_state);
    assert!(
        state.attr("content_wo").is_null(),
        "write-only value must not be in the state"
    );
    assert!(
        !String::from_utf8_lossy(&applied.new_state.as_ref().unwrap().msgpack).contains("s3cret")
    );
    assert_eq!(
        std::fs::read_to_string(root.path().join("s.txt")).unwrap(),
        "s3cret"
    );

    let read = client
        .read_resource(pb::read_resource::Request {
            type_name: "localfile_file".into(),
            current_state: applied.new_state.clone(),
            private: applied.private,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    assert_eq!(
        decode(&read.new_state),
        state,
        "read keeps the state (no drift from the write-only content)"
    );
}

#[tokio::test]
async fn unknown_values_round_trip() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut client = configured(&plugin, &cert, root.path()).await;
    let ty = file_type();
    // content comes from another resource not yet created: unknown.
    let config = object(&[("path", "u.txt".into()), ("content", Value::Unknown)]);
    let diags = validate(&mut client, &config, false).await;
    assert!(diags.is_empty(), "{diags:?}");

    let plan = plan_create(&mut client, &config, false).await;
    let planned = decode(&plan.planned_state);
    assert!(
        planned.attr("content").is_unknown(),
        "configured unknown stays unknown"
    );
    assert_eq!(planned.attr("permissions"), &Value::from("0644"));
    assert!(planned.attr("size").is_unknown());

    // Terraform's own encoding of an unknown (fixext1 type 0) and other
    // extension types all read as unknown.
    let mut raw = to_msgpack(&object(&[("path", "u.txt".into())]), &ty).unwrap();
    let pos = raw.windows(8).position(|w| w == b"\xa7content").unwrap() + 8;
    assert_eq!(raw[pos], 0xc0);
    raw.splice(pos..pos + 1, [0xd4, 0x0c, 0x00]);
    assert!(from_msgpack(&raw, &ty)
        .unwrap()
        .attr("content")
        .is_unknown());
}
