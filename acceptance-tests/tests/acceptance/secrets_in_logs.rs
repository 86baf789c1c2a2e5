//! With `TF_LOG=TRACE`, neither Terraform's full log (its own lines and the
//! provider's) nor the state holds a setup password, PKCS#11 password,
//! proxy password or permanent secret — except the sensitive attributes
//! Terraform 1.0.3 itself stores in the state (`setup_password`,
//! `pkcs11_password`, `password`), which the README documents. The
//! provider's request log is complete: one DEBUG line per request with its
//! RPC, id, type and duration, and at TRACE the attribute names (never
//! values) a plan changes. On Terraform 1.15.5 a setup password also goes
//! through `provider::primus::setup_password_valid` in a variable
//! validation, and the action `primus_login_test` is invoked.

use acceptance_tests::{unwrap_lines, Fixture, Terraform};
use hsm_sim::SimConfig;

const PROXY: &str = "SERVICE_USER";
const STORED_SENSITIVE: [&str; 3] = ["setup_password", "pkcs11_password", "password"];

/// Every form a secret could take in a log: as is, and for permanent
/// secrets (hex from the simulator) also upper-case hex and base64.
fn forms(secret: &str, is_hex_bytes: bool) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    if is_hex_bytes {
        use std::fmt::Write as _;
        let bytes = hex::decode(secret).unwrap();
        forms.push(secret.to_uppercase());
        let mut spaced = String::new();
        for b in &bytes {
            let _ = write!(spaced, "{b}, ");
        }
        forms.push(spaced.trim_end_matches(", ").to_owned());
        forms.push(base64_standard(&bytes));
    }
    forms
}

/// Base64 without padding (a prefix of the padded form too).
fn base64_standard(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// On Terraform 1.15.5: the app's setup password passes through a
/// provider function in a variable validation, and a login test action.
fn function_and_action(tf: Terraform, f: &Fixture) -> String {
    if tf == Terraform::V1_0_3 {
        return String::new();
    }
    format!(
        r#"
variable "app_setup_password" {{
  type      = string
  sensitive = true
  default   = "{app_setup}"
  validation {{
    condition     = provider::primus::setup_password_valid(var.app_setup_password)
    error_message = "malformed setup password"
  }}
}}

action "primus_login_test" "app" {{
  config {{
    user = "U0001"
  }}
}}
"#,
        app_setup = f.setup_password("U0001"),
    )
}

fn config(f: &Fixture, tf: Terraform, version: u32) -> String {
    format!(
        r#"
provider "primus" {{}}
{function_and_action}

resource "primus_service_proxy_password" "p" {{
  proxy_user = "{PROXY}"
  password   = "{proxy}"
}}

resource "primus_permanent_secret" "cloud" {{
  user                = "CLOUD_APP"
  setup_password      = "{cloud_setup}"
  pkcs11_password     = "{cloud_pin}"
  password_wo_version = {version}
  depends_on          = [primus_service_proxy_password.p]
}}

{app}
data "primus_connection_test" "all" {{
  depends_on = [primus_permanent_secret.app, primus_permanent_secret.cloud]
}}
"#,
        proxy = f.proxy_password(PROXY),
        cloud_setup = f.setup_password("CLOUD_APP"),
        cloud_pin = f.pkcs11_password("CLOUD_APP"),
        app = f.permanent_secret("app", "U0001", ""),
        function_and_action = function_and_action(tf, f),
    )
}

/// The provider's lines in Terraform's log, one per line (hclog relays them
/// as `@message: key=value ...`).
fn provider_lines<'a>(log: &'a str, message: &str) -> Vec<&'a str> {
    let needle = format!("{message}:");
    log.lines()
        .filter(|l| l.contains("provider.terraform-provider-primus") && l.contains(&needle))
        .collect()
}

/// Every request the provider received is served once and logged at DEBUG
/// with its RPC, id and duration (and its type where it has one); at TRACE
/// a plan names the attributes it changes.
fn request_log_is_complete(tf: Terraform, log: &str) {
    let received = provider_lines(log, "received request");
    let served = provider_lines(log, "served request");
    assert!(!served.is_empty(), "no request lines in the log");
    assert_eq!(served.len(), received.len(), "one served line per request");
    for line in &served {
        for field in ["[DEBUG]", "tf_rpc=", "tf_req_id=", "tf_req_duration_ms="] {
            assert!(line.contains(field), "{field} missing: {line}");
        }
        if line.contains("tf_rpc=PlanResourceChange") || line.contains("tf_rpc=ApplyResourceChange")
        {
            assert!(line.contains("tf_resource_type=primus_"), "{line}");
        }
    }
    assert_eq!(
        provider_lines(log, "request outcome").len(),
        served.len(),
        "one TRACE outcome line (diagnostics count) per request"
    );
    let rotated = provider_lines(log, "planned change").into_iter().any(|l| {
        l.contains("tf_resource_type=primus_permanent_secret") && l.contains("password_wo_version")
    });
    assert!(rotated, "the TRACE plan line names the changed attribute");
    if tf == Terraform::V1_15_5 {
        let called = served.iter().any(|l| {
            l.contains("tf_rpc=CallFunction") && l.contains("tf_function_name=setup_password_valid")
        });
        assert!(called, "the function call is logged by name");
        let invoked = served.iter().any(|l| {
            l.contains("tf_rpc=InvokeAction") && l.contains("tf_action_type=primus_login_test")
        });
        assert!(invoked, "the action is logged by type");
    }
}

fn trace_log_and_state_hold_no_secret(tf: Terraform) {
    let mut f = Fixture::new(
        tf,
        SimConfig::generated(1).with_proxied_user("CLOUD_APP", PROXY),
    );
    let log = f.ws.work_dir().join("trace.log");
    f.ws.set_env("TF_LOG", "TRACE");
    f.ws.set_env("TF_LOG_PATH", &log.display().to_string());
    f.write(&config(&f, tf, 1));
    f.ws.init().unwrap();
    let mut output = String::new();
    output += &f.apply().stdout;
    f.write(&config(&f, tf, 2));
    output += &f.apply().stdout;
    if tf == Terraform::V1_15_5 {
        let invoked = f.terraform(&[
            "apply",
            "-no-color",
            "-input=false",
            "-auto-approve",
            "-invoke=action.primus_login_test.app",
        ]);
        assert_eq!(invoked.code, 0, "{}", unwrap_lines(&invoked.stderr));
        output += &invoked.stdout;
    }
    assert_eq!(f.issued_count("CLOUD_APP"), 2, "the update ran");
    let (empty, plan) = f.ws.plan().unwrap();
    assert!(empty, "{}", plan.stdout);
    output += &plan.stdout;
    let state_text = std::fs::read_to_string(f.ws.work_dir().join("terraform.tfstate")).unwrap();
    output += &f.ws.destroy().unwrap().stdout;

    let status = f.sim.admin().status().unwrap();
    let mut secrets: Vec<(String, String)> = Vec::new();
    for user in &f.sim.config().users {
        secrets.extend(
            forms(user.setup_password.expose_secret(), false)
                .into_iter()
                .map(|s| (format!("setup password of {}", user.name), s)),
        );
        secrets.extend(
            forms(user.pkcs11_password.expose_secret(), false)
                .into_iter()
                .map(|s| (format!("PKCS#11 password of {}", user.name), s)),
        );
    }
    secrets.extend(
        forms(&f.proxy_password(PROXY), false)
            .into_iter()
            .map(|s| ("proxy password".to_owned(), s)),
    );
    let mut issued = 0;
    for user in &status.users {
        for secret in &user.secrets_issued {
            issued += 1;
            secrets.extend(
                forms(secret, true)
                    .into_iter()
                    .map(|s| (format!("permanent secret of {}", user.name), s)),
            );
        }
    }
    assert_eq!(issued, 3, "two users onboarded, one rotated");

    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.len() > 100_000,
        "TF_LOG=TRACE wrote a full log ({} bytes)",
        log_text.len()
    );
    assert!(
        log_text.contains("provider configured"),
        "the provider's own log lines are in the trace"
    );
    request_log_is_complete(tf, &log_text);
    for (what, secret) in &secrets {
        assert!(
            !log_text.contains(secret.as_str()),
            "the TRACE log contains the {what}"
        );
        assert!(
            !output.contains(secret.as_str()),
            "terraform's output contains the {what}"
        );
    }

    // The state: Terraform 1.0.3 stores sensitive attributes; nothing else may hold a secret.
    let mut state: serde_json::Value = serde_json::from_str(&state_text).unwrap();
    let mut stored_sensitive = 0;
    for resource in state["resources"].as_array_mut().unwrap() {
        for instance in resource["instances"].as_array_mut().unwrap() {
            let attributes = instance["attributes"].as_object_mut().unwrap();
            for name in STORED_SENSITIVE {
                if attributes.remove(name).is_some_and(|v| !v.is_null()) {
                    stored_sensitive += 1;
                }
            }
        }
    }
    assert_eq!(
        stored_sensitive, 5,
        "setup and PKCS#11 password of two users, one proxy password"
    );
    let rest = state.to_string();
    for (what, secret) in &secrets {
        assert!(
            !rest.contains(secret.as_str()),
            "the state holds the {what} outside the documented attributes"
        );
    }
}

acceptance_tests::on_every_terraform!(trace_log_and_state_hold_no_secret,);
