//! How much the simulator adds on top of TLS: a fresh connection + hello + fetch,
//! against the peer a bare TLS 1.3 connection + one echoed line to a trivial
//! server, both on loopback in this run with the same certificates.
//!
//! Target: ours costs at most 2x the bare TLS round (the protocol and the HSM
//! logic must stay small next to the handshake every `ppin` run pays anyway).

#![allow(clippy::unwrap_used)] // A benchmark: a panic is the failure report.

use std::time::{Duration, Instant};

use hsm_sim::{SimConfig, SimOptions};
use hsm_wire::{Connector, FramedStream};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const ROUNDS: usize = 200;
const TARGET_RATIO: f64 = 2.0;

fn per_op(elapsed: Duration) -> Duration {
    elapsed / u32::try_from(ROUNDS).unwrap()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig::generated(ROUNDS);
    let sim = hsm_sim::start(config.clone(), SimOptions::new(dir.path()))
        .await
        .unwrap();
    let paths = sim.paths().clone();

    // Peer: a trivial TLS echo server with the simulator's own certificate.
    let cert = std::fs::read(&paths.server_cert).unwrap();
    let key = std::fs::read(&paths.server_key).unwrap();
    let acceptor = TlsAcceptor::from(hsm_wire::server_config_from_pem(&cert, &key).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            // Like hsm-sim and hsm-wire: small frames, no Nagle delay.
            tcp.set_nodelay(true).unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut stream = FramedStream::new(acceptor.accept(tcp).await.unwrap());
                if let Ok(Some(line)) = stream.recv::<serde_json::Value>(None).await {
                    stream.send(&line).await.unwrap();
                }
            });
        }
    });
    let tls = hsm_wire::client_config_from_ca_file(&paths.ca_file).unwrap();
    let bare = TlsConnector::from(tls.clone());
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();

    // Both loops run twice; the first pass warms caches and the allocator up.
    let mut peer = Duration::ZERO;
    for _ in 0..2 {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", echo_port))
                .await
                .unwrap();
            let mut stream = FramedStream::new(bare.connect(name.clone(), tcp).await.unwrap());
            stream.send(&serde_json::json!({"ping": 1})).await.unwrap();
            stream
                .recv::<serde_json::Value>(None)
                .await
                .unwrap()
                .unwrap();
        }
        peer = per_op(start.elapsed());
    }

    let connector = Connector::new(tls);
    let mut ours = Duration::ZERO;
    for _ in 0..2 {
        let start = Instant::now();
        for user in &config.users {
            let mut conn = connector
                .connect("127.0.0.1", sim.port(), None)
                .await
                .unwrap();
            conn.fetch_secret(&user.name, &user.setup_password, &user.pkcs11_password)
                .await
                .unwrap();
        }
        ours = per_op(start.elapsed());
    }

    let ratio = ours.as_secs_f64() / peer.as_secs_f64();
    println!("bare TLS 1.3 connect + echo (peer): {peer:?} per op");
    println!("hsm-sim connect + hello + fetch:    {ours:?} per op");
    println!(
        "ratio ours/peer: {ratio:.2} (target <= {TARGET_RATIO}: {})",
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    sim.shutdown().await;
}
