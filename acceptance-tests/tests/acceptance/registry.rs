//! A release made and signed by `scripts/release.sh` (with a throwaway GPG
//! key), installed the way users install providers: a real `terraform init`
//! against a provider registry on 127.0.0.1 (service discovery and the
//! registry protocol over HTTPS, trusted through `SSL_CERT_FILE`), which
//! checks the zip against `SHA256SUMS` and `SHA256SUMS` against its
//! signature, writes the lock file, and applies against hsm-sim. The same
//! release copied by `terraform providers mirror` installs from a network
//! mirror. A tampered zip and a signature by another key each make `init`
//! fail with Terraform's own error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use acceptance_tests::{
    unwrap_lines, workspace_root, Fixture, StaticHttps, Terraform, TERRAFORM_BLOCK, VERSION,
};
use base64::Engine as _;
use hsm_sim::SimConfig;
use tfplug::testing::{target_binary, Workspace};

const NAME: &str = "terraform-provider-primus";
/// The registry's namespace and type, as in `HOST/primus-iac/primus`.
const ADDRESS: &str = "primus-iac/primus";

/// A GnuPG home of its own, for keys made in one test; its agent is
/// stopped when dropped, so no process outlives the test.
struct Keyring {
    home: tempfile::TempDir,
}

impl Keyring {
    fn new() -> Keyring {
        // tempdir() makes the directory 0700, as gpg requires of its home.
        Keyring {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn gpg(&self, args: &[&str]) -> Output {
        let out = Command::new("gpg")
            .arg("--batch")
            .args(args)
            .env("GNUPGHOME", self.home.path())
            .output()
            .expect("gpg runs (scripts/install-tools.sh installs gnupg)");
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A new signing key without passphrase for `who`; its fingerprint.
    /// RSA: the OpenPGP code of every Terraform release verifies it.
    fn generate(&self, who: &str) -> String {
        let uid = format!("{who} <{who}@example.invalid>");
        self.gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            &uid,
            "rsa2048",
            "sign",
            "never",
        ]);
        let listing = self.gpg(&["--with-colons", "--list-secret-keys", &uid]);
        String::from_utf8(listing.stdout)
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("fpr:::::::::"))
            .and_then(|rest| rest.split(':').next())
            .expect("gpg lists the new key's fingerprint")
            .to_owned()
    }

    fn armored_public_key(&self, fingerprint: &str) -> String {
        String::from_utf8(self.gpg(&["--armor", "--export", fingerprint]).stdout).unwrap()
    }

    /// A detached binary signature of `file` by `fingerprint`.
    fn sign(&self, fingerprint: &str, file: &Path) -> Vec<u8> {
        let file = file.display().to_string();
        self.gpg(&[
            "--local-user",
            fingerprint,
            "--output",
            "-",
            "--detach-sign",
            &file,
        ])
        .stdout
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .status();
    }
}

/// The files `scripts/release.sh` wrote for the debug build of the
/// provider, signed with a key of `keyring`.
struct Release {
    dir: tempfile::TempDir,
    /// The long key ID (the fingerprint's last 16 hex digits), as the
    /// registry protocol and Terraform's output name it.
    key_id: String,
    public_key: String,
}

impl Release {
    fn make(keyring: &Keyring, fingerprint: &str) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let binary = target_binary(NAME).unwrap();
        let out = Command::new(workspace_root().join("scripts/release.sh"))
            .args(["--gpg-key", fingerprint, "--binary"])
            .arg(&binary)
            .arg(dir.path())
            .env("GNUPGHOME", keyring.home.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "release.sh failed: {stderr}");
        assert!(
            stderr.contains(&format!("signed {NAME}_{VERSION}_SHA256SUMS with gpg key")),
            "{stderr}"
        );
        Release {
            dir,
            key_id: fingerprint[fingerprint.len() - 16..].to_owned(),
            public_key: keyring.armored_public_key(fingerprint),
        }
    }

    fn file_name(suffix: &str) -> String {
        format!("{NAME}_{VERSION}_{suffix}")
    }

    fn path(&self, suffix: &str) -> PathBuf {
        self.dir.path().join(Release::file_name(suffix))
    }

    fn read(&self, suffix: &str) -> Vec<u8> {
        std::fs::read(self.path(suffix)).unwrap()
    }

    /// The zip's sha256 as `SHA256SUMS` lists it.
    fn zip_sha256(&self) -> String {
        let sums = String::from_utf8(self.read("SHA256SUMS")).unwrap();
        let zip = Release::file_name("linux_amd64.zip");
        sums.lines()
            .find_map(|line| line.strip_suffix(&format!("  {zip}")))
            .expect("SHA256SUMS lists the zip")
            .to_owned()
    }
}

/// Publishes `release` on `server` as a provider registry would: service
/// discovery, the versions and download endpoints, and the files, serving
/// `zip` and `signature` as the zip and `SHA256SUMS.sig`.
fn publish(server: &StaticHttps, release: &Release, zip: Vec<u8>, signature: Vec<u8>) {
    server.serve_json(
        "/.well-known/terraform.json",
        &serde_json::json!({ "providers.v1": "/v1/providers/" }),
    );
    server.serve_json(
        &format!("/v1/providers/{ADDRESS}/versions"),
        &serde_json::json!({ "versions": [{
            "version": VERSION,
            "protocols": ["6.0"],
            "platforms": [{ "os": "linux", "arch": "amd64" }],
        }]}),
    );
    let file = |suffix: &str| server.url(&format!("/files/{}", Release::file_name(suffix)));
    server.serve_json(
        &format!("/v1/providers/{ADDRESS}/{VERSION}/download/linux/amd64"),
        &serde_json::json!({
            "protocols": ["6.0"],
            "os": "linux",
            "arch": "amd64",
            "filename": Release::file_name("linux_amd64.zip"),
            "download_url": file("linux_amd64.zip"),
            "shasums_url": file("SHA256SUMS"),
            "shasums_signature_url": file("SHA256SUMS.sig"),
            "shasum": release.zip_sha256(),
            "signing_keys": { "gpg_public_keys": [{
                "key_id": release.key_id,
                "ascii_armor": release.public_key,
            }]},
        }),
    );
    let octets = "application/octet-stream";
    let files = |suffix: &str| format!("/files/{}", Release::file_name(suffix));
    server.serve(&files("linux_amd64.zip"), octets, zip);
    server.serve(&files("SHA256SUMS"), octets, release.read("SHA256SUMS"));
    server.serve(&files("SHA256SUMS.sig"), octets, signature);
}

/// A CLI configuration file in `dir` with `installation` as its
/// `provider_installation` block body.
fn cli_config(dir: &Path, name: &str, installation: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("provider_installation {{\n{installation}\n}}\n"),
    )
    .unwrap();
    path
}

/// Points `ws` at `server` (trusting its CA) with the CLI config `config`.
fn use_server(ws: &mut Workspace, server: &StaticHttps, config: &Path) {
    ws.set_env("TF_CLI_CONFIG_FILE", &config.display().to_string());
    ws.set_env("SSL_CERT_FILE", &server.ca_file().display().to_string());
}

/// `main.tf` requiring the provider from `server`, then `body`.
fn config(server: &StaticHttps, body: &str) -> String {
    format!(
        "terraform {{\n  required_providers {{\n    primus = {{ source = \"{}/{ADDRESS}\", version = \"{VERSION}\" }}\n  }}\n}}\n{body}",
        server.host()
    )
}

fn sha256(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    hex::decode(text.split_whitespace().next().unwrap()).unwrap()
}

/// The `h1:` hash of the package: Go's dirhash "h1" over the one file the
/// zip holds (sha256 of a line `HEX  NAME` per file), computed here apart
/// from Terraform.
fn h1_hash(binary: &Path) -> String {
    let file = format!("{NAME}_v{VERSION}");
    let line = format!(
        "{}  {file}\n",
        hex::encode(sha256(&std::fs::read(binary).unwrap()))
    );
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(sha256(line.as_bytes()))
    )
}

fn lock_file(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.work_dir().join(".terraform.lock.hcl")).unwrap()
}

fn installs_the_signed_release_from_a_registry_and_a_network_mirror(tf: Terraform) {
    let keyring = Keyring::new();
    let key = keyring.generate("primus-release-test");
    let release = Release::make(&keyring, &key);
    let server = StaticHttps::start();
    let signature = release.read("SHA256SUMS.sig");
    publish(
        &server,
        &release,
        release.read("linux_amd64.zip"),
        signature,
    );

    let mut f = Fixture::new(tf, SimConfig::generated(1));
    let direct = cli_config(release.dir.path(), "direct.tfrc", "  direct {}");
    use_server(&mut f.ws, &server, &direct);
    let resource = f.permanent_secret("one", "U0001", "");
    f.ws.write_config(&config(
        &server,
        &format!("provider \"primus\" {{}}\n{resource}"),
    ))
    .unwrap();
    let init = f.ws.init().unwrap();
    let source = format!("{}/{ADDRESS}", server.host());
    assert!(
        init.stdout.contains(&format!(
            "Installed {source} v{VERSION} (self-signed, key ID {})",
            release.key_id
        )),
        "{}",
        init.stdout
    );
    let requested = server.requested();
    for suffix in ["SHA256SUMS", "SHA256SUMS.sig", "linux_amd64.zip"] {
        let path = format!("/files/{}", Release::file_name(suffix));
        assert!(requested.contains(&path), "{path} not in {requested:?}");
    }
    let lock = lock_file(&f.ws);
    let h1 = h1_hash(&target_binary(NAME).unwrap());
    assert!(lock.contains(&format!("provider \"{source}\"")), "{lock}");
    assert!(
        lock.contains(&format!("\"zh:{}\"", release.zip_sha256())),
        "{lock}"
    );
    assert!(lock.contains(&format!("\"{h1}\"")), "{lock}");

    f.apply();
    f.assert_onboarded("U0001");

    // `terraform providers mirror` copies the release (through the registry) into a
    // directory in the network mirror layout, which installs again when served. Served
    // for the address users write (primus-iac/primus): Terraform cannot ask a mirror for
    // a `host:port` address (it reads the host of the path it builds as a URL scheme).
    let mirror = tempfile::tempdir().unwrap();
    let mirror_dir = mirror.path().display().to_string();
    f.ws.run_ok(&["providers", "mirror", "-platform=linux_amd64", &mirror_dir])
        .unwrap();
    server.serve_dir(
        &format!("/mirror/registry.terraform.io/{ADDRESS}/"),
        &mirror.path().join(&source),
    );
    let network = cli_config(
        release.dir.path(),
        "network.tfrc",
        &format!(
            "  network_mirror {{\n    url = \"{}\"\n  }}",
            server.url("/mirror/")
        ),
    );
    let mut from_mirror = tf.workspace(&target_binary(NAME).unwrap());
    use_server(&mut from_mirror, &server, &network);
    from_mirror.write_config(TERRAFORM_BLOCK).unwrap();
    let init = from_mirror.init().unwrap();
    assert!(
        init.stdout
            .contains(&format!("Installed {ADDRESS} v{VERSION}")),
        "{}",
        init.stdout
    );
    let index = format!("/mirror/registry.terraform.io/{ADDRESS}/index.json");
    assert!(server.requested().contains(&index), "{index} not requested");
    let lock = lock_file(&from_mirror);
    assert!(
        lock.contains(&format!("provider \"registry.terraform.io/{ADDRESS}\"")),
        "{lock}"
    );
    assert!(lock.contains(&format!("\"{h1}\"")), "{lock}");
}

fn refuses_a_tampered_zip_and_a_signature_by_another_key(tf: Terraform) {
    let keyring = Keyring::new();
    let key = keyring.generate("primus-release-test");
    let release = Release::make(&keyring, &key);
    let server = StaticHttps::start();
    let direct = cli_config(release.dir.path(), "direct.tfrc", "  direct {}");
    let mut ws = tf.workspace(&target_binary(NAME).unwrap());
    use_server(&mut ws, &server, &direct);
    ws.write_config(&config(&server, "")).unwrap();
    let init_fails = |what: &str| {
        let out = ws.run(&["init", "-no-color", "-input=false"]).unwrap();
        assert_ne!(out.code, 0, "init must refuse {what}:\n{}", out.stdout);
        unwrap_lines(&out.stderr)
    };

    let installing = format!(
        "Error: Failed to install provider Error while installing {}/{ADDRESS} v{VERSION}:",
        server.host()
    );
    let mut tampered = release.read("linux_amd64.zip");
    tampered.extend_from_slice(b"tampered");
    let tampered_sha256 = hex::encode(sha256(&tampered));
    publish(&server, &release, tampered, release.read("SHA256SUMS.sig"));
    let error = init_fails("a tampered zip");
    let expected = format!(
        "{installing} archive has incorrect checksum zh:{tampered_sha256} (expected zh:{})",
        release.zip_sha256()
    );
    assert!(error.contains(&expected), "{error}");

    let other = keyring.generate("someone-else");
    let forged = keyring.sign(&other, &release.path("SHA256SUMS"));
    publish(&server, &release, release.read("linux_amd64.zip"), forged);
    let error = init_fails("a signature by another key");
    let expected = format!("{installing} authentication signature from unknown issuer");
    assert!(error.contains(&expected), "{error}");
}

acceptance_tests::on_every_terraform!(
    installs_the_signed_release_from_a_registry_and_a_network_mirror,
    refuses_a_tampered_zip_and_a_signature_by_another_key,
);
