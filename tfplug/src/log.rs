//! Logging: `tracing` events written to stderr as hclog JSON lines
//! (`@level`, `@message`, `@module`, `@timestamp`, then fields), the format
//! go-plugin's log reader in Terraform parses, so they appear in Terraform's
//! log at their own level. `TF_LOG_PROVIDER`, else `TF_LOG`, picks the level
//! (TRACE, DEBUG, INFO, WARN, ERROR, OFF; JSON means TRACE).

use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

/// The level from the environment; `None` means off.
fn level_from_env(debug: bool) -> Option<Level> {
    let raw = std::env::var("TF_LOG_PROVIDER")
        .or_else(|_| std::env::var("TF_LOG"))
        .ok();
    match raw.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE" | "JSON") => Some(Level::TRACE),
        Some("DEBUG") => Some(Level::DEBUG),
        Some("INFO") => Some(Level::INFO),
        Some("WARN") => Some(Level::WARN),
        Some("ERROR") => Some(Level::ERROR),
        Some("OFF") => None,
        // Unset or unrecognised: warnings and errors still reach Terraform,
        // which shows them only when its own log is on.
        _ if debug => Some(Level::INFO),
        _ => Some(Level::WARN),
    }
}

pub(crate) fn init(debug: bool) {
    let Some(max) = level_from_env(debug) else {
        return;
    };
    // A second init (e.g. in tests serving twice) keeps the first subscriber.
    // The transport crates' own tracing would drown the provider's lines
    // at TRACE; they are capped at INFO.
    let transport_max = max.min(Level::INFO);
    let filter = [
        "h2",
        "hyper",
        "hyper_util",
        "tower",
        "tonic",
        "rustls",
        "tokio_rustls",
    ]
    .into_iter()
    .fold(Targets::new().with_default(max), |f, t| {
        f.with_target(t, transport_max)
    });
    let _ = tracing_subscriber::registry()
        .with(HclogLayer {
            module: module_name(),
        })
        .with(filter)
        .try_init();
}

fn module_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "provider".to_owned())
}

struct HclogLayer {
    module: String,
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, serde_json::Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, serde_json::Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, serde_json::Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, serde_json::Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, serde_json::Value::from(format!("{value:?}")));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.rest.insert(field.name().to_owned(), value);
        }
    }
}

fn hclog_level(l: &Level) -> &'static str {
    match *l {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

fn timestamp() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = serde_json::Map::new();
        line.insert(
            "@level".to_owned(),
            hclog_level(event.metadata().level()).into(),
        );
        line.insert("@message".to_owned(), fields.message.into());
        line.insert(
            "@module".to_owned(),
            format!("{}.{}", self.module, event.metadata().target()).into(),
        );
        line.insert("@timestamp".to_owned(), timestamp().into());
        line.extend(fields.rest);
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        // Logging must never fail the provider; a closed stderr loses logs only.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// At TRACE, names the top-level attributes a plan leaves unknown and
/// those whose planned value differs from the prior state: names only,
/// never a value, so sensitive and write-only attributes are safe too.
pub(crate) fn trace_plan(type_name: &str, prior: &crate::cty::Value, planned: &crate::cty::Value) {
    let crate::cty::Value::Object(attributes) = planned else {
        return;
    };
    if !tracing::enabled!(Level::TRACE) {
        return;
    }
    let names = |wanted: &dyn Fn(&str, &crate::cty::Value) -> bool| {
        attributes
            .iter()
            .filter(|(name, value)| wanted(name, value))
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let unknown = names(&|_, v| !v.is_wholly_known());
    let changed = names(&|n, v| v.is_wholly_known() && prior.attr(n) != v);
    tracing::trace!(
        tf_rpc = "PlanResourceChange",
        tf_resource_type = type_name,
        tf_plan_unknown = unknown,
        tf_plan_changed = changed,
        "planned change"
    );
}
