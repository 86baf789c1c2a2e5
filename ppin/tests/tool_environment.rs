//! The environment a tool run through [`LocalTool`] gets, seen by a real
//! process: alone in its test binary, because it sets this process's
//! environment (as Terraform sets the provider's) before anything runs.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::runtime;
use ppin::{Access, LocalTool, Transport};
use tokio_util::sync::CancellationToken;

#[test]
fn the_tool_gets_the_documented_environment_and_not_the_plugin_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("print-env.sh");
    std::fs::write(&script, "#!/bin/sh\nexec env\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // What Terraform hands a provider, and what an operator adds.
    let set = [
        ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
        ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f"),
        ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
        ("SECUROSYS_SECRETS_CONF", "/etc/primus/.secrets.cfg"),
        ("LC_TIME", "C"),
        ("TERM", "xterm-256color"),
        ("SITE_WRAPPER_LOG", "/var/log/ppin-wrapper.log"),
        ("SITE_UNLISTED", "not for the tool"),
        ("PRIMUS_PPIN_ENV", "SITE_WRAPPER_LOG"),
    ];
    for (name, value) in set {
        std::env::set_var(name, value);
    }
    let tool = LocalTool::new(&script, dir.path().join(".secrets.cfg"));
    let printed = runtime().block_on(async {
        let mut terminal = tool
            .start(&[], Access::Read, &CancellationToken::new())
            .await
            .unwrap();
        let mut output = Vec::new();
        let mut chunk = [0u8; 4096];
        // Bounded: the script exits at once; the pty then reads 0 or EIO.
        let read_all = async {
            while let Ok(n @ 1..) = terminal.read(&mut chunk).await {
                output.extend_from_slice(&chunk[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read_all)
            .await
            .expect("the script ends");
        assert!(terminal.wait().await.unwrap().success());
        String::from_utf8(output).unwrap()
    });
    let seen: BTreeMap<&str, &str> = printed
        .lines()
        .filter_map(|line| line.trim_end_matches('\r').split_once('='))
        .collect();
    for absent in [
        "PLUGIN_CLIENT_CERT",
        "TF_PLUGIN_MAGIC_COOKIE",
        "PLUGIN_PROTOCOL_VERSIONS",
        "SITE_UNLISTED",
        "PRIMUS_PPIN_ENV",
        "CARGO_MANIFEST_DIR",
    ] {
        assert!(
            !seen.contains_key(absent),
            "{absent} reached the tool:\n{printed}"
        );
    }
    let path = std::env::var("PATH").unwrap();
    let expected = [
        ("PATH", path.as_str()),
        ("SECUROSYS_SECRETS_CONF", "/etc/primus/.secrets.cfg"),
        ("LC_TIME", "C"),
        ("TERM", "dumb"),
        ("SITE_WRAPPER_LOG", "/var/log/ppin-wrapper.log"),
    ];
    for (name, value) in expected {
        assert_eq!(seen.get(name), Some(&value), "{name}:\n{printed}");
    }
}
