//! The identity of `primus_config`: `{ path }`, the file it writes.

use tfplug::{
    resource::{Identity, IdentityAttribute, IdentitySchema},
    value::Type,
};

use super::PrimusConfigResource;
use crate::client::Client;

impl Identity<Client> for PrimusConfigResource {
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new().attribute(
            IdentityAttribute::required("path", Type::String)
                .description("The path of the primus.cfg file, as the import id."),
        )
    }
}
