//! The client and its builder.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::HeaderValue;

use crate::billing::Billing;
use crate::clock::{Clock, SystemClock};
use crate::domains::Domains;
use crate::error::{Error, InvalidInput};
use crate::idempotency::IdempotencyPolicy;
use crate::key::{ApiKey, Credential, KeyKind, Surface};
use crate::logs::{EmailLogs, InboxLogs};
use crate::mailbox::Mailbox;
use crate::mailboxes::Mailboxes;
use crate::retry::{BudgetState, RetryPolicy};
use crate::sending::Sending;
use crate::sending_accounts::SendingAccounts;
use crate::webhooks::Webhooks;

/// Base URL of the Management and Mailbox APIs.
pub const DEFAULT_BASE_URL: &str = "https://app.sendmux.ai/api/v1";
/// Base URL of the Sending API, which lives on its own host.
pub const DEFAULT_SENDING_BASE_URL: &str = "https://smtp.sendmux.ai/api/v1";
/// Environment variable holding the API key, read by [`Client::from_env`].
pub const ENV_API_KEY: &str = "SENDMUX_API_KEY";
/// Environment variable overriding the base URL, read by [`Client::from_env`].
pub const ENV_BASE_URL: &str = "SENDMUX_BASE_URL";
/// Environment variable overriding the Sending API's base URL, read by
/// [`Client::from_env`].
pub const ENV_SENDING_BASE_URL: &str = "SENDMUX_SENDING_BASE_URL";
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
///
/// One client serves every API: it holds the Management base URL and the
/// Sending API's, a root key for the Management API and a mailbox key (or
/// agent token) for the Mailbox and Sending APIs, and each call takes the
/// base URL and key of its operation's [`Surface`]. A call for which the
/// client holds no fitting key fails with [`Error::InvalidInput`] before
/// any I/O.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// The key of the Mailbox and Sending APIs. Kept out of `Inner` so
    /// [`Client::with_mailbox_key`] can swap it without a new pool.
    pub(crate) mailbox: Option<Arc<Credential>>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// For calls that must carry no key (the signed upload, the public
    /// description), whose client has no default `Authorization`: built on
    /// first use, or the caller's own client.
    anonymous_http: OnceLock<reqwest::Client>,
    pub(crate) api: sendmux_api::Client,
    pub(crate) base_url: String,
    /// `base_url` parsed once; each request clones it and sets its path.
    pub(crate) base: reqwest::Url,
    pub(crate) sending_base_url: String,
    /// `sending_base_url` parsed once.
    pub(crate) sending_base: reqwest::Url,
    /// The key of the Management API.
    pub(crate) root: Option<Credential>,
    pub(crate) user_agent: HeaderValue,
    /// The HTTP client came from the caller, whose default headers may lack
    /// the agent: every request sets it. (The key is set on every request
    /// anyway: it depends on the call's surface.)
    pub(crate) identity_per_request: bool,
    connect_timeout: Duration,
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
    /// The HTTP client of calls that carry no key.
    pub(crate) fn anonymous_http(&self) -> Result<&reqwest::Client, Error> {
        if let Some(http) = self.anonymous_http.get() {
            return Ok(http);
        }
        let built = http_client(None, &self.user_agent, self.connect_timeout, self.timeout)?;
        // A concurrent first use may have won the race; either client is fine.
        Ok(self.anonymous_http.get_or_init(|| built))
    }
}

impl Client {
    /// The `Authorization` value for a call on `surface`, or the error
    /// saying which key to add; checked before any I/O.
    pub(crate) fn credential(&self, surface: Surface) -> Result<&HeaderValue, Error> {
        let (fitting, other) = match surface {
            Surface::Management => (self.inner.root.as_ref(), self.mailbox.as_deref()),
            Surface::Mailbox | Surface::Sending => {
                (self.mailbox.as_deref(), self.inner.root.as_ref())
            }
        };
        match fitting {
            Some(credential) => Ok(&credential.header),
            None => Err(crate::key::missing_key(surface, other.map(|c| c.kind))),
        }
    }
}

impl Client {
    /// A builder with the defaults: base URLs [`DEFAULT_BASE_URL`] and
    /// [`DEFAULT_SENDING_BASE_URL`], 30 s per attempt, 10 s to connect,
    /// [`RetryPolicy::default`] and automatic idempotency keys. Only a key
    /// is required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `SENDMUX_API_KEY` and, when set,
    /// `SENDMUX_BASE_URL` and `SENDMUX_SENDING_BASE_URL`, with every other
    /// setting at its default.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::default().from_env().build()
    }

    /// A copy of this client that uses `key` (a `smx_mbx_` mailbox key or a
    /// `smx_agent_` agent token) for the Mailbox and Sending APIs, for apps
    /// that act for many mailboxes. Cheap: the copy shares the connection
    /// pool, retry budget and settings, and keeps the root key.
    ///
    /// ```no_run
    /// # async fn run(client: sendmux_client::Client, key: &str) -> Result<(), sendmux_client::Error> {
    /// let agent = client.with_mailbox_key(key)?;
    /// agent
    ///     .sending()
    ///     .send("agent@mail.acme.com", "ada@example.com")
    ///     .subject("Hello")
    ///     .html("<p>Hi Ada</p>")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with_mailbox_key(&self, key: impl Into<String>) -> Result<Client, Error> {
        let credential = mailbox_credential("mailbox_key", key.into())?;
        Ok(Client {
            inner: Arc::clone(&self.inner),
            mailbox: Some(Arc::new(credential)),
        })
    }

    /// Whether this client holds a key that `surface` accepts.
    pub fn has_key_for(&self, surface: Surface) -> bool {
        self.credential(surface).is_ok()
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

    /// The Mailbox API (messages, threads, folders, sync), on the base URL
    /// of the Management API; it needs a mailbox key or agent token, and a
    /// client without one fails each call before any I/O.
    ///
    /// ```no_run
    /// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
    /// let me = client.mailbox().me().await?;
    /// # let _ = me; Ok(()) }
    /// ```
    pub fn mailbox(&self) -> Mailbox {
        Mailbox::new(self.clone())
    }

    /// The Sending API (single and batch sends, attachments), on its own
    /// host; it needs a mailbox key or agent token.
    pub fn sending(&self) -> Sending {
        Sending::new(self.clone())
    }

    /// The generated low-level client, for operations or wire details this
    /// crate does not cover.
    ///
    /// It shares this client's connection pool and covers the Management
    /// and Mailbox APIs (the Sending API's generated client is
    /// [`sendmux_api::sending::Client`]). When this crate built the HTTP
    /// client, requests made through it carry the root key (or, on a client
    /// without one, the mailbox key) and the user agent; with
    /// [`ClientBuilder::with_http_client`] they carry whatever that client
    /// sends. It performs no retries, validation or idempotency.
    pub fn api(&self) -> &sendmux_api::Client {
        &self.inner.api
    }

    /// The base URL of the Management and Mailbox APIs (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The base URL of the Sending API (no trailing slash).
    pub fn sending_base_url(&self) -> &str {
        &self.inner.sending_base_url
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
            .field("sending_base_url", &self.inner.sending_base_url)
            .field("api_key", &self.inner.root)
            .field("mailbox_key", &self.mailbox)
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

/// A base URL as given, whose `Debug` hides any `user:password@` part.
#[derive(Clone)]
struct RawUrl(String);

impl fmt::Debug for RawUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_userinfo(&self.0), f)
    }
}

/// Builder of a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    api_key: Option<Secret>,
    mailbox_key: Option<Secret>,
    base_url: Option<RawUrl>,
    sending_base_url: Option<RawUrl>,
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
            mailbox_key: None,
            base_url: None,
            sending_base_url: None,
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
    /// The API key: a root key (`smx_root_...`) serves the Management API;
    /// a mailbox key (`smx_mbx_...`) or agent token (`smx_agent_...`) serves
    /// the Mailbox and Sending APIs, as [`mailbox_key`](Self::mailbox_key)
    /// does. Its shape is checked by [`ClientBuilder::build`]; which
    /// operations it may call is checked per call.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret(key.into()));
        self
    }

    /// A mailbox key (`smx_mbx_...`) or agent token (`smx_agent_...`) for
    /// the Mailbox and Sending APIs, next to a root [`api_key`](Self::api_key)
    /// that keeps serving the Management API.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), sendmux_client::Error> {
    /// let client = sendmux_client::Client::builder()
    ///     .api_key("smx_root_...")
    ///     .mailbox_key("smx_mbx_...")
    ///     .build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn mailbox_key(mut self, key: impl Into<String>) -> Self {
        self.mailbox_key = Some(Secret(key.into()));
        self
    }

    /// The base URL of the Management and Mailbox APIs, e.g. a mock
    /// server's; defaults to [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(RawUrl(url.into()));
        self
    }

    /// The base URL of the Sending API, e.g. a mock server's; defaults to
    /// [`DEFAULT_SENDING_BASE_URL`]. Checked like
    /// [`base_url`](Self::base_url): http(s), a host, no credentials.
    pub fn sending_base_url(mut self, url: impl Into<String>) -> Self {
        self.sending_base_url = Some(RawUrl(url.into()));
        self
    }

    /// Fills the API key from `SENDMUX_API_KEY` and the base URLs from
    /// `SENDMUX_BASE_URL` and `SENDMUX_SENDING_BASE_URL`, for those that
    /// are set.
    pub fn from_env(mut self) -> Self {
        if let Ok(key) = std::env::var(ENV_API_KEY) {
            self.api_key = Some(Secret(key));
        }
        let url = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|url| !url.trim().is_empty())
                .map(RawUrl)
        };
        if let Some(url) = url(ENV_BASE_URL) {
            self.base_url = Some(url);
        }
        if let Some(url) = url(ENV_SENDING_BASE_URL) {
            self.sending_base_url = Some(url);
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
    /// It also carries the calls that take no key (the signed upload's
    /// `PUT`, the Sending API's description), so give it no default
    /// `Authorization` header.
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
    ///
    /// Fails when no key is given, when a key is malformed, when
    /// [`mailbox_key`](Self::mailbox_key) is not a mailbox key or agent
    /// token, or when both keys are mailbox keys.
    pub fn build(self) -> Result<Client, Error> {
        if self.api_key.is_none() && self.mailbox_key.is_none() {
            return Err(InvalidInput::new(
                "api_key",
                "is missing",
                format!("call .api_key(..) or .mailbox_key(..), or set {ENV_API_KEY}"),
            )
            .into());
        }
        let mut root = None;
        let mut mailbox = match self.mailbox_key {
            Some(secret) => Some(mailbox_credential("mailbox_key", secret.0)?),
            None => None,
        };
        if let Some(secret) = self.api_key {
            let credential = Credential::new(&ApiKey::new(secret.0)?)?;
            if credential.kind == KeyKind::Root {
                root = Some(credential);
            } else if mailbox.is_none() {
                mailbox = Some(credential);
            } else {
                return Err(InvalidInput::new(
                    "mailbox_key",
                    format!(
                        "is given while api_key is already a {} key",
                        credential.kind.prefix()
                    ),
                    "pass the root key (smx_root_...) to .api_key(..) and the mailbox key to .mailbox_key(..)",
                )
                .into());
            }
        }
        // `api()` and plain requests default to the Management key; every
        // call of this crate sets its own.
        let default_auth = root.as_ref().or(mailbox.as_ref()).map(|c| c.header.clone());
        let base_url = parse_base_url(
            "base_url",
            self.base_url.as_ref().map_or(DEFAULT_BASE_URL, |u| &u.0),
        )?;
        let sending_base_url = parse_base_url(
            "sending_base_url",
            self.sending_base_url
                .as_ref()
                .map_or(DEFAULT_SENDING_BASE_URL, |u| &u.0),
        )?;

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
        let anonymous_http = OnceLock::new();
        let http = match self.http {
            Some(http) => {
                // The caller's client serves keyless calls too (its proxies
                // and TLS roots apply to them as well).
                let _ = anonymous_http.set(http.clone());
                http
            }
            // Defaults for the escape hatch too: `api()` uses this client.
            None => http_client(
                default_auth,
                &user_agent,
                self.connect_timeout,
                self.timeout,
            )?,
        };
        let api = sendmux_api::Client::new_with_client(&base_url, http.clone());
        let parse = |url: &str| {
            reqwest::Url::parse(url).map_err(|e| Error::Setup {
                message: "could not parse the base URL".into(),
                source: Box::new(e),
            })
        };
        let base = parse(&base_url)?;
        let sending_base = parse(&sending_base_url)?;

        #[cfg(feature = "conformance")]
        let conformance = self.conformance.map(crate::conformance::Checker::new);

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                anonymous_http,
                api,
                base_url,
                base,
                sending_base_url,
                sending_base,
                root,
                user_agent,
                identity_per_request,
                connect_timeout: self.connect_timeout,
                timeout: self.timeout,
                budget: BudgetState::new(self.retry.budget().cloned()),
                retry: self.retry,
                idempotency: self.idempotency,
                clock: self.clock,
                max_response_bytes: self.max_response_bytes,
                #[cfg(feature = "conformance")]
                conformance,
            }),
            mailbox: mailbox.map(Arc::new),
        })
    }
}

/// A mailbox key or agent token for `field`, refusing a root key.
fn mailbox_credential(field: &'static str, secret: String) -> Result<Credential, Error> {
    let key = ApiKey::new(secret).map_err(|e| match e {
        // The shape errors name `api_key`; say which key was malformed.
        Error::InvalidInput(mut input) => {
            input.field = field.to_owned();
            Error::InvalidInput(input)
        }
        other => other,
    })?;
    if key.kind() == KeyKind::Root {
        return Err(InvalidInput::new(
            field,
            "is a smx_root_ key, which the Mailbox and Sending APIs refuse",
            "pass a mailbox key (smx_mbx_...) or agent token (smx_agent_...); give the root key to .api_key(..)",
        )
        .into());
    }
    Credential::new(&key)
}

/// An HTTP client that never follows redirects, with `auth` (when given)
/// and the user agent as default headers.
fn http_client(
    auth: Option<HeaderValue>,
    user_agent: &HeaderValue,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, Error> {
    let mut defaults = http::HeaderMap::new();
    if let Some(auth) = auth {
        defaults.insert(http::header::AUTHORIZATION, auth);
    }
    defaults.insert(http::header::USER_AGENT, user_agent.clone());
    crate::tls::with_tls(reqwest::Client::builder())?
        .default_headers(defaults)
        // Never follow: see `Error::Redirected`.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Setup {
            message: "could not build the HTTP client".into(),
            source: Box::new(e),
        })
}

fn parse_base_url(field: &'static str, raw: &str) -> Result<String, InvalidInput> {
    let fix = "use an http(s) URL such as `https://app.sendmux.ai/api/v1`";
    let shown = redact_userinfo(raw);
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| InvalidInput::new(field, format!("{shown:?} is not a URL ({e})"), fix))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(InvalidInput::new(
            field,
            format!("{shown:?} is not an http(s) URL with a host"),
            fix,
        ));
    }
    // Any user name or password would make the HTTP stack send Basic auth
    // instead of the key, and would end up in logs.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(InvalidInput::new(
            field,
            format!("{shown:?} carries credentials"),
            "remove the `user:password@` part; the API key authenticates",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidInput::new(
            field,
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
            parse_base_url("base_url", "http://127.0.0.1:8080/api/v1/").unwrap(),
            "http://127.0.0.1:8080/api/v1"
        );
        assert_eq!(
            parse_base_url("base_url", DEFAULT_BASE_URL).unwrap(),
            DEFAULT_BASE_URL
        );
        for bad in [
            "",
            "app.sendmux.ai",
            "ftp://x.y",
            "https://x.y/?a=1",
            "https://u:p@x.y",
            "http://:secret@x.y/api/v1",
            "http://user@x.y",
        ] {
            assert_eq!(
                parse_base_url("base_url", bad).unwrap_err().field,
                "base_url",
                "{bad}"
            );
            assert_eq!(
                parse_base_url("sending_base_url", bad).unwrap_err().field,
                "sending_base_url",
                "{bad}"
            );
        }
    }

    #[test]
    fn refused_urls_never_echo_their_credentials() {
        for raw in [
            "http://:s3cr3t@x.y/api/v1",
            "https://me:s3cr3t@x.y",
            "http://s3cr3t@x.y",
        ] {
            let error = parse_base_url("sending_base_url", raw).unwrap_err();
            let text = format!("{error} {error:?}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.contains("***@x.y"), "{text}");
        }
        assert_eq!(redact_userinfo("https://x.y/a@b"), "https://x.y/a@b");
        assert_eq!(redact_userinfo("not a url"), "not a url");
    }
}
