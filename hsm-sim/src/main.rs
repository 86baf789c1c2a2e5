//! `hsm-sim`: run the Primus HSM simulator on 127.0.0.1.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use hsm_sim::{SimConfig, SimOptions, StatePaths};

/// A Securosys Primus HSM simulator for ppin and the Terraform provider.
///
/// Listens on 127.0.0.1 only. The state directory receives the CA (ca.pem), the
/// server certificate, a ready-to-use primus.cfg, the journal of issued secrets,
/// and ready.json once it accepts connections.
#[derive(Debug, Parser)]
#[command(name = "hsm-sim", version)]
struct Args {
    /// Simulator configuration (JSON: users, proxies, policy). Required unless --dev.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for certificates, primus.cfg and state [--dev default: <tmp>/hsm-sim-dev].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// HSM port on 127.0.0.1 (0: pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Admin port on 127.0.0.1 (0: pick a free one).
    #[arg(long, default_value_t = 0)]
    admin_port: u16,
    /// Development mode: a generated configuration (kept in the state directory),
    /// printed credentials and the environment to export. Not for production.
    #[arg(long)]
    dev: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HSM_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hsm-sim: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hsm-sim: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let (config, state_dir) = match (&args.config, &args.state_dir, args.dev) {
        (Some(path), Some(dir), _) => (SimConfig::from_file(path)?, dir.clone()),
        (None, dir, true) => {
            let dir = dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("hsm-sim-dev"));
            (dev_config(&dir)?, dir)
        }
        (Some(path), None, true) => (
            SimConfig::from_file(path)?,
            std::env::temp_dir().join("hsm-sim-dev"),
        ),
        _ => return Err(
            "give --config FILE and --state-dir DIR, or --dev for a ready-made development setup"
                .into(),
        ),
    };
    let mut options = SimOptions::new(&state_dir);
    options.port = args.port;
    options.admin_port = args.admin_port;
    let mut sim = hsm_sim::start(config.clone(), options).await?;
    println!(
        "hsm-sim listening on 127.0.0.1:{} (admin 127.0.0.1:{})",
        sim.port(),
        sim.admin_port()
    );
    println!("primus.cfg: {}", sim.paths().primus_cfg.display());
    println!("CA file:    {}", sim.paths().ca_file.display());
    if args.dev {
        print_dev(&config, sim.paths())?;
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        () = sim.shutdown_requested() => {}
    }
    eprintln!("hsm-sim: stopping");
    sim.shutdown().await;
    Ok(())
}

/// The development configuration: read from the state directory if an earlier
/// `--dev` run wrote it (so credentials and secrets stay valid), else generated.
fn dev_config(state_dir: &Path) -> Result<SimConfig, Box<dyn std::error::Error>> {
    let path = state_dir.join("dev-config.json");
    if path.exists() {
        return Ok(SimConfig::from_file(&path)?);
    }
    let mut config =
        SimConfig::generated(1).with_proxied_user("DEV_CLOUD_USER", "DEV_SERVICE_PROXY");
    config.users[0].name = "DEV_PARTITION".to_owned();
    std::fs::create_dir_all(state_dir)?;
    let json = serde_json::to_vec_pretty(&config)?;
    write_private(&path, &json)?;
    Ok(config)
}

/// Writes a file only its owner can read, atomically: scripts waiting for it
/// never see half of it.
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let staging = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&staging)?;
    file.write_all(content)?;
    file.sync_all()?;
    std::fs::rename(&staging, path)
}

/// Prints, like `vault server -dev`, what to export and the dev credentials,
/// and writes the same as `KEY=VALUE` lines to `dev.env`.
fn print_dev(config: &SimConfig, paths: &StatePaths) -> std::io::Result<()> {
    let mut env = vec![
        (
            "SECUROSYS_PKCS11_CONF".to_owned(),
            paths.primus_cfg.display().to_string(),
        ),
        (
            "SECUROSYS_SECRETS_CONF".to_owned(),
            paths.secrets_cfg.display().to_string(),
        ),
    ];
    let partition = &config.users[0];
    env.push(("PRIMUS_DEV_USER".to_owned(), partition.name.clone()));
    env.push((
        "PRIMUS_DEV_SETUP_PASSWORD".to_owned(),
        partition.setup_password.expose_secret().to_owned(),
    ));
    env.push((
        "PRIMUS_DEV_PKCS11_PASSWORD".to_owned(),
        partition.pkcs11_password.expose_secret().to_owned(),
    ));
    if let Some(cloud) = config.users.iter().find(|u| u.proxy_user.is_some()) {
        env.push(("PRIMUS_DEV_CLOUD_USER".to_owned(), cloud.name.clone()));
        env.push((
            "PRIMUS_DEV_CLOUD_SETUP_PASSWORD".to_owned(),
            cloud.setup_password.expose_secret().to_owned(),
        ));
        env.push((
            "PRIMUS_DEV_CLOUD_PKCS11_PASSWORD".to_owned(),
            cloud.pkcs11_password.expose_secret().to_owned(),
        ));
        if let Some(proxy) = cloud.proxy_user.as_deref().and_then(|p| config.proxy(p)) {
            env.push(("PRIMUS_DEV_PROXY_USER".to_owned(), proxy.name.clone()));
            env.push((
                "PRIMUS_DEV_PROXY_PASSWORD".to_owned(),
                proxy.password.expose_secret().to_owned(),
            ));
        }
    }
    println!();
    println!("WARNING: development mode. The credentials below are printed on purpose; never use them for real.");
    println!();
    println!("Export these to point ppin and the provider at this simulator:");
    for (key, value) in &env[..2] {
        println!("    export {key}={value}");
    }
    println!();
    println!("Development users:");
    for user in &config.users {
        let proxy = user
            .proxy_user
            .as_deref()
            .map(|p| format!(" proxy_user {p}"))
            .unwrap_or_default();
        println!(
            "user {} setup_password {} pkcs11_password {}{proxy}",
            user.name,
            user.setup_password.expose_secret(),
            user.pkcs11_password.expose_secret()
        );
    }
    for proxy in &config.proxies {
        println!(
            "proxy {} password {}",
            proxy.name,
            proxy.password.expose_secret()
        );
    }
    println!();
    println!("The same as KEY=VALUE lines: {}", paths.dev_env.display());
    let lines: String = env
        .iter()
        .map(|(key, value)| format!("{key}={value}\n"))
        .collect();
    write_private(&paths.dev_env, lines.as_bytes())
}
