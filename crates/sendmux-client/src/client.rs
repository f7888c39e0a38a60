//! The client and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::billing::Billing;
use crate::clock::{Clock, SystemClock};
use crate::domains::Domains;
use crate::error::{Error, InvalidInput};
use crate::idempotency::IdempotencyPolicy;
use crate::key::{ApiKey, KeyKind, Surface};
use crate::logs::{EmailLogs, InboxLogs};
use crate::mailboxes::Mailboxes;
use crate::retry::{BudgetState, RetryPolicy};
use crate::sending_accounts::SendingAccounts;
use crate::webhooks::Webhooks;

/// Base URL of the Management and Mailbox APIs.
pub const DEFAULT_BASE_URL: &str = "https://app.sendmux.ai/api/v1";
/// Environment variable holding the API key, read by [`Client::from_env`].
pub const ENV_API_KEY: &str = "SENDMUX_API_KEY";
/// Environment variable overriding the base URL, read by [`Client::from_env`].
pub const ENV_BASE_URL: &str = "SENDMUX_BASE_URL";
/// Default time limit of one attempt (connect, send, and read the response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time limit for opening a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default largest response body the client reads (JSON bodies).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

const SDK_USER_AGENT: &str = concat!("sendmux-rust/", env!("CARGO_PKG_VERSION"));

/// A Sendmux API client.
///
/// Cheap to clone (an `Arc` inside); clones share the connection pool and the
/// retry budget. Build one with [`Client::builder`] or [`Client::from_env`],
/// then use the resource handles such as [`Client::domains`].
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) api: sendmux_api::Client,
    pub(crate) base_url: String,
    /// `base_url` parsed once; each request clones it and sets its path.
    pub(crate) base: reqwest::Url,
    pub(crate) auth: HeaderValue,
    pub(crate) key_kind: KeyKind,
    pub(crate) user_agent: HeaderValue,
    /// The HTTP client came from the caller, whose default headers may lack
    /// the key and agent: every request sets them. A client we built has
    /// them as defaults already.
    pub(crate) identity_per_request: bool,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) budget: BudgetState,
    pub(crate) idempotency: IdempotencyPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) max_response_bytes: usize,
    #[cfg(feature = "conformance")]
    pub(crate) conformance: Option<crate::conformance::Checker>,
}

impl Inner {
    /// Fails before any I/O when this client's key may not call `surface`.
    pub(crate) fn key_kind_check(&self, surface: Surface) -> Result<(), Error> {
        crate::key::check_kind(self.key_kind, surface)
    }
}

impl Client {
    /// A builder with the defaults: base URL [`DEFAULT_BASE_URL`], 30 s per
    /// attempt, 10 s to connect, [`RetryPolicy::default`] and automatic
    /// idempotency keys. Only the API key is required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `SENDMUX_API_KEY` and, when set,
    /// `SENDMUX_BASE_URL`, with every other setting at its default.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::default().from_env().build()
    }

    /// The Domains resource.
    pub fn domains(&self) -> Domains {
        Domains::new(self.clone())
    }

    /// The Mailboxes resource.
    pub fn mailboxes(&self) -> Mailboxes {
        Mailboxes::new(self.clone())
    }

    /// The Webhooks resource (subscriptions and their deliveries).
    pub fn webhooks(&self) -> Webhooks {
        Webhooks::new(self.clone())
    }

    /// The sending accounts resource (the API's `/providers`).
    pub fn sending_accounts(&self) -> SendingAccounts {
        SendingAccounts::new(self.clone())
    }

    /// The Billing resource (balance, spending, transactions).
    pub fn billing(&self) -> Billing {
        Billing::new(self.clone())
    }

    /// The outbound delivery logs and metrics.
    pub fn email_logs(&self) -> EmailLogs {
        EmailLogs::new(self.clone())
    }

    /// The logs of received mail.
    pub fn inbox_logs(&self) -> InboxLogs {
        InboxLogs::new(self.clone())
    }

    /// The generated low-level client, for operations or wire details this
    /// crate does not cover.
    ///
    /// It shares this client's connection pool. When this crate built the
    /// HTTP client, requests made through it carry the API key and user
    /// agent; with [`ClientBuilder::with_http_client`] they carry whatever
    /// that client sends. It performs no retries, validation or idempotency.
    pub fn api(&self) -> &sendmux_api::Client {
        &self.inner.api
    }

    /// The base URL requests go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Tokens left in the retry budget (`None` when the budget is disabled).
    pub fn retry_budget_available(&self) -> Option<u32> {
        self.inner.budget.available()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field(
                "api_key",
                &format_args!("{}<redacted>", self.inner.key_kind.prefix()),
            )
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("idempotency", &self.inner.idempotency)
            .finish_non_exhaustive()
    }
}

/// A string whose `Debug` is redacted (the raw key before validation).
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Builder of a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    api_key: Option<Secret>,
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: Option<String>,
    retry: RetryPolicy,
    idempotency: IdempotencyPolicy,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
    max_response_bytes: usize,
    #[cfg(feature = "conformance")]
    conformance: Option<crate::conformance::ConformanceMode>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: None,
            retry: RetryPolicy::default(),
            idempotency: IdempotencyPolicy::default(),
            http: None,
            clock: Arc::new(SystemClock),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            #[cfg(feature = "conformance")]
            conformance: None,
        }
    }
}

impl ClientBuilder {
    /// The API key (`smx_root_...` for the Management API). Checked by
    /// [`ClientBuilder::build`].
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret(key.into()));
        self
    }

    /// The API base URL, e.g. a mock server's; defaults to
    /// [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Fills the API key from `SENDMUX_API_KEY` and the base URL from
    /// `SENDMUX_BASE_URL`, for those that are set.
    pub fn from_env(mut self) -> Self {
        if let Ok(key) = std::env::var(ENV_API_KEY) {
            self.api_key = Some(Secret(key));
        }
        if let Ok(url) = std::env::var(ENV_BASE_URL)
            && !url.trim().is_empty()
        {
            self.base_url = Some(url);
        }
        self
    }

    /// Time limit of one attempt, from sending to the end of the body
    /// (default 30 s). The retry policy's deadline bounds the whole call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time limit for opening a connection (default 10 s). Ignored with
    /// [`ClientBuilder::with_http_client`]: configure that client instead.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Your product token, appended to this SDK's `User-Agent`
    /// (e.g. `my-app/1.2`).
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// How failed attempts are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// When idempotency keys are generated (default
    /// [`IdempotencyPolicy::Automatic`]).
    pub fn idempotency(mut self, policy: IdempotencyPolicy) -> Self {
        self.idempotency = policy;
        self
    }

    /// Use your own `reqwest::Client` (proxies, TLS roots, pools).
    ///
    /// The client still sets the key, user agent and per-attempt timeout on
    /// every request it makes; the connect timeout is yours to configure.
    ///
    /// Build it with `.redirect(reqwest::redirect::Policy::none())`, as the
    /// client's own is. A redirect that reaches this crate becomes
    /// [`Error::Redirected`], but a `reqwest::Client` that follows redirects
    /// (reqwest's default) follows them before this crate sees the answer:
    /// a `307` would send the body and idempotency key to another host.
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The clock used for backoff sleeps, deadlines and polling (default
    /// [`SystemClock`]); tests can pass a [`crate::clock::VirtualClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Largest JSON response body read (default 8 MiB); larger bodies fail
    /// as [`Error::Undecodable`] instead of exhausting memory.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Validate every response against the API description.
    #[cfg(feature = "conformance")]
    pub fn conformance(mut self, mode: crate::conformance::ConformanceMode) -> Self {
        self.conformance = Some(mode);
        self
    }

    /// Checks the settings and builds the client. No request is made.
    pub fn build(self) -> Result<Client, Error> {
        let secret = self.api_key.ok_or_else(|| {
            InvalidInput::new(
                "api_key",
                "is missing",
                format!("call .api_key(..) or set {ENV_API_KEY}"),
            )
        })?;
        let key = ApiKey::for_surface(secret.0, Surface::Management)?;
        let auth = key.header_value()?;
        let base_url = parse_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;

        let agent = match &self.user_agent {
            Some(product) => format!("{SDK_USER_AGENT} {}", product.trim()),
            None => SDK_USER_AGENT.to_owned(),
        };
        let user_agent = HeaderValue::try_from(agent).map_err(|_| {
            InvalidInput::new(
                "user_agent",
                "is not a valid header value",
                "use printable ASCII such as `my-app/1.2`",
            )
        })?;
        if self.timeout.is_zero() {
            return Err(InvalidInput::new("timeout", "is zero", "use a positive duration").into());
        }

        let identity_per_request = self.http.is_some();
        let http = match self.http {
            Some(http) => http,
            None => {
                // Defaults for the escape hatch too: `api()` uses this client.
                let mut defaults = http::HeaderMap::new();
                defaults.insert(http::header::AUTHORIZATION, auth.clone());
                defaults.insert(http::header::USER_AGENT, user_agent.clone());
                reqwest::Client::builder()
                    .default_headers(defaults)
                    // Never follow: see `Error::Redirected`.
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| Error::Setup {
                        message: "could not build the HTTP client".into(),
                        source: Box::new(e),
                    })?
            }
        };
        let api = sendmux_api::Client::new_with_client(&base_url, http.clone());
        let base = reqwest::Url::parse(&base_url).map_err(|e| Error::Setup {
            message: "could not parse the base URL".into(),
            source: Box::new(e),
        })?;

        #[cfg(feature = "conformance")]
        let conformance = self.conformance.map(crate::conformance::Checker::new);

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api,
                base_url,
                base,
                auth,
                key_kind: key.kind(),
                user_agent,
                identity_per_request,
                timeout: self.timeout,
                budget: BudgetState::new(self.retry.budget().cloned()),
                retry: self.retry,
                idempotency: self.idempotency,
                clock: self.clock,
                max_response_bytes: self.max_response_bytes,
                #[cfg(feature = "conformance")]
                conformance,
            }),
        })
    }
}

fn parse_base_url(raw: &str) -> Result<String, InvalidInput> {
    let fix = "use an http(s) URL such as `https://app.sendmux.ai/api/v1`";
    let shown = redact_userinfo(raw);
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| InvalidInput::new("base_url", format!("{shown:?} is not a URL ({e})"), fix))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(InvalidInput::new(
            "base_url",
            format!("{shown:?} is not an http(s) URL with a host"),
            fix,
        ));
    }
    // Any user name or password would make the HTTP stack send Basic auth
    // instead of the key, and would end up in logs.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidInput::new(
            "base_url",
            format!("{shown:?} carries credentials"),
            "remove the `user:password@` part; the API key authenticates",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidInput::new(
            "base_url",
            format!("{shown:?} has a query or a fragment"),
            fix,
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `raw` with anything between `://` and the `@` of its authority replaced
/// by `***`, so a refused URL never echoes a password.
pub(crate) fn redact_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://").map(|i| i + 3) else {
        return raw.to_owned();
    };
    let rest = &raw[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..scheme_end], &rest[at..]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080/api/v1/").unwrap(),
            "http://127.0.0.1:8080/api/v1"
        );
        assert_eq!(parse_base_url(DEFAULT_BASE_URL).unwrap(), DEFAULT_BASE_URL);
        for bad in [
            "",
            "app.sendmux.ai",
            "ftp://x.y",
            "https://x.y/?a=1",
            "https://u:p@x.y",
            "http://:secret@x.y/api/v1",
            "http://user@x.y",
        ] {
            assert_eq!(parse_base_url(bad).unwrap_err().field, "base_url", "{bad}");
        }
    }

    #[test]
    fn refused_urls_never_echo_their_credentials() {
        for raw in [
            "http://:s3cr3t@x.y/api/v1",
            "https://me:s3cr3t@x.y",
            "http://s3cr3t@x.y",
        ] {
            let error = parse_base_url(raw).unwrap_err();
            let text = format!("{error} {error:?}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.contains("***@x.y"), "{text}");
        }
        assert_eq!(redact_userinfo("https://x.y/a@b"), "https://x.y/a@b");
        assert_eq!(redact_userinfo("not a url"), "not a url");
    }
}
