//! Shared pieces of the benchmarks: response fixtures and a canned loopback
//! server that answers from pre-built bytes, so the benchmarks measure the
//! client side rather than a server.

mod send;
pub use send::{SENDER, SendFixture};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;

/// API key the benchmarks send (the canned server does not check it).
pub const API_KEY: &str = "smx_root_bench";

/// Id of the domain the canned server returns.
pub const DOMAIN_ID: &str = "mdom_bench0000000000000000000001";

/// One domain object as the API returns it, numbered so pages differ.
pub fn domain_json(n: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("mdom_bench{n:022}"),
        "domain": format!("mail{n}.acme.com"),
        "mode": "send_receive",
        "verification_status": "verified",
        "ses_identity_verification_status": "Success",
        "ses_verified_for_sending": true,
        "ses_dkim_status": "Success",
        "ses_dkim_signing_enabled": true,
        "ses_identity_checked_at": "2026-11-27T09:00:00Z",
        "ses_mail_from_status": "Success",
        "verified_at": "2026-11-27T09:05:00Z",
        "created_at": "2026-11-27T09:00:00Z",
        "mailbox_count": 3,
        "dns_records": {
            "mx": [{ "priority": 10, "target": "mx1.sendmux.ai" }, { "priority": 20, "target": "mx2.sendmux.ai" }],
            "mail_from": {
                "mx": { "name": format!("bounce.mail{n}.acme.com"), "priority": 10, "target": "feedback-smtp.eu-central-1.amazonses.com" },
                "spf": { "name": format!("bounce.mail{n}.acme.com"), "value": "v=spf1 include:amazonses.com ~all" }
            },
            "spf": { "name": format!("mail{n}.acme.com"), "value": "v=spf1 include:spf.sendmux.ai ~all" },
            "dmarc": { "name": format!("_dmarc.mail{n}.acme.com"), "value": "v=DMARC1; p=none" },
            "dkim": [
                { "name": format!("s1._domainkey.mail{n}.acme.com"), "value": "s1.dkim.amazonses.com" },
                { "name": format!("s2._domainkey.mail{n}.acme.com"), "value": "s2.dkim.amazonses.com" },
                { "name": format!("s3._domainkey.mail{n}.acme.com"), "value": "s3.dkim.amazonses.com" }
            ],
            "verification": { "name": format!("_sendmux.mail{n}.acme.com"), "value": "sendmux-verify=team_bench" }
        }
    })
}

/// `{ok, data: domain, meta}` for one domain.
pub fn item_body() -> Bytes {
    let body = serde_json::json!({
        "ok": true,
        "data": domain_json(1),
        "meta": { "request_id": "req_bench" }
    });
    Bytes::from(body.to_string())
}

/// A list page of `items` domains, `has_more` true and a next cursor.
pub fn page_body(items: usize) -> Bytes {
    let body = serde_json::json!({
        "ok": true,
        "data": (0..items).map(domain_json).collect::<Vec<_>>(),
        "pagination": { "has_more": true, "next_cursor": "p1" },
        "meta": { "request_id": "req_bench" }
    });
    Bytes::from(body.to_string())
}

/// How the canned server pages: `pages` pages of `per_page` domains.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// Number of pages before `has_more` turns false.
    pub pages: usize,
    /// Domains per page.
    pub per_page: usize,
}

struct Canned {
    item: Bytes,
    created: Bytes,
    /// Everything of a list page up to (excluding) the pagination object;
    /// shared by every page so serving one costs no copy of the items.
    page_prefix: Bytes,
    paging: Paging,
}

/// A running canned server.
pub struct CannedServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl CannedServer {
    /// Starts the server on 127.0.0.1 with a random port, on the current
    /// tokio runtime.
    pub async fn start(paging: Paging) -> std::io::Result<Self> {
        let page = serde_json::json!({
            "ok": true,
            "meta": { "request_id": "req_bench" },
            "data": (0..paging.per_page).map(domain_json).collect::<Vec<_>>(),
        })
        .to_string();
        // Drop the closing brace: each response appends its own pagination.
        let prefix = page.trim_end_matches('}').to_string();
        let canned = Arc::new(Canned {
            item: item_body(),
            created: item_body(),
            page_prefix: Bytes::from(prefix),
            paging,
        });
        let app = Router::new()
            .route("/api/v1/domains/{id}", get(get_domain))
            .route("/api/v1/domains", get(list_domains).post(create_domain))
            .with_state(canned);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, task })
    }

    /// `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn json_response(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("x-request-id", HeaderValue::from_static("req_bench"));
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("600"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("599"));
    headers.insert("x-ratelimit-reset", HeaderValue::from_static("1800000000"));
    response
}

async fn get_domain(State(canned): State<Arc<Canned>>) -> Response {
    let mut response = json_response(StatusCode::OK, Body::from(canned.item.clone()));
    response
        .headers_mut()
        .insert(header::ETAG, HeaderValue::from_static("W/\"bench\""));
    response
}

async fn create_domain(State(canned): State<Arc<Canned>>) -> Response {
    let mut response = json_response(StatusCode::CREATED, Body::from(canned.created.clone()));
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_static("/api/v1/domains/mdom_bench0000000000000000000001"),
    );
    response
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
}

async fn list_domains(
    State(canned): State<Arc<Canned>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let page: usize = query
        .cursor
        .as_deref()
        .and_then(|c| c.strip_prefix('p'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let next = page + 1;
    let pagination = if next < canned.paging.pages {
        format!(r#","pagination":{{"has_more":true,"next_cursor":"p{next}"}}}}"#)
    } else {
        r#","pagination":{"has_more":false}}"#.to_string()
    };
    let chunks: Vec<Result<Bytes, std::convert::Infallible>> =
        vec![Ok(canned.page_prefix.clone()), Ok(Bytes::from(pagination))];
    json_response(
        StatusCode::OK,
        Body::from_stream(futures::stream::iter(chunks)),
    )
}

/// A hand-written model of a domain, as a user without the SDK would write
/// it: the baseline the generated types are compared with.
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandDomain {
    pub id: String,
    pub domain: String,
    pub mode: String,
    pub verification_status: String,
    pub ses_identity_verification_status: Option<String>,
    pub ses_verified_for_sending: Option<bool>,
    pub ses_dkim_status: Option<String>,
    pub ses_dkim_signing_enabled: Option<bool>,
    pub ses_identity_checked_at: Option<String>,
    pub ses_mail_from_status: Option<String>,
    pub verified_at: Option<String>,
    pub created_at: String,
    pub mailbox_count: u64,
    pub dns_records: HandDnsRecords,
}

/// Hand-written DNS records of a [`HandDomain`].
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandDnsRecords {
    pub mx: Vec<HandMx>,
    pub mail_from: HandMailFrom,
    pub spf: HandRecord,
    pub dmarc: HandRecord,
    pub dkim: Vec<HandRecord>,
    pub verification: HandRecord,
}

/// Hand-written MX record.
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandMx {
    pub priority: i64,
    pub target: String,
}

/// Hand-written MAIL FROM records.
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandMailFrom {
    pub mx: HandNamedMx,
    pub spf: HandRecord,
}

/// Hand-written named MX record.
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandNamedMx {
    pub name: String,
    pub priority: i64,
    pub target: String,
}

/// Hand-written name/value record.
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandRecord {
    pub name: String,
    pub value: String,
}

/// The success envelope around a [`HandDomain`].
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct HandEnvelope<T> {
    pub ok: bool,
    pub data: T,
}

/// The smallest useful model: only what a listing screen shows.
#[derive(Debug, Deserialize)]
#[allow(dead_code, missing_docs)]
pub struct MinimalDomain {
    pub id: String,
    pub domain: String,
}

/// Writes a benchmark's figures to `target/bench-results/<name>.json`, where
/// `cargo xtask bench` collects them for its summary table.
pub fn record_result(name: &str, figures: &serde_json::Value) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("bench-results");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(format!("{name}.json")), figures.to_string());
    }
}
