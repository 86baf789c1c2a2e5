//! Generated protocol types (tfplugin6 and go-plugin), for protocol-level
//! tests and clients.
#![allow(missing_docs, unreachable_pub, clippy::all, clippy::unwrap_used)]

/// Terraform plugin protocol 6.10.
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}
/// go-plugin's controller and stdio services.
pub mod plugin {
    tonic::include_proto!("plugin");
}
