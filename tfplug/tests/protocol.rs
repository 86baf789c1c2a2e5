//! Protocol-level tests with a tonic client, for what Terraform 1.0.3
//! cannot exercise: the handshake details, refused certificates, write-only
//! attributes with and without the client capability, GetMetadata,
//! unknown values, the side services and shutdown.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::Duration;

use tfplug::proto::plugin as gp;
use tfplug::proto::tfplugin6 as pb;
use tfplug::testing::{ClientCert, PluginProcess};
use tfplug::value::{from_msgpack, to_msgpack, Type, Value};

#[path = "common/grpc.rs"]
mod grpc;
use grpc::{configured, dv, example, file_type, Client};

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

fn decode(v: &Option<pb::DynamicValue>) -> Value {
    from_msgpack(&v.as_ref().unwrap().msgpack, &file_type()).unwrap()
}

fn caps(write_only: bool) -> Option<pb::ClientCapabilities> {
    Some(pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: write_only,
    })
}

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
    // Rejected on old clients, so never in a plan or state: no sensitive mark needed.
    assert!(wo.write_only && !wo.sensitive && wo.optional && !wo.computed);
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

fn string_arg(v: &Value) -> pb::DynamicValue {
    dv(v, &Type::String).unwrap()
}

async fn call_mode_bits(
    client: &mut Client,
    arguments: Vec<pb::DynamicValue>,
) -> pb::call_function::Response {
    let req = pb::call_function::Request {
        name: "mode_bits".into(),
        arguments,
    };
    client.call_function(req).await.unwrap().into_inner()
}

#[tokio::test]
async fn functions_are_served_without_configuring_the_provider() {
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = plugin.provider_client(&cert).await.unwrap();

    let listed = client
        .get_functions(pb::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    let mode_bits = &listed.functions["mode_bits"];
    assert_eq!(mode_bits.parameters[0].name, "permissions");
    assert_eq!(mode_bits.parameters[0].r#type, b"\"string\"");
    assert!(!mode_bits.parameters[0].allow_null_value);
    assert_eq!(mode_bits.r#return.as_ref().unwrap().r#type, b"\"number\"");
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.functions.contains_key("mode_bits"));
    let metadata = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = metadata.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["mode_bits"]);
    let actions: Vec<&str> = metadata
        .actions
        .iter()
        .map(|a| a.type_name.as_str())
        .collect();
    assert_eq!(actions, ["localfile_append"]);

    let ok = call_mode_bits(&mut client, vec![string_arg(&Value::from("0755"))]).await;
    assert!(ok.error.is_none(), "{:?}", ok.error);
    let result = from_msgpack(&ok.result.unwrap().msgpack, &Type::Number).unwrap();
    assert_eq!(result, Value::from(0o755));

    let bad = call_mode_bits(&mut client, vec![string_arg(&Value::from("rwx"))]).await;
    let error = bad.error.unwrap();
    assert_eq!(error.function_argument, Some(0));
    assert!(error.text.contains("\"rwx\""), "{}", error.text);

    let null = call_mode_bits(&mut client, vec![string_arg(&Value::Null)]).await;
    assert_eq!(null.error.unwrap().function_argument, Some(0));
    let unknown = call_mode_bits(&mut client, vec![string_arg(&Value::Unknown)]).await;
    let result = from_msgpack(&unknown.result.unwrap().msgpack, &Type::Number).unwrap();
    assert!(result.is_unknown());

    let missing = client
        .call_function(pb::call_function::Request {
            name: "nope".into(),
            arguments: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(missing.error.unwrap().text.contains("no function \"nope\""));
}

fn append_config(path: &str, line: Option<&str>) -> Option<pb::DynamicValue> {
    let ty = Type::object([("path", Type::String), ("line", Type::String)]);
    let config = Value::Object(BTreeMap::from([
        ("path".to_owned(), Value::from(path)),
        ("line".to_owned(), line.map_or(Value::Null, Value::from)),
    ]));
    dv(&config, &ty)
}

async fn invoke_append(client: &mut Client, path: &str) -> (Vec<String>, Vec<pb::Diagnostic>) {
    let req = pb::invoke_action::Request {
        action_type: "localfile_append".into(),
        config: append_config(path, Some("hello")),
        client_capabilities: None,
    };
    let mut events = client.invoke_action(req).await.unwrap().into_inner();
    let mut progress = Vec::new();
    while let Some(event) = events.message().await.unwrap() {
        match event.r#type.unwrap() {
            pb::invoke_action::event::Type::Progress(p) => progress.push(p.message),
            pb::invoke_action::event::Type::Completed(c) => return (progress, c.diagnostics),
        }
    }
    panic!("the stream ended without a completed event");
}

#[tokio::test]
async fn actions_validate_plan_and_stream_their_progress() {
    let root = tempfile::tempdir().unwrap();
    let cert = ClientCert::generate().unwrap();
    let plugin = PluginProcess::start(&example(), &cert).unwrap();
    let mut client = plugin.provider_client(&cert).await.unwrap();
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let block = schema.action_schemas["localfile_append"]
        .schema
        .as_ref()
        .unwrap()
        .block
        .as_ref()
        .unwrap();
    assert_eq!(block.attributes.len(), 2);

    // The schema's validators run at validation and at plan.
    let validate = |config| pb::validate_action_config::Request {
        type_name: "localfile_append".into(),
        config,
    };
    let two_lines = client
        .validate_action_config(validate(append_config("a.txt", Some("a\nb"))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        two_lines.diagnostics.len(),
        1,
        "{:?}",
        two_lines.diagnostics
    );
    let one_line = client
        .validate_action_config(validate(append_config("a.txt", Some("a"))))
        .await
        .unwrap()
        .into_inner();
    assert!(
        one_line.diagnostics.is_empty(),
        "{:?}",
        one_line.diagnostics
    );
    let plan = |line| pb::plan_action::Request {
        action_type: "localfile_append".into(),
        config: append_config("a.txt", Some(line)),
        client_capabilities: None,
    };
    let planned = client.plan_action(plan("x")).await.unwrap().into_inner();
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    let refused = client.plan_action(plan("x\ny")).await.unwrap().into_inner();
    assert_eq!(refused.diagnostics.len(), 1, "{:?}", refused.diagnostics);

    // Invoking needs the configured client.
    let (_, diagnostics) = invoke_append(&mut client, "a.txt").await;
    assert_eq!(diagnostics[0].summary, "Provider Not Configured");
    let mut client = configured(&plugin, &cert, root.path()).await;
    let (progress, diagnostics) = invoke_append(&mut client, "a.txt").await;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(progress.len(), 2, "{progress:?}");
    assert!(progress[0].starts_with("appending to"), "{progress:?}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("a.txt")).unwrap(),
        "hello\n"
    );
    let (_, diagnostics) = invoke_append(&mut client, "no/such/dir/a.txt").await;
    assert_eq!(diagnostics[0].summary, "Cannot Open File");
}
