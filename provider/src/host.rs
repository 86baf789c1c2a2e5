//! The `host` of a resource, data source or action: which machine's
//! `.secrets.cfg` and `primus.cfg` it manages. Unset, the machine Terraform
//! runs on; set, a host reached over SSH with the provider's `ssh` settings
//! (see [`crate::remote`]). Also the import ids and identities that name a
//! host.

use serde::{Deserialize, Serialize};
use tfplug::{
    diag::{Diagnostic, Diagnostics},
    schema::{Attribute, Block, NestedBlock, Nesting},
    validators,
    value::Type,
};

/// The SSH port when `port` is not set.
pub(crate) const DEFAULT_SSH_PORT: u16 = 22;

/// The `host` attribute: where the object lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostConfig {
    /// Address or name of the host.
    pub(crate) address: String,
    /// Its SSH port; 22 when unset.
    pub(crate) port: Option<u16>,
    /// Its public key, `TYPE BASE64`: pins it instead of `known_hosts_file`.
    pub(crate) host_key: Option<String>,
}

impl HostConfig {
    /// The host as errors, identities and import ids name it: `ADDRESS:PORT`
    /// (an IPv6 address in brackets).
    pub(crate) fn label(&self) -> String {
        let port = self.port.unwrap_or(DEFAULT_SSH_PORT);
        if self.address.contains(':') {
            format!("[{}]:{port}", self.address)
        } else {
            format!("{}:{port}", self.address)
        }
    }

    /// The `host` an identity's or import id's `ADDRESS[:PORT]` stands for;
    /// the key is not part of it.
    fn parse_label(label: &str) -> Option<HostConfig> {
        let (address, port) = match label.strip_prefix('[') {
            Some(bracketed) => {
                let (address, rest) = bracketed.split_once(']')?;
                match rest {
                    "" => (address, None),
                    _ => (address, Some(rest.strip_prefix(':')?)),
                }
            }
            None => match label.rsplit_once(':') {
                Some((address, port)) => (address, Some(port)),
                None => (label, None),
            },
        };
        if address.is_empty() || address.contains(['/', '[', ']']) {
            return None;
        }
        let port = match port {
            Some(port) => Some(port.parse::<u16>().ok().filter(|p| *p != 0)?),
            None => Some(DEFAULT_SSH_PORT),
        };
        Some(HostConfig {
            address: address.to_owned(),
            port,
            host_key: None,
        })
    }
}

/// A state or configuration that names a host.
pub(crate) trait OnHost {
    /// Its `host`; `None`: the machine Terraform runs on.
    fn host(&self) -> Option<&HostConfig>;
}

/// The `host` block of every resource, data source and action. A block,
/// not a nested attribute: Terraform 1.0 crashes planning a null nested
/// attribute. `address` and `port` name another machine, so changing them
/// replaces a resource; a new `host_key` for the same machine is recorded
/// in place.
pub(crate) fn host_block() -> NestedBlock {
    let block = Block::new()
        .markdown_description(
            "The host whose files this manages, reached over SSH with the provider's `ssh` settings; there the \
             vendor's `ppin` at `ssh.ppin_command` does the work. Without this block: the machine Terraform runs \
             on. Changing `address` or `port` replaces the resource. See the guide [Onboarding remote hosts over \
             SSH](../guides/remote-hosts.md).",
        )
        .attribute(
            Attribute::required("address", Type::String)
                .requires_replace()
                .validator(validators::string_length(1, 255))
                .markdown_description("Address or DNS name of the host, as SSH reaches it."),
        )
        .attribute(
            Attribute::optional("port", Type::Number)
                .requires_replace()
                .validator(validators::int_between(1, 65535))
                .markdown_description("Its SSH port. Default: `22`."),
        )
        .attribute(Attribute::optional("host_key", Type::String).markdown_description(
            "Its SSH public key, `TYPE BASE64` as in `known_hosts` (e.g. the output of \
             `ssh-keyscan -t ed25519 HOST` without the host name): the only key accepted. Default: the \
             provider's `ssh.known_hosts_file`. A changed key is recorded in place.",
        ));
    NestedBlock::new("host", Nesting::Single, block)
}

/// The computed `host_id` attribute, the host's part of the identity.
pub(crate) fn host_id_attribute() -> Attribute {
    Attribute::computed("host_id", Type::String)
        .use_state_for_unknown()
        .markdown_description(
            "The host as `ADDRESS:PORT`, part of the identity; null on the machine Terraform runs on.",
        )
}

/// The `host_id` of an object on `host`.
pub(crate) fn host_id(host: Option<&HostConfig>) -> Option<String> {
    host.map(HostConfig::label)
}

/// The scheme of an import id that names a host.
const SCHEME: &str = "ssh://";

/// An import id split into the host it names (if any) and the object's
/// name there: `NAME` on this machine, `ssh://ADDRESS[:PORT]/NAME` on a
/// host. For a file the name is its absolute path, so
/// `ssh://app1.example:22/etc/primus/primus.cfg` names `/etc/primus/primus.cfg`
/// (`keep_slash`).
pub(crate) fn split_import_id(
    id: &str,
    keep_slash: bool,
) -> Result<(Option<HostConfig>, String), Diagnostics> {
    let Some(rest) = id.strip_prefix(SCHEME) else {
        return Ok((None, id.to_owned()));
    };
    let refuse = || -> Diagnostics {
        Diagnostic::error(
            "Invalid Import ID",
            format!(
                "{id:?} is not an import id of an object on a host. Use ssh://ADDRESS[:PORT]/NAME, e.g. \
                 ssh://app1.example.org/APP_USER or ssh://[2001:db8::5]:2222/APP_USER, and for a primus_config \
                 the file's absolute path, e.g. ssh://app1.example.org/etc/primus/primus.cfg."
            ),
        )
        .into()
    };
    let slash = rest.find('/').ok_or_else(refuse)?;
    let (label, path) = rest.split_at(slash);
    let name = if keep_slash { path } else { &path[1..] };
    let host = HostConfig::parse_label(label).ok_or_else(refuse)?;
    if name.is_empty() || name == "/" {
        return Err(refuse());
    }
    Ok((Some(host), name.to_owned()))
}

/// The import id of `name` on `host` (see [`split_import_id`]).
pub(crate) fn import_id(host_id: Option<&str>, name: &str) -> String {
    match host_id {
        None => name.to_owned(),
        Some(label) if name.starts_with('/') => format!("{SCHEME}{label}{name}"),
        Some(label) => format!("{SCHEME}{label}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(address: &str, port: u16) -> HostConfig {
        HostConfig {
            address: address.to_owned(),
            port: Some(port),
            host_key: None,
        }
    }

    #[test]
    fn import_ids_name_the_host_and_the_object() {
        assert_eq!(
            split_import_id("APP", false).unwrap(),
            (None, "APP".to_owned())
        );
        assert_eq!(
            split_import_id("ssh://app1.example.org/APP", false).unwrap(),
            (Some(host("app1.example.org", 22)), "APP".to_owned())
        );
        assert_eq!(
            split_import_id("ssh://127.0.0.1:40022/APP", false).unwrap(),
            (Some(host("127.0.0.1", 40022)), "APP".to_owned())
        );
        assert_eq!(
            split_import_id("ssh://[2001:db8::5]:2222/APP", false).unwrap(),
            (Some(host("2001:db8::5", 2222)), "APP".to_owned())
        );
        assert_eq!(
            split_import_id("ssh://app1:22/etc/primus/primus.cfg", true).unwrap(),
            (Some(host("app1", 22)), "/etc/primus/primus.cfg".to_owned())
        );
        for bad in [
            "ssh://app1",
            "ssh://app1/",
            "ssh://:22/APP",
            "ssh://app1:0/APP",
            "ssh://app1:port/APP",
            "ssh://[::1/APP",
        ] {
            let refused = split_import_id(bad, false).unwrap_err();
            let detail = &refused.iter().next().unwrap().detail;
            assert!(
                detail.contains("ssh://ADDRESS[:PORT]/NAME"),
                "{bad}: {detail}"
            );
        }
    }

    #[test]
    fn an_import_id_made_from_an_identity_reads_back() {
        for (label, name, keep_slash) in [
            ("app1:22", "APP", false),
            ("[2001:db8::5]:2222", "APP", false),
            ("app1:22", "/etc/primus/primus.cfg", true),
        ] {
            let id = import_id(Some(label), name);
            let (host, read) = split_import_id(&id, keep_slash).unwrap();
            assert_eq!(host.unwrap().label(), label);
            assert_eq!(read, name);
        }
        assert_eq!(import_id(None, "APP"), "APP");
    }
}
