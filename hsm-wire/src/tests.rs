//! Wire-format tests: the JSON shapes documented in `docs/hsm-protocol.md`.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

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
    assert!(!debug.contains("AAAAA") && !debug.contains("pin\""), "{debug}");
}

#[test]
fn secret_travels_as_hex() {
    let response = Response::Secret { secret: Secret::new(vec![0xde, 0xad, 0x01]) };
    assert_eq!(serde_json::to_value(&response).unwrap(), json!({"type":"secret","secret":"dead01"}));
    let back: Response = serde_json::from_str(r#"{"type":"secret","secret":"DEAD01"}"#).unwrap();
    match back {
        Response::Secret { secret } => assert_eq!(secret.expose_secret(), &[0xde, 0xad, 0x01]),
        other => panic!("unexpected {other:?}"),
    }
    let bad = serde_json::from_str::<Response>(r#"{"type":"secret","secret":"zz-secret-zz"}"#).unwrap_err();
    assert!(!bad.to_string().contains("zz-secret-zz"), "{bad}");
}

#[test]
fn error_shape_with_vendor_code_and_lockout() {
    let error = WireError::new(ErrorKind::BadSetupPassword, "wrong setup password for user 'PART'")
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
    let back: Response = serde_json::from_str(r#"{"type":"error","kind":"quota_exceeded","message":"x"}"#).unwrap();
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
    assert_eq!(ErrorKind::UnknownUser.vendor_code(), Some(VendorCode(0x8000_5012)));
    assert_eq!(ErrorKind::BadSetupPassword.vendor_code(), Some(VendorCode(0x8000_5017)));
    assert_eq!(ErrorKind::SetupPasswordExpired.vendor_code(), Some(VendorCode(0x8000_5018)));
    assert_eq!(ErrorKind::BadPkcs11Password.vendor_code(), Some(VendorCode(0x8000_000B)));
    assert_eq!(ErrorKind::ApiLocked.vendor_code(), None);
    assert_eq!(VendorCode::NETWORK_FAILURE.to_string(), "0x80005015");
    assert!(serde_json::from_str::<VendorCode>(r#""80005017""#).is_err());
}

#[test]
fn hello_frames() {
    let hello = HelloFrame::Hello(ClientHello { versions: vec![1], client: "ppin 0.1.0".to_owned() });
    assert_eq!(serde_json::to_value(&hello).unwrap(), json!({"type":"hello","versions":[1],"client":"ppin 0.1.0"}));
    let reply: HelloReplyFrame =
        serde_json::from_str(r#"{"type":"error","kind":"unsupported_version","message":"v1 only"}"#).unwrap();
    assert!(matches!(reply, HelloReplyFrame::Error(WireError { kind: ErrorKind::UnsupportedVersion, .. })));
    // A request sent before the hello is not a hello.
    assert!(serde_json::from_str::<HelloFrame>(r#"{"op":"version"}"#).is_err());
}
