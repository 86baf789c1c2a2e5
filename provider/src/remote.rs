//! The provider's `ssh` block and the hosts it reaches: one SSH connection
//! per host per provider process (channels multiplexed on it), and on each
//! host the vendor's `ppin` driven by the external engine, its files read
//! and written there over the same connection.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ppin::{Engine, ExternalEngine, ExternalTimeouts, HostPaths, Ppin, PpinError, RunAs, SshTool};
use primus_core::Password;
use primus_ssh::{PoolLimits, Settings, SshPool};
use serde::Deserialize;
use tfplug::{
    diag::{AttributePath, Diagnostic, Diagnostics},
    schema::{Attribute, Block, NestedBlock, Nesting},
    validators,
    value::Type,
};
use tokio::sync::OnceCell;

use crate::durations::{duration, duration_validator};
use crate::host::{HostConfig, DEFAULT_SSH_PORT};

/// Where the vendor installs `ppin`: the tool run on a host unless
/// `ssh.ppin_command` says otherwise.
pub(crate) const DEFAULT_REMOTE_PPIN: &str = "/usr/local/primus/bin/ppin";
/// Terraform's `connection` default user.
const DEFAULT_USER: &str = "root";
/// Terraform's `connection` default timeout.
const DEFAULT_TIMEOUT: &str = "5m";
/// How long one `ppin -l` of a host serves the refreshes that follow it
/// (this process's own edits start a new one): a plan's refresh of a host's
/// resources then runs the tool once. A provider process lives for one plan
/// or one apply, so an edit made on the host by hand is seen by the next.
const HOST_LISTING_REUSE: Duration = Duration::from_secs(60);

/// The `ssh` block, as Terraform sends it. Names are those of Terraform's
/// `connection` block where it has one.
#[derive(Deserialize, Default)]
pub(crate) struct SshBlock {
    user: Option<String>,
    private_key: Option<Password>,
    agent: Option<bool>,
    timeout: Option<String>,
    known_hosts_file: Option<String>,
    accept_new_host_key: Option<bool>,
    bastion_host: Option<String>,
    bastion_port: Option<u16>,
    bastion_user: Option<String>,
    bastion_private_key: Option<Password>,
    bastion_host_key: Option<String>,
    sudo: Option<bool>,
    max_connections: Option<u16>,
    ppin_command: Option<String>,
    config_file: Option<String>,
    secrets_file: Option<String>,
}

/// The schema of the `ssh` block.
pub(crate) fn ssh_block() -> NestedBlock {
    let text = |name: &str, description: &str| {
        Attribute::optional(name, Type::String).markdown_description(description)
    };
    let block = Block::new()
        .markdown_description(
            "How to reach the hosts that resources name with `host`, and what runs there. Names follow Terraform's \
             `connection` block. Host keys are always verified: each host's `host_key`, else `known_hosts_file`; \
             an unknown host or a changed key is refused before authentication. See the guide [Onboarding remote \
             hosts over SSH](guides/remote-hosts.md).",
        )
        .attribute(text("user", "The SSH user. Default: `root`."))
        .attribute(
            text(
                "private_key",
                "The private key (OpenSSH, PEM or PKCS#8 text, unencrypted), e.g. `file(\"~/.ssh/id_ed25519\")`. \
                 Offered once per host. Sensitive; never stored in the state.",
            )
            .sensitive(),
        )
        .attribute(Attribute::optional("agent", Type::Bool).markdown_description(
            "Also offer the keys of the SSH agent at `SSH_AUTH_SOCK`, each once. Default: `true` when \
             `SSH_AUTH_SOCK` is set.",
        ))
        .attribute(
            text(
                "timeout",
                "Limit for opening a connection (TCP, key exchange, authentication) and for each short command \
                 on the host. Default: `5m`.",
            )
            .validator(duration_validator()),
        )
        .attribute(text(
            "known_hosts_file",
            "An OpenSSH `known_hosts` file (plain or hashed lines) to check host keys against when a host sets \
             no `host_key`. Default: `~/.ssh/known_hosts`.",
        ))
        .attribute(Attribute::optional("accept_new_host_key", Type::Bool).markdown_description(
            "Trust on first use: a host with no line in `known_hosts_file` is accepted and its key appended \
             there, so a later change is refused. Default: `false`: an unknown host is refused, naming its key \
             type and SHA256 fingerprint.",
        ))
        .attribute(text("bastion_host", "A jump host the connections go through."))
        .attribute(
            Attribute::optional("bastion_port", Type::Number)
                .validator(validators::int_between(1, 65535))
                .markdown_description("The jump host's SSH port. Default: `22`."),
        )
        .attribute(text("bastion_user", "The user on the jump host. Default: `user`."))
        .attribute(
            text(
                "bastion_private_key",
                "The key for the jump host. Default: `private_key`. Sensitive.",
            )
            .sensitive(),
        )
        .attribute(text(
            "bastion_host_key",
            "The jump host's public key, `TYPE BASE64`. Default: checked against `known_hosts_file`.",
        ))
        .attribute(Attribute::optional("sudo", Type::Bool).markdown_description(
            "Run `ppin` and the file edits through `sudo -n` (never a password prompt: the SSH user needs a \
             `NOPASSWD` rule; without one every operation fails before any password is sent). With `sudo` the \
             tool sees root's environment, so set `config_file` and `secrets_file` when the files are not at \
             the vendor's default paths. Default: `false`.",
        ))
        .attribute(
            Attribute::optional("max_connections", Type::Number)
                .validator(validators::int_between(1, 1000))
                .markdown_description(
                    "Connections being opened at once, across hosts (each host still gets one connection). \
                     Default: `10`, below OpenSSH's `MaxStartups`.",
                ),
        )
        .attribute(text(
            "ppin_command",
            "Path of the vendor's `ppin` on the hosts. Default: `/usr/local/primus/bin/ppin`.",
        ))
        .attribute(text(
            "config_file",
            "Path of `primus.cfg` on the hosts (passed as `-c`). Default: the vendor's lookup on each host \
             (`$SECUROSYS_PKCS11_CONF` of the SSH session, else `/etc/primus/primus.cfg`, else \
             `/usr/local/primus/etc/primus.cfg`).",
        ))
        .attribute(text(
            "secrets_file",
            "Path of `.secrets.cfg` on the hosts (passed as `-s`). Default: the vendor's lookup on each host \
             (`$SECUROSYS_SECRETS_CONF`, else `/etc/primus/.secrets.cfg`, else \
             `/usr/local/primus/etc/.secrets.cfg`).",
        ));
    NestedBlock::new("ssh", Nesting::Single, block)
}

/// The hosts of one provider process: its SSH settings, one connection
/// per host and one `ppin` door per host, each made on first use.
#[derive(Debug)]
pub(crate) struct Remote {
    /// The settings every host shares; `host`, `port` and `host_key` are
    /// each resource's own.
    settings: Settings,
    run_as: RunAs,
    program: String,
    config_file: Option<String>,
    secrets_file: Option<String>,
    pool: SshPool,
    cancel: tokio_util::sync::CancellationToken,
    doors: Mutex<HashMap<String, Arc<OnceCell<HostDoor>>>>,
}

/// The `ppin` operations on one host, its engine, and the tool there for
/// the host's files.
#[derive(Debug, Clone)]
pub(crate) struct HostDoor {
    pub(crate) ppin: Arc<Ppin>,
    pub(crate) engine: Arc<ExternalEngine>,
    pub(crate) tool: Arc<SshTool>,
}

impl Remote {
    /// The hosts reached with `block` (all defaults when the provider sets
    /// no `ssh` block); operations stop before any password when `cancel` fires.
    pub(crate) fn new(
        block: Option<SshBlock>,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<Self, Diagnostics> {
        let block = block.unwrap_or_default();
        let mut settings = Settings::new("", block.user.unwrap_or_else(|| DEFAULT_USER.to_owned()));
        settings.private_key = block.private_key;
        settings.agent = block
            .agent
            .unwrap_or_else(|| std::env::var_os("SSH_AUTH_SOCK").is_some_and(|v| !v.is_empty()));
        settings.timeout = duration(
            block.timeout.as_deref(),
            DEFAULT_TIMEOUT,
            AttributePath::root("ssh").attr("timeout"),
        )?;
        settings.known_hosts_file = block.known_hosts_file.map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".ssh/known_hosts"))
        });
        settings.accept_new_host_key = block.accept_new_host_key.unwrap_or(false);
        if settings.accept_new_host_key && settings.known_hosts_file.is_none() {
            return Err(ssh_error(
                "accept_new_host_key",
                "accept_new_host_key needs a known_hosts_file to record the keys it accepts; set known_hosts_file.",
            ));
        }
        settings.bastion_host = block.bastion_host;
        settings.bastion_port = block.bastion_port;
        settings.bastion_user = block.bastion_user;
        settings.bastion_private_key = block.bastion_private_key;
        settings.bastion_host_key = block.bastion_host_key;
        let mut limits = PoolLimits::default();
        if let Some(max) = block.max_connections {
            limits.connections_opening_at_once = usize::from(max);
        }
        Ok(Remote {
            settings,
            run_as: if block.sudo == Some(true) {
                RunAs::Sudo
            } else {
                RunAs::SshUser
            },
            program: block
                .ppin_command
                .unwrap_or_else(|| DEFAULT_REMOTE_PPIN.to_owned()),
            config_file: block.config_file,
            secrets_file: block.secrets_file,
            pool: SshPool::new(limits),
            cancel,
            doors: Mutex::new(HashMap::new()),
        })
    }

    /// The door to `host`: its connection opened (host key verified for
    /// this caller's `host_key` even when another resource opened it), the
    /// tool found there and its `primus.cfg` read, on first use.
    pub(crate) async fn door(&self, host: &HostConfig) -> Result<HostDoor, PpinError> {
        let mut settings = self.settings.clone();
        settings.host.clone_from(&host.address);
        settings.port = host.port.unwrap_or(DEFAULT_SSH_PORT);
        settings.host_key.clone_from(&host.host_key);
        let label = host.label();
        let connected =
            self.pool
                .host(&settings)
                .await
                .map_err(|source| ppin::ExternalError::Ssh {
                    host: label.clone(),
                    source: Box::new(source),
                })?;
        let cell = {
            let mut doors = self.doors.lock().unwrap_or_else(PoisonError::into_inner);
            doors.entry(label.clone()).or_default().clone()
        };
        let door = cell
            .get_or_try_init(|| async {
                let paths = HostPaths {
                    config_file: self.config_file.as_deref(),
                    secrets_file: self.secrets_file.as_deref(),
                };
                let tool = SshTool::connect(
                    connected,
                    label.clone(),
                    self.program.clone(),
                    paths,
                    self.run_as,
                    settings.timeout,
                )
                .await?;
                let tool = Arc::new(tool);
                let engine = ExternalEngine::on_host(
                    tool.clone(),
                    self.config_file.as_ref().map(PathBuf::from),
                    self.secrets_file.as_ref().map(PathBuf::from),
                )
                .with_timeouts(host_timeouts())
                .with_cancel(self.cancel.clone());
                let engine = Arc::new(engine);
                let shared: Arc<dyn Engine> = engine.clone();
                Ok::<_, PpinError>(HostDoor {
                    ppin: Arc::new(Ppin::with_engine(shared)),
                    engine,
                    tool,
                })
            })
            .await?;
        Ok(door.clone())
    }
}

/// The engine's limits on a host: the defaults, with a listing reused for
/// the refreshes of one plan.
fn host_timeouts() -> ExternalTimeouts {
    let defaults = ExternalTimeouts::default();
    ExternalTimeouts::new(defaults.prompt, defaults.run, HOST_LISTING_REUSE)
}

fn ssh_error(attribute: &str, detail: &str) -> Diagnostics {
    Diagnostic::error("Invalid ssh Block", detail)
        .at(AttributePath::root("ssh").attr(attribute))
        .into()
}
