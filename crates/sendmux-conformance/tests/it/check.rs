//! The `check` probe suite against a tiny in-test server on 127.0.0.1 that
//! serves valid responses, or one invalid body.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Command;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sendmux_conformance::Spec;
use sendmux_conformance::check::{self, CheckOptions};
use serde_json::{Value, json};

const ETAG: &str = "W/\"v1\"";

#[derive(Clone, Copy)]
struct Behaviour {
    /// Serve `mode: "both"` from `GET /domains/{id}`.
    bad_mode: bool,
}

fn domain(id: &str, mode: &str) -> Value {
    json!({
        "id": id, "domain": "mail.acme.com", "mode": mode, "verification_status": "verified",
        "ses_identity_verification_status": "Success", "ses_verified_for_sending": true,
        "ses_dkim_status": "Success", "ses_dkim_signing_enabled": true,
        "ses_identity_checked_at": "2026-11-27T01:00:00Z", "ses_mail_from_status": "Success",
        "verified_at": "2026-11-27T01:00:00Z", "created_at": "2026-11-26T01:00:00Z", "mailbox_count": 0,
        "dns_records": {
            "mx": [], "mail_from": {
                "mx": {"name": "b.mail.acme.com", "priority": 10, "target": "feedback.example"},
                "spf": {"name": "b.mail.acme.com", "value": "v=spf1 ~all"}},
            "spf": {"name": "mail.acme.com", "value": "v=spf1 ~all"},
            "dmarc": {"name": "_dmarc.mail.acme.com", "value": "v=DMARC1; p=none"},
            "dkim": [], "verification": {"name": "_sendmux.mail.acme.com", "value": "sendmux-verify=t"}
        }
    })
}

fn common() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", HeaderValue::from_static("req_probe"));
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("600"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("599"));
    headers.insert("x-ratelimit-reset", HeaderValue::from_static("1798675200"));
    headers
}

fn json_response(status: StatusCode, mut headers: HeaderMap, body: Value) -> Response {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, body.to_string()).into_response()
}

fn meta() -> Value {
    json!({"request_id": "req_probe"})
}

async fn list(State(_): State<Behaviour>) -> Response {
    let body = json!({
        "ok": true,
        "data": [domain("mdom_one", "send_receive"), domain("mdom_two", "send_only")],
        "pagination": {"has_more": false},
        "meta": meta()
    });
    json_response(StatusCode::OK, common(), body)
}

async fn get_domain(
    State(b): State<Behaviour>,
    Path(id): Path<String>,
    request: HeaderMap,
) -> Response {
    let mut headers = common();
    headers.insert(header::ETAG, HeaderValue::from_static(ETAG));
    if request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == ETAG)
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let mode = if b.bad_mode && id == "mdom_two" {
        "both"
    } else {
        "send_receive"
    };
    json_response(
        StatusCode::OK,
        headers,
        json!({"ok": true, "data": domain(&id, mode), "meta": meta()}),
    )
}

async fn zone_file() -> Response {
    let mut headers = common();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (
        StatusCode::OK,
        headers,
        "mail.acme.com. 3600 IN TXT \"v=spf1 ~all\"\n",
    )
        .into_response()
}

async fn filters(Path(id): Path<String>) -> Response {
    if id == "mdom_two" {
        // A send_only domain has no filters: a declared 409.
        let body = json!({
            "ok": false,
            "error": {"code": "conflict", "message": "The domain is send_only.", "retryable": false},
            "meta": meta()
        });
        return json_response(StatusCode::CONFLICT, common(), body);
    }
    let mut headers = common();
    headers.insert(header::ETAG, HeaderValue::from_static("W/\"f1\""));
    json_response(
        StatusCode::OK,
        headers,
        json!({"ok": true, "data": {"mode": "off", "rules": []}, "meta": meta()}),
    )
}

/// Starts the server on its own thread and runtime; returns its base URL.
fn start(behaviour: Behaviour) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route("/api/v1/domains", get(list))
                .route("/api/v1/domains/{id}", get(get_domain))
                .route("/api/v1/domains/{id}/zone-file", get(zone_file))
                .route("/api/v1/domains/{id}/filters", get(filters))
                .with_state(behaviour);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    format!("http://{addr}/api/v1")
}

#[tokio::test]
async fn valid_server_passes_every_probe() {
    let base = start(Behaviour { bad_mode: false });
    let report = check::run(
        Spec::embedded(),
        &CheckOptions::new(base).api_key("smx_root_test"),
    )
    .await
    .unwrap();
    assert!(report.is_ok(), "{report}");
    let operations: Vec<(&str, Option<u16>)> = report
        .probes
        .iter()
        .map(|p| (p.operation_id.as_str(), p.status))
        .collect();
    assert_eq!(
        operations,
        vec![
            ("managementListDomains", Some(200)),
            ("managementGetDomain", Some(200)),
            ("managementGetDomain", Some(304)),
            ("managementGetDomainZoneFile", Some(200)),
            ("managementGetDomainFilters", Some(200)),
            ("managementGetDomain", Some(200)),
            ("managementGetDomain", Some(304)),
            ("managementGetDomainZoneFile", Some(200)),
            ("managementGetDomainFilters", Some(409)),
        ]
    );
}

#[tokio::test]
async fn bad_body_is_named_in_the_report() {
    let base = start(Behaviour { bad_mode: true });
    let report = check::run(Spec::embedded(), &CheckOptions::new(base))
        .await
        .unwrap();
    assert_eq!(report.failures(), 1, "{report}");
    let failed = report.probes.iter().find(|p| !p.passed()).unwrap();
    assert_eq!(failed.path, "/domains/mdom_two");
    let report_of_failure = failed.report.as_ref().unwrap();
    assert_eq!(report_of_failure.violations[0].pointer, "/data/mode");
}

#[test]
fn binary_exits_non_zero_and_names_the_violation() {
    let base = start(Behaviour { bad_mode: true });
    let output = Command::new(env!("CARGO_BIN_EXE_sendmux-conformance"))
        .args(["check", "--base-url", &base, "--timeout", "10"])
        .env("SENDMUX_API_KEY", "smx_root_do_not_print")
        .env_remove("SENDMUX_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL   200    managementGetDomain"),
        "{stdout}"
    );
    assert!(
        stdout.contains("body schema violation /data/mode [enum: send_only | send_receive]"),
        "{stdout}"
    );
    assert!(stdout.contains("9 probes, 1 failed"), "{stdout}");
    assert!(!stdout.contains("smx_root_do_not_print"), "{stdout}");
}

#[test]
fn binary_passes_a_valid_server() {
    let base = start(Behaviour { bad_mode: false });
    let output = Command::new(env!("CARGO_BIN_EXE_sendmux-conformance"))
        .args(["check", "--base-url", &base])
        .env_remove("SENDMUX_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("9 probes, 0 failed"), "{stdout}");
}
