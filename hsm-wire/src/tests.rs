//! Wire-format tests: the JSON shapes documented in `docs/hsm-protocol.md`.

use serde_json::json;

use crate::message::{HelloFrame, HelloReplyFrame};
use crate::{ClientHello, ErrorKind, Password, Request, Response, Secret, VendorCode, WireError};

#[test]
fn fetch_request_shape() {
    let request = Request::FetchSecret {
        user: "PART".to_owned(),
        setup_password: Password::new("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE".to_owned()),
        pkcs11_password: Password::new("pin".to_owned()),
    };
    let value = serde_json::to_value(&request).unwrap();
    assert_eq!(
        value,
        json!({"op":"fetch_secret","user":"PART","setup_password":"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE","pkcs11_password":"pin"})
    );
    // Debug must not show either password.
    let debug = format!("{request:?}");
    assert!(
        !debug.contains("AAAAA") && !debug.contains("pin\""),
        "{debug}"
    );
}

#[test]
fn fetch_log_request_and_page_shapes() {
    let request = Request::FetchLog {
        user: "PART".to_owned(),
        secret: Secret::new(vec![0xab, 0xcd]),
        since_unix_ms: Some(1_617_235_200_000),
        order: crate::LogOrder::NewestFirst,
        cursor: None,
    };
    assert_eq!(request.op(), "fetch_log");
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"op":"fetch_log","user":"PART","secret":"abcd","since_unix_ms":1_617_235_200_000_u64,"order":"newest_first"})
    );
    assert!(!format!("{request:?}").contains("abcd"));
    // The optional fields may be left out: every entry, oldest first, first page.
    let minimal: Request =
        serde_json::from_str(r#"{"op":"fetch_log","user":"PART","secret":"abcd"}"#).unwrap();
    assert!(matches!(
        minimal,
        Request::FetchLog {
            since_unix_ms: None,
            order: crate::LogOrder::OldestFirst,
            cursor: None,
            ..
        }
    ));
    let page = Response::LogPage {
        lines: vec!["2021 Apr  1 09:31:28 UTC HSMSIM notice PKCS11 Process: x".to_owned()],
        next: Some(7),
    };
    assert_eq!(
        serde_json::to_value(&page).unwrap(),
        json!({"type":"log_page","lines":["2021 Apr  1 09:31:28 UTC HSMSIM notice PKCS11 Process: x"],"next":7})
    );
    let last: Response = serde_json::from_str(r#"{"type":"log_page","lines":[]}"#).unwrap();
    assert!(matches!(last, Response::LogPage { next: None, .. }));
}

#[test]
fn secret_travels_as_hex() {
    let response = Response::Secret {
        secret: Secret::new(vec![0xde, 0xad, 0x01]),
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"type":"secret","secret":"dead01"})
    );
    let back: Response = serde_json::from_str(r#"{"type":"secret","secret":"DEAD01"}"#).unwrap();
    match back {
        Response::Secret { secret } => assert_eq!(secret.expose_secret(), &[0xde, 0xad, 0x01]),
        other => panic!("unexpected {other:?}"),
    }
    let bad = serde_json::from_str::<Response>(r#"{"type":"secret","secret":"zz-secret-zz"}"#)
        .unwrap_err();
    assert!(!bad.to_string().contains("zz-secret-zz"), "{bad}");
}

#[test]
fn error_shape_with_vendor_code_and_lockout() {
    let error = WireError::new(
        ErrorKind::BadSetupPassword,
        "wrong setup password for user 'PART'",
    )
    .with_attempts_left(0)
    .with_lockout(1_700_000_300_000, std::time::Duration::from_secs(300));
    let value = serde_json::to_value(Response::Error(error.clone())).unwrap();
    assert_eq!(
        value,
        json!({"type":"error","kind":"bad_setup_password","message":"wrong setup password for user 'PART'",
               "vendor_code":"0x80005017","attempts_left":0,"locked_until_unix_ms":1_700_000_300_000_u64,
               "locked_for_ms":300_000})
    );
    let back: Response = serde_json::from_value(value).unwrap();
    match back {
        Response::Error(e) => assert_eq!(e, error),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_error_kind_from_newer_server_is_kept_as_unknown() {
    let back: Response =
        serde_json::from_str(r#"{"type":"error","kind":"quota_exceeded","message":"x"}"#).unwrap();
    match back {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Unknown);
            assert_eq!(e.vendor_code, None);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn vendor_codes_match_the_vendor_documentation() {
    let documented = [
        (ErrorKind::UnknownUser, 0x8000_000D),
        (ErrorKind::BadSetupPassword, 0x8000_5017),
        (ErrorKind::SetupPasswordExpired, 0x8000_5018),
        (ErrorKind::BadPkcs11Password, 0x8000_000B),
    ];
    // Each is a row of the vendor's table.
    for (_, code) in documented {
        assert!(VendorCode(code).documented().is_some(), "{code:#x}");
    }
    for (kind, code) in documented {
        assert_eq!(kind.vendor_code(), Some(VendorCode(code)), "{kind}");
    }
    assert_eq!(ErrorKind::ApiLocked.vendor_code(), None);
    assert_eq!(VendorCode::NETWORK_FAILURE.to_string(), "0x80005015");
    assert!(serde_json::from_str::<VendorCode>(r#""80005017""#).is_err());
}

#[test]
fn hello_frames() {
    let hello = HelloFrame::Hello(ClientHello {
        versions: vec![1],
        client: "ppin 0.1.0".to_owned(),
    });
    assert_eq!(
        serde_json::to_value(&hello).unwrap(),
        json!({"type":"hello","versions":[1],"client":"ppin 0.1.0"})
    );
    let reply: HelloReplyFrame = serde_json::from_str(
        r#"{"type":"error","kind":"unsupported_version","message":"v1 only"}"#,
    )
    .unwrap();
    assert!(matches!(
        reply,
        HelloReplyFrame::Error(WireError {
            kind: ErrorKind::UnsupportedVersion,
            ..
        })
    ));
    // A request sent before the hello is not a hello.
    assert!(serde_json::from_str::<HelloFrame>(r#"{"op":"version"}"#).is_err());
}

mod framing {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use crate::{FrameError, FramedStream, MAX_FRAME_LEN};

    const WAIT: Option<Duration> = Some(Duration::from_secs(5));

    #[tokio::test]
    async fn frames_round_trip_and_eof_between_frames_is_none() {
        let (a, b) = tokio::io::duplex(1024);
        let (mut a, mut b) = (FramedStream::new(a), FramedStream::new(b));
        a.send(&serde_json::json!({"x": "line\nbreak"}))
            .await
            .unwrap();
        let got: serde_json::Value = b.recv(WAIT).await.unwrap().unwrap();
        assert_eq!(got["x"], "line\nbreak");
        drop(a);
        assert!(b.recv::<serde_json::Value>(WAIT).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_truncated_slow_and_malformed_frames_are_errors() {
        let (a, b) = tokio::io::duplex(256 * 1024);
        let mut b = FramedStream::new(b);
        let mut raw = a;
        raw.write_all(&vec![b'x'; MAX_FRAME_LEN + 10])
            .await
            .unwrap();
        assert!(matches!(
            b.recv::<serde_json::Value>(WAIT).await,
            Err(FrameError::TooLong(MAX_FRAME_LEN))
        ));

        let (mut raw, b) = tokio::io::duplex(1024);
        let mut b = FramedStream::new(b);
        raw.write_all(b"{\"half\":").await.unwrap();
        drop(raw);
        assert!(matches!(
            b.recv::<serde_json::Value>(WAIT).await,
            Err(FrameError::Truncated)
        ));

        let (_raw, b) = tokio::io::duplex(1024);
        let mut b = FramedStream::new(b);
        let slow = b
            .recv::<serde_json::Value>(Some(Duration::from_millis(20)))
            .await;
        assert!(matches!(slow, Err(FrameError::Timeout(_))));

        let (mut raw, b) = tokio::io::duplex(1024);
        let mut b = FramedStream::new(b);
        raw.write_all(b"{\"password\":\"hunter2\"\n").await.unwrap();
        let error = b.recv::<serde_json::Value>(WAIT).await.unwrap_err();
        assert!(matches!(error, FrameError::Malformed { .. }));
        assert!(!error.to_string().contains("hunter2"), "{error}");

        let (a, _b) = tokio::io::duplex(1024);
        let mut a = FramedStream::new(a);
        let huge = "y".repeat(MAX_FRAME_LEN);
        assert!(matches!(
            a.send(&huge).await,
            Err(FrameError::TooLong(MAX_FRAME_LEN))
        ));
    }

    #[tokio::test]
    async fn server_hello_negotiates_or_refuses_the_version() {
        let (client, server) = tokio::io::duplex(4096);
        let mut client = FramedStream::new(client);
        let serving = tokio::spawn(crate::server::hello(
            FramedStream::new(server),
            "test-server",
        ));
        client
            .send(&serde_json::json!({"type":"hello","versions":[0,1,7],"client":"c"}))
            .await
            .unwrap();
        let reply: serde_json::Value = client.recv(WAIT).await.unwrap().unwrap();
        assert_eq!(
            reply,
            serde_json::json!({"type":"hello","version":1,"server":"test-server"})
        );
        let conn = serving.await.unwrap().unwrap();
        assert_eq!(conn.client_hello().client, "c");

        let (client, server) = tokio::io::duplex(4096);
        let mut client = FramedStream::new(client);
        let serving = tokio::spawn(crate::server::hello(
            FramedStream::new(server),
            "test-server",
        ));
        client
            .send(&serde_json::json!({"op":"version"}))
            .await
            .unwrap();
        let reply: serde_json::Value = client.recv(WAIT).await.unwrap().unwrap();
        assert_eq!(reply["kind"], "bad_request");
        assert!(matches!(
            serving.await.unwrap(),
            Err(crate::ServerError::NoHello)
        ));
    }
}

mod tls_loopback {
    use std::time::Duration;

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    use crate::{
        accept, server_config_from_pem, ClientError, Connector, ErrorKind, Password, Response,
        WireError,
    };

    /// A CA (PEM) and a server chain + key for 127.0.0.1.
    fn pki() -> (String, String, String) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (ca_pem, cert.pem(), key.serialize_pem())
    }

    #[test]
    fn one_client_config_per_ca_file_content() {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, pki().0).unwrap();
        let first = crate::client_config_from_ca_file(&ca_file).unwrap();
        let again = crate::client_config_from_ca_file(&ca_file).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        // A replaced CA takes effect at once.
        std::fs::write(&ca_file, pki().0).unwrap();
        let replaced = crate::client_config_from_ca_file(&ca_file).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &replaced));
    }

    #[tokio::test]
    async fn client_and_server_over_tls13() {
        let (ca, cert, key) = pki();
        let acceptor =
            TlsAcceptor::from(server_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = accept(&acceptor, tcp, "scripted", Duration::from_secs(5))
                .await
                .unwrap();
            let request = conn
                .next_request(Duration::from_secs(5))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(request.op(), "fetch_secret");
            let error = WireError::new(ErrorKind::BadSetupPassword, "wrong").with_attempts_left(99);
            conn.respond(&Response::Error(error)).await.unwrap();
            // The client gave up after one answer: it never retries.
            assert!(conn
                .next_request(Duration::from_secs(5))
                .await
                .unwrap()
                .is_none());
        });
        let tls = crate::client_config_from_ca_pem(ca.as_bytes(), "test CA").unwrap();
        let mut conn = Connector::new(tls)
            .with_read_timeout(Duration::from_secs(5))
            .connect("127.0.0.1", port, None)
            .await
            .unwrap();
        assert_eq!(conn.server_hello().server, "scripted");
        let setup = Password::new("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE".to_owned());
        let error = conn
            .fetch_secret("U", &setup, &Password::new("p".to_owned()))
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                ClientError::Hsm {
                    op: "fetch_secret",
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(error.wire_error().and_then(|e| e.attempts_left), Some(99));
        assert_eq!(
            error.vendor_code().map(|c| c.to_string()).as_deref(),
            Some("0x80005017")
        );
        assert!(!error.is_connection_failure());
        conn.close().await;
        server.await.unwrap();
    }

    /// A server on a real TLS loopback connection that answers each request
    /// with the next of `answers`, and returns the requests it got.
    async fn scripted(
        answers: Vec<Response>,
    ) -> (u16, String, tokio::task::JoinHandle<Vec<crate::Request>>) {
        let (ca, cert, key) = pki();
        let acceptor =
            TlsAcceptor::from(server_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = accept(&acceptor, tcp, "scripted", Duration::from_secs(5))
                .await
                .unwrap();
            let mut requests = Vec::new();
            for answer in answers {
                let Some(request) = conn.next_request(Duration::from_secs(5)).await.unwrap() else {
                    break;
                };
                requests.push(request);
                conn.respond(&answer).await.unwrap();
            }
            requests
        });
        (port, ca, server)
    }

    #[tokio::test]
    async fn fetch_log_follows_the_pages_to_the_last() {
        let page = |lines: &[&str], next| Response::LogPage {
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
            next,
        };
        let (port, ca, server) = scripted(vec![
            page(&["third", "second"], Some(2)),
            page(&["first"], None),
        ])
        .await;
        let tls = crate::client_config_from_ca_pem(ca.as_bytes(), "test CA").unwrap();
        let mut conn = Connector::new(tls)
            .connect("127.0.0.1", port, None)
            .await
            .unwrap();
        let since = std::time::UNIX_EPOCH + Duration::from_secs(1_617_235_200);
        let query = crate::LogQuery {
            since: Some(since),
            order: crate::LogOrder::NewestFirst,
        };
        let secret = crate::Secret::new(vec![7; 32]);
        let lines = conn.fetch_log("PART", &secret, &query).await.unwrap();
        assert_eq!(lines, ["third", "second", "first"]);
        conn.close().await;
        let requests = server.await.unwrap();
        let cursors: Vec<Option<u64>> = requests
            .iter()
            .map(|request| match request {
                crate::Request::FetchLog {
                    user,
                    since_unix_ms,
                    order,
                    cursor,
                    secret: sent,
                } => {
                    assert_eq!(user, "PART");
                    assert_eq!(*since_unix_ms, Some(1_617_235_200_000));
                    assert_eq!(*order, crate::LogOrder::NewestFirst);
                    assert_eq!(sent, &secret);
                    *cursor
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(cursors, [None, Some(2)]);
    }

    #[tokio::test]
    async fn fetch_log_refuses_a_page_that_does_not_move_on() {
        let stuck = Response::LogPage {
            lines: vec!["again".to_owned()],
            next: Some(5),
        };
        let (port, ca, server) = scripted(vec![stuck.clone(), stuck]).await;
        let tls = crate::client_config_from_ca_pem(ca.as_bytes(), "test CA").unwrap();
        let mut conn = Connector::new(tls)
            .connect("127.0.0.1", port, None)
            .await
            .unwrap();
        let error = conn
            .fetch_log(
                "PART",
                &crate::Secret::new(vec![7; 32]),
                &crate::LogQuery::default(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::Protocol {
                    op: "fetch_log",
                    ..
                }
            ),
            "{error:?}"
        );
        conn.close().await;
        assert_eq!(server.await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_peer_that_hangs_up_or_stalls_is_a_connection_failure() {
        let (ca, _, _) = pki();
        let tls = crate::client_config_from_ca_pem(ca.as_bytes(), "test CA").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            // First peer: accept and hang up at once.
            drop(listener.accept().await.unwrap());
            // Second peer: accept and say nothing.
            let (stalled, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(stalled);
        });
        let connector = Connector::new(tls).with_connect_timeout(Duration::from_millis(300));
        let error = connector
            .connect("127.0.0.1", port, None)
            .await
            .unwrap_err();
        assert!(matches!(error, ClientError::Connect { .. }), "{error:?}");
        assert!(error.is_connection_failure());
        let error = connector
            .connect("127.0.0.1", port, None)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ClientError::ConnectTimeout { .. }),
            "{error:?}"
        );
        assert!(error.is_connection_failure());
        assert_eq!(
            error.vendor_code().map(|c| c.to_string()).as_deref(),
            Some("0x8000003B")
        );
        server.abort();
    }
}
