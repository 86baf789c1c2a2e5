//! What the gRPC-level tests share: a tonic client of the served example
//! provider, configured with a root directory, and the msgpack values of
//! its `localfile_file` resource.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tfplug::proto::tfplugin6 as pb;
use tfplug::testing::{target_binary, ClientCert, PluginProcess};
use tfplug::value::{to_msgpack, Type, Value};

pub(crate) type Client = pb::provider_client::ProviderClient<tonic::transport::Channel>;

/// The example provider's binary.
pub(crate) fn example() -> PathBuf {
    target_binary("examples/localfile").unwrap()
}

/// The object type of `localfile_file`.
pub(crate) fn file_type() -> Type {
    Type::object([
        ("path", Type::String),
        ("content", Type::String),
        ("content_wo", Type::String),
        ("permissions", Type::String),
        ("id", Type::String),
        ("size", Type::Number),
    ])
}

/// `v` of type `ty` as Terraform sends it.
pub(crate) fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: to_msgpack(v, ty).unwrap(),
        json: vec![],
    })
}

/// A client of `plugin` whose provider is configured with `root`, as a
/// Terraform that supports write-only attributes configures it.
pub(crate) async fn configured(plugin: &PluginProcess, cert: &ClientCert, root: &Path) -> Client {
    let capabilities = pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: true,
    };
    configured_by(plugin, cert, root, "1.11.4", Some(capabilities)).await
}

/// A client of `plugin` whose provider is configured with `root` by a
/// client that calls itself `terraform_version` and announces `capabilities`.
pub(crate) async fn configured_by(
    plugin: &PluginProcess,
    cert: &ClientCert,
    root: &Path,
    terraform_version: &str,
    capabilities: Option<pb::ClientCapabilities>,
) -> Client {
    let mut client = plugin.provider_client(cert).await.unwrap();
    let config = Value::Object(BTreeMap::from([(
        "root".to_owned(),
        Value::from(root.display().to_string()),
    )]));
    let ty = Type::object([("root", Type::String)]);
    let resp = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: terraform_version.into(),
            config: dv(&config, &ty),
            client_capabilities: capabilities,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    client
}
