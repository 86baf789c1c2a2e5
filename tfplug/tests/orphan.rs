//! A provider whose Terraform is gone exits by itself (issue 9): real
//! processes, killed with SIGKILL.
//!
//! - With nothing in flight it is gone within 2 s of its parent's death.
//! - An operation in flight when a real Terraform 1.0.3 is killed finishes,
//!   and its effect (a file written after the kill) is visible.
//!
//! This test binary has its own `main`: started with [`PROVIDER_MODE`] set
//! (Terraform passes its environment on), it serves a test-only provider
//! whose `slow_file` resource takes [`SLOW`] to write its file.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tfplug::diag::{Diagnostic, Diagnostics};
use tfplug::resource::{
    CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ReadRequest, ReadResponse,
    Resource, UpdateRequest, UpdateResponse,
};
use tfplug::schema::{Attribute, Schema};
use tfplug::serve::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use tfplug::testing::{target_binary, BareProvider, ClientCert, Workspace};
use tfplug::value::Type;

/// Set in the environment of the copy of this binary that Terraform starts.
const PROVIDER_MODE: &str = "TFPLUG_ORPHAN_TEST_PROVIDER";
/// How long `slow_file` takes between starting and writing its file: long
/// enough for the test to kill Terraform in between.
const SLOW: Duration = Duration::from_secs(3);

fn main() {
    if std::env::var_os(PROVIDER_MODE).is_some() {
        let provider = BareProvider::new(|| vec![tfplug::resource::register(SlowFile).into()]);
        std::process::exit(tfplug::serve::serve_main(
            provider,
            "registry.terraform.io/tfplug/slow",
        ));
    }
    let tests: [(&str, fn()); 2] = [
        (
            "idle_provider_exits_when_its_parent_is_killed",
            idle_provider_exits_when_its_parent_is_killed,
        ),
        (
            "operation_in_flight_finishes_after_terraform_is_killed",
            operation_in_flight_finishes_after_terraform_is_killed,
        ),
    ];
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let chosen = tests
        .iter()
        .filter(|(name, _)| filter.as_deref().is_none_or(|f| name.contains(f)));
    let mut ran = 0;
    for (name, test) in chosen {
        println!("test {name} ...");
        test();
        println!("test {name} ... ok");
        ran += 1;
    }
    println!("test result: ok. {ran} passed");
}

// ---- the tests ----

fn idle_provider_exits_when_its_parent_is_killed() {
    let cert = ClientCert::generate().unwrap();
    let provider = target_binary("examples/localfile").unwrap();
    // A parent that starts the provider the way go-plugin does (cookie,
    // versions, client certificate), prints its pid and waits for it.
    let mut parent = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" & echo "$!"; wait"#)
        .arg(&provider)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", &cert.pem)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(parent.stdout.take().unwrap()).lines();
    // The pid and the handshake line, in either order.
    let mut pid = None;
    let mut handshake = None;
    for line in lines.by_ref().take(2) {
        let line = line.unwrap();
        match line.trim().parse::<u32>() {
            Ok(n) => pid = Some(n),
            Err(_) => handshake = Some(line),
        }
    }
    let pid = pid.expect("the parent printed the provider's pid");
    let handshake = handshake.expect("the provider printed its handshake line");
    assert!(handshake.starts_with("1|6|unix|"), "{handshake}");
    assert!(alive(pid), "the provider is serving");

    parent.kill().unwrap(); // SIGKILL
    parent.wait().unwrap();

    let gone = wait_gone(pid, Duration::from_secs(2));
    if !gone {
        kill(pid);
    }
    assert!(gone, "the provider {pid} outlived its parent by 2 s");
}

fn operation_in_flight_finishes_after_terraform_is_killed() {
    let exe = std::env::current_exe().unwrap();
    let mut ws = Workspace::new(&exe, "tfplug/slow", "0.1.0").unwrap();
    ws.set_env(PROVIDER_MODE, "1");
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("stored.txt");
    ws.write_config(&format!(
        r#"
terraform {{
  required_providers {{
    slow = {{ source = "tfplug/slow", version = "0.1.0" }}
  }}
}}
resource "slow_file" "a" {{
  path    = "{}"
  content = "stored after the kill"
}}
"#,
        target.display()
    ))
    .unwrap();
    ws.init().unwrap();

    let mut terraform = ws
        .command(&["apply", "-auto-approve", "-no-color", "-input=false"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The create writes its pid into the marker when it starts.
    let marker = started_marker(&target);
    let deadline = Instant::now() + Duration::from_secs(120);
    let pid = loop {
        let written = std::fs::read_to_string(&marker).unwrap_or_default();
        if let Ok(pid) = written.trim().parse::<u32>() {
            break pid;
        }
        assert!(Instant::now() < deadline, "the create never started");
        assert!(
            terraform.try_wait().unwrap().is_none(),
            "terraform exited before the create started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!target.exists(), "the create is still in flight");

    terraform.kill().unwrap(); // SIGKILL, mid-create
    terraform.wait().unwrap();

    // Bounded by the create's own duration plus the exit, with room for a
    // loaded machine; the framework's grace period is longer than this.
    let gone = wait_gone(pid, SLOW + Duration::from_secs(10));
    if !gone {
        kill(pid);
    }
    assert!(gone, "the provider {pid} outlived Terraform");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "stored after the kill",
        "the operation in flight was cut off"
    );
}

// ---- processes ----

/// Whether `pid` is running: present in /proc and not a zombie (an orphan
/// that exited may wait for a reaper that never comes in a container).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Polls until `pid` is gone, at most `limit`; whether it is gone.
fn wait_gone(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive(pid)
}

/// Cleans up a provider that failed the test by staying alive.
fn kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

fn started_marker(target: &Path) -> PathBuf {
    target.with_extension("started")
}

// ---- the test-only provider: a bare provider with this resource ----

/// A file written [`SLOW`] after its create starts, standing for an
/// operation past the point of no return (a secret the HSM issued): it
/// ignores the stop token.
struct SlowFile;

#[derive(Serialize, Deserialize)]
struct SlowFileState {
    path: String,
    content: String,
    id: Option<String>,
}

fn write(state: &SlowFileState) -> Result<(), Diagnostics> {
    std::fs::write(&state.path, &state.content).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Cannot Write File",
            format!("{}: {e}", state.path),
        ))
    })
}

#[tfplug::async_trait]
impl Resource<()> for SlowFile {
    type State = SlowFileState;

    fn type_name(&self) -> &str {
        "slow_file"
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .attribute(Attribute::required("path", Type::String).requires_replace())
            .attribute(Attribute::required("content", Type::String))
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
    }

    async fn create(
        &self,
        req: CreateRequest<'_, (), SlowFileState>,
    ) -> Result<CreateResponse<SlowFileState>, Diagnostics> {
        let mut state = req.planned;
        std::fs::write(
            started_marker(Path::new(&state.path)),
            std::process::id().to_string(),
        )
        .unwrap();
        tokio::time::sleep(SLOW).await;
        write(&state)?;
        state.id = Some(state.path.clone());
        Ok(CreateResponse::new(state))
    }

    async fn read(
        &self,
        req: ReadRequest<'_, (), SlowFileState>,
    ) -> Result<ReadResponse<SlowFileState>, Diagnostics> {
        Ok(if Path::new(&req.state.path).exists() {
            ReadResponse::found(req.state)
        } else {
            ReadResponse::gone()
        })
    }

    async fn update(
        &self,
        req: UpdateRequest<'_, (), SlowFileState>,
    ) -> Result<UpdateResponse<SlowFileState>, Diagnostics> {
        write(&req.planned)?;
        Ok(UpdateResponse::new(req.planned))
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, (), SlowFileState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        let _ = std::fs::remove_file(&req.prior.path);
        Ok(DeleteResponse::new())
    }
}
