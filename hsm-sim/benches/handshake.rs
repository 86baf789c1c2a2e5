//! How much the simulator adds on top of TLS: a fresh connection + hello + fetch,
//! against the peer a bare TLS 1.3 connection + one echoed line to a trivial
//! server, both on loopback in this run with the same certificates.
//!
//! Beside it, the two ways to pay less per operation: a connector per operation
//! that still resumes TLS sessions (the client configuration is shared per CA
//! file), and a connection pool (no handshake at all, one `version` check).
//!
//! Target: ours costs at most 2x the bare TLS round (the protocol and the HSM
//! logic must stay small next to the handshake every `ppin` run pays anyway).

#![allow(clippy::unwrap_used)] // a benchmark that cannot run should stop loudly

use std::time::{Duration, Instant};

use hsm_sim::{SimConfig, SimOptions};
use hsm_wire::{ConnectionPool, Connector, FramedStream};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const ROUNDS: usize = 200;
const TARGET_RATIO: f64 = 2.0;

fn per_op(elapsed: Duration) -> Duration {
    elapsed / u32::try_from(ROUNDS).unwrap()
}

/// How each fetch gets its connection.
enum Connect<'a> {
    /// One connector for every operation.
    Shared(&'a Connector),
    /// As ppin connects: a connector made from the CA file for each operation.
    PerOperation(&'a std::path::Path),
    /// Connections kept open between operations.
    Pooled(&'a ConnectionPool),
}

/// One connection and fetch per user, twice (the first pass warms caches and the
/// allocator up); the second pass's time per operation.
async fn fetch_every_user(connect: &Connect<'_>, config: &SimConfig, port: u16) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..2 {
        let start = Instant::now();
        for user in &config.users {
            let mut conn = match connect {
                Connect::Shared(connector) => connector.connect("127.0.0.1", port, None).await,
                Connect::PerOperation(ca_file) => {
                    let connector = Connector::from_ca_file(ca_file).unwrap();
                    connector.connect("127.0.0.1", port, None).await
                }
                Connect::Pooled(pool) => pool.connect("127.0.0.1", port, None).await,
            }
            .unwrap();
            conn.fetch_secret(&user.name, &user.setup_password, &user.pkcs11_password)
                .await
                .unwrap();
            if let Connect::Pooled(pool) = connect {
                pool.release(conn).await;
            }
        }
        elapsed = per_op(start.elapsed());
    }
    elapsed
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
    let ours = fetch_every_user(&Connect::Shared(&connector), &config, sim.port()).await;
    let per_op_connector =
        fetch_every_user(&Connect::PerOperation(&paths.ca_file), &config, sim.port()).await;
    let pool = ConnectionPool::new(Connector::from_ca_file(&paths.ca_file).unwrap());
    let pooled = fetch_every_user(&Connect::Pooled(&pool), &config, sim.port()).await;

    let ratio = ours.as_secs_f64() / peer.as_secs_f64();
    println!("bare TLS 1.3 connect + echo (peer): {peer:?} per op");
    println!("hsm-sim connect + hello + fetch:    {ours:?} per op");
    println!("  with a connector from the CA file per op (as ppin): {per_op_connector:?} per op");
    println!("  from a connection pool (version check + fetch): {pooled:?} per op");
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
