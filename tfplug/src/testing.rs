//! Test helpers that drive real Terraform and real provider processes
//! (cargo feature `testing`). Provider acceptance tests use these rather
//! than their own copies:
//!
//! - [`terraform_binary`] runs the workspace's `scripts/install-tools.sh`
//!   once and returns the Terraform 1.0.3 it installed;
//! - [`Workspace`] installs a provider binary into a private filesystem
//!   mirror, writes a CLI config naming it, and runs terraform commands
//!   there with captured output;
//! - [`DebugProvider`] starts a provider with `--debug` and hands out its
//!   `TF_REATTACH_PROVIDERS` value;
//! - [`PluginProcess`] starts a provider as Terraform does (AutoMTLS with
//!   a P-521 client certificate) and connects a tonic client to it, for
//!   protocol-level tests;
//! - [`BareProvider`] is the smallest provider a test can serve: nothing
//!   but the resources under test.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::diag::Diagnostics;
use crate::erased::{DataSourceEntry, ResourceEntry};
use crate::proto::tfplugin6::provider_client::ProviderClient;
use crate::providers::{ConfigureRequest, ConfigureResponse, Provider};
use crate::schema::Schema;
use crate::serving::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use crate::tls::PinnedCert;

/// A test helper failed; the message says what and shows the output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// A command could not be started or waited for.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error(
        "`{command}` failed with {status}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    )]
    CommandFailed {
        /// The program and its arguments, as run, for the message.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        stdout: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A provider process did not behave as a plugin should.
    #[error("provider process: {0}")]
    Plugin(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestingError {
    let context = context.into();
    move |source| TestingError::Io { context, source }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Terraform 1.0.3, installed by the workspace's `scripts/install-tools.sh`
/// (run once per test process; it is idempotent and prints the path).
pub fn terraform_binary() -> Result<PathBuf, TestingError> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = PATH.get_or_init(|| {
        let script = workspace_root().join("scripts/install-tools.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = stdout.lines().last().map(str::trim).unwrap_or_default();
        Ok(PathBuf::from(path))
    });
    result.clone().map_err(TestingError::Plugin)
}

/// The hashicorp/null 2.1.2 provider binary installed by the same script
/// (the benchmark's peer).
pub fn null_provider_binary() -> Result<PathBuf, TestingError> {
    terraform_binary()?;
    Ok(workspace_root().join(".tools/null/terraform-provider-null_v2.1.2_x4"))
}

/// A binary of this workspace's build (an example or a test helper), found
/// next to the running test executable in `target/<profile>/`.
pub fn target_binary(relative: &str) -> Result<PathBuf, TestingError> {
    let exe = std::env::current_exe().map_err(io("cannot locate the test executable"))?;
    // Test executables live in target/<profile>/deps/.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| TestingError::Plugin("no target dir".into()))?;
    let path = profile_dir.join(relative);
    if path.is_file() {
        Ok(path)
    } else {
        Err(TestingError::Plugin(format!(
            "{} is not built; run cargo build --examples",
            path.display()
        )))
    }
}

/// Output of one terraform command.
#[derive(Debug)]
pub struct TfOutput {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A private Terraform working directory with the provider installed in a
/// filesystem mirror (`HOST/NAMESPACE/TYPE/VERSION/linux_amd64/`), so
/// `terraform init` finds it without a registry. Each workspace is fresh,
/// so a rebuilt provider is always re-initialised with new checksums.
pub struct Workspace {
    dir: tempfile::TempDir,
    terraform: PathBuf,
    env: Vec<(String, String)>,
}

impl Workspace {
    /// Installs `provider_binary` as `source` (`NAMESPACE/TYPE`, host
    /// registry.terraform.io) at `version`.
    pub fn new(
        provider_binary: &Path,
        source: &str,
        version: &str,
    ) -> Result<Workspace, TestingError> {
        let terraform = terraform_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("tfplug-ws-")
            .tempdir()
            .map_err(io("cannot create a temp dir"))?;
        let (namespace, ty) = source.split_once('/').ok_or_else(|| {
            TestingError::Plugin(format!("source {source:?} is not NAMESPACE/TYPE"))
        })?;
        let platform = dir.path().join(format!(
            "mirror/registry.terraform.io/{namespace}/{ty}/{version}/linux_amd64"
        ));
        std::fs::create_dir_all(&platform).map_err(io("cannot create the mirror"))?;
        let installed = platform.join(format!("terraform-provider-{ty}_v{version}"));
        std::fs::copy(provider_binary, &installed).map_err(io(format!(
            "cannot copy {} into the mirror",
            provider_binary.display()
        )))?;
        let config = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = {:?}\n  }}\n}}\n",
            dir.path().join("mirror").display().to_string()
        );
        std::fs::write(dir.path().join("cli.tfrc"), config)
            .map_err(io("cannot write the CLI config"))?;
        std::fs::create_dir_all(dir.path().join("work"))
            .map_err(io("cannot create the work dir"))?;
        Ok(Workspace {
            dir,
            terraform,
            env: Vec::new(),
        })
    }

    /// The directory terraform runs in (holds main.tf and the state).
    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Runs every later command with the Terraform at `terraform` instead of
    /// the 1.0.3 from [`terraform_binary`] (to test on several versions).
    pub fn set_terraform(&mut self, terraform: PathBuf) {
        self.terraform = terraform;
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Writes `main.tf`.
    pub fn write_config(&self, main_tf: &str) -> Result<(), TestingError> {
        std::fs::write(self.work_dir().join("main.tf"), main_tf).map_err(io("cannot write main.tf"))
    }

    /// The command `terraform ARGS` in this workspace, not yet started, for
    /// tests that must act while it runs (e.g. kill it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.terraform);
        cmd.args(args)
            .current_dir(self.work_dir())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_REATTACH_PROVIDERS")
            .env_remove("TF_CLI_ARGS")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `terraform ARGS` and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Result<TfOutput, TestingError> {
        let out = self
            .command(args)
            .output()
            .map_err(io(format!("cannot run {}", self.terraform.display())))?;
        Ok(TfOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs `terraform ARGS` and fails unless it exits 0.
    pub fn run_ok(&self, args: &[&str]) -> Result<TfOutput, TestingError> {
        let out = self.run(args)?;
        if out.code == 0 {
            Ok(out)
        } else {
            Err(TestingError::CommandFailed {
                command: format!("terraform {}", args.join(" ")),
                status: format!("exit code {}", out.code),
                stdout: out.stdout,
                stderr: out.stderr,
            })
        }
    }

    /// `terraform init`.
    pub fn init(&self) -> Result<TfOutput, TestingError> {
        self.run_ok(&["init", "-no-color", "-input=false"])
    }

    /// `terraform apply -auto-approve`.
    pub fn apply(&self) -> Result<TfOutput, TestingError> {
        self.run_ok(&["apply", "-no-color", "-input=false", "-auto-approve"])
    }

    /// `terraform destroy -auto-approve`.
    pub fn destroy(&self) -> Result<TfOutput, TestingError> {
        self.run_ok(&["destroy", "-no-color", "-input=false", "-auto-approve"])
    }

    /// `terraform plan -detailed-exitcode`: `Ok(true)` when the plan is
    /// empty, `Ok(false)` when it has changes; the output is returned too.
    pub fn plan(&self) -> Result<(bool, TfOutput), TestingError> {
        let out = self.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"])?;
        match out.code {
            0 => Ok((true, out)),
            2 => Ok((false, out)),
            code => Err(TestingError::CommandFailed {
                command: "terraform plan -detailed-exitcode".to_owned(),
                status: format!("exit code {code}"),
                stdout: out.stdout,
                stderr: out.stderr,
            }),
        }
    }

    /// The state as `terraform show -json` prints it.
    pub fn state_json(&self) -> Result<serde_json::Value, TestingError> {
        let out = self.run_ok(&["show", "-json", "-no-color"])?;
        serde_json::from_str(&out.stdout).map_err(|e| {
            TestingError::Plugin(format!("terraform show -json printed invalid JSON: {e}"))
        })
    }

    /// The attribute values of resource `address` (e.g. `localfile_file.a`)
    /// in the current state, or `None` when it is not in the state.
    pub fn resource_values(
        &self,
        address: &str,
    ) -> Result<Option<serde_json::Value>, TestingError> {
        let state = self.state_json()?;
        let resources = state
            .pointer("/values/root_module/resources")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(resources
            .into_iter()
            .find(|r| r.get("address").and_then(serde_json::Value::as_str) == Some(address))
            .and_then(|r| r.get("values").cloned()))
    }
}

/// Waits for `child` to exit, up to `limit`; kills it after that.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Timed out: make sure the process does not outlive the test.
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A provider started with `--debug`, serving until dropped.
pub struct DebugProvider {
    child: Child,
    reattach: String,
}

impl DebugProvider {
    /// Starts `binary --debug` and reads the `TF_REATTACH_PROVIDERS` value it prints.
    pub fn start(binary: &Path) -> Result<DebugProvider, TestingError> {
        let mut child = Command::new(binary)
            .arg("--debug")
            .env_remove(MAGIC_COOKIE_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(io(format!("cannot start {}", binary.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TestingError::Plugin("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let reattach = lines.by_ref().take(20).map_while(Result::ok).find_map(|l| {
            l.trim()
                .strip_prefix("TF_REATTACH_PROVIDERS='")
                .and_then(|r| r.strip_suffix('\''))
                .map(str::to_owned)
        });
        match reattach {
            Some(reattach) => Ok(DebugProvider { child, reattach }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(TestingError::Plugin(
                    "debug mode printed no TF_REATTACH_PROVIDERS line".into(),
                ))
            }
        }
    }

    /// The value to put in `TF_REATTACH_PROVIDERS`.
    pub fn reattach(&self) -> &str {
        &self.reattach
    }

    /// The process id of the provider under test, e.g. to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DebugProvider {
    fn drop(&mut self) {
        // Debug mode runs until interrupted; the test is done with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client certificate like the one Terraform generates per run for
/// AutoMTLS (ECDSA P-521, self-signed, SAN localhost).
pub struct ClientCert {
    /// PEM, as it goes into `PLUGIN_CLIENT_CERT`.
    pub pem: String,
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl ClientCert {
    /// A fresh certificate and key.
    pub fn generate() -> Result<ClientCert, TestingError> {
        let err = |e: rcgen::Error| {
            TestingError::Plugin(format!("cannot make a client certificate: {e}"))
        };
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(err)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(err)?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(ClientCert {
            pem: cert.pem(),
            der: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }
}

/// A provider process started the way Terraform starts it.
pub struct PluginProcess {
    child: Child,
    /// The handshake line the provider printed.
    pub handshake: String,
    socket: PathBuf,
    server_cert: CertificateDer<'static>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl PluginProcess {
    /// Starts `binary` with the magic cookie, `PLUGIN_PROTOCOL_VERSIONS=5,6`
    /// and `PLUGIN_CLIENT_CERT` set to `cert`, and reads the handshake line.
    pub fn start(binary: &Path, cert: &ClientCert) -> Result<PluginProcess, TestingError> {
        let mut child = Command::new(binary)
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", &cert.pem)
            .env("TF_LOG_PROVIDER", "DEBUG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("cannot start {}", binary.display())))?;
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = e.read_to_string(&mut s);
                s
            })
        });
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TestingError::Plugin("no stdout".into()))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(io("cannot read the handshake line"))?;
        let handshake = line.trim_end().to_owned();
        let parts: Vec<&str> = handshake.split('|').collect();
        let [_, _, "unix", socket, "grpc", cert_b64] = parts.as_slice() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestingError::Plugin(format!(
                "unexpected handshake line {handshake:?}"
            )));
        };
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(cert_b64)
            .map_err(|e| TestingError::Plugin(format!("server certificate is not base64: {e}")))?;
        Ok(PluginProcess {
            socket: PathBuf::from(socket),
            handshake: handshake.clone(),
            server_cert: CertificateDer::from(der),
            child,
            stderr,
        })
    }

    /// The unix socket the provider listens on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The process id of the provider under test, e.g. to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects over mutual TLS presenting `cert`, trusting exactly the
    /// server certificate from the handshake line.
    pub async fn connect(
        &self,
        cert: &ClientCert,
    ) -> Result<tonic::transport::Channel, TestingError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TestingError::Plugin(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCert::new(
                self.server_cert.clone(),
                provider,
            )))
            .with_client_auth_cert(vec![cert.der.clone()], cert.key.clone_key())
            .map_err(|e| TestingError::Plugin(e.to_string()))?;
        let mut config = config;
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let socket = self.socket.clone();
        let endpoint = tonic::transport::Endpoint::from_static("http://localhost")
            .connect_timeout(Duration::from_secs(5));
        endpoint
            .connect_with_connector(tower::service_fn(move |_| {
                let connector = connector.clone();
                let socket = socket.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(&socket).await?;
                    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                    let tls = connector.connect(name, stream).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
                }
            }))
            .await
            .map_err(|e| TestingError::Plugin(format!("cannot connect: {e}")))
    }

    /// A tfplugin6 client on a new connection.
    pub async fn provider_client(
        &self,
        cert: &ClientCert,
    ) -> Result<ProviderClient<tonic::transport::Channel>, TestingError> {
        Ok(ProviderClient::new(self.connect(cert).await?))
    }

    /// Waits up to `limit` for the process to exit; kills it otherwise.
    /// Returns the exit status if it exited by itself, and its stderr.
    pub fn wait(mut self, limit: Duration) -> (Option<std::process::ExitStatus>, String) {
        let status = wait_bounded(&mut self.child, limit);
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The smallest provider a test can serve: no provider block (its
/// configuration and client are `()`), no data sources, and the resources
/// a function registers, so a test declares only the resources it is
/// about.
///
/// ```
/// # use tfplug::testing::BareProvider;
/// // No resources at all: serves only the empty provider schema.
/// let provider = BareProvider::new(Vec::new);
/// # drop(provider);
/// ```
pub struct BareProvider {
    resources: fn() -> Vec<ResourceEntry<()>>,
}

impl BareProvider {
    /// A provider with the resources `resources` registers (called once,
    /// when serving starts).
    pub fn new(resources: fn() -> Vec<ResourceEntry<()>>) -> BareProvider {
        BareProvider { resources }
    }
}

#[async_trait::async_trait]
impl Provider for BareProvider {
    type Config = ();
    type Client = ();

    fn schema(&self) -> Schema {
        Schema::new()
    }

    async fn configure(
        &self,
        _: ConfigureRequest<()>,
    ) -> Result<ConfigureResponse<()>, Diagnostics> {
        Ok(ConfigureResponse::new(()))
    }

    fn resources(&self) -> Vec<ResourceEntry<()>> {
        (self.resources)()
    }

    fn data_sources(&self) -> Vec<DataSourceEntry<()>> {
        Vec::new()
    }
}
