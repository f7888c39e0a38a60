//! The TLS setup of every HTTP client this crate builds.
//!
//! By default reqwest runs on rustls with the `ring` crypto provider, which
//! builds with no C toolchain. The `rustls-aws-lc` feature switches to
//! rustls' aws-lc-rs provider and `native-tls` to the platform's TLS
//! library; with either, reqwest's own setup is used as it is.

/// A `reqwest::ClientBuilder` with this crate's TLS setup, to start your own
/// client from (proxies, pools, extra roots) before handing it to
/// [`ClientBuilder::with_http_client`](crate::ClientBuilder::with_http_client).
///
/// With the default features it carries a rustls configuration on `ring`
/// (or on the process-wide provider, when the application installed one)
/// that checks certificates with the platform's verifier. Nothing has to be
/// installed or called first.
///
/// # Errors
///
/// [`Error::Setup`](crate::Error::Setup) when the platform's certificate
/// verifier cannot be set up.
///
/// # Example
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let http = sendmux_client::http_client_builder()?
///     .pool_max_idle_per_host(4)
///     .build()?;
/// let client = sendmux_client::Client::builder()
///     .api_key("smx_root_...")
///     .with_http_client(http)
///     .build()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, crate::Error> {
    with_tls(reqwest::Client::builder())
}

#[cfg(not(any(feature = "native-tls", feature = "rustls-aws-lc")))]
pub(crate) fn with_tls(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::ClientBuilder, crate::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    use std::sync::Arc;

    // An application that installed a process-wide provider chose it; we
    // never install one ourselves, so nothing conflicts with theirs.
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let setup = |e: rustls::Error| crate::Error::Setup {
        message: "could not set up TLS".into(),
        source: Box::new(e),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(setup)?
        .with_platform_verifier()
        .map_err(setup)?
        .with_no_client_auth();
    // reqwest sets ALPN only on configurations it builds itself.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(builder.tls_backend_preconfigured(config))
}

#[cfg(any(feature = "native-tls", feature = "rustls-aws-lc"))]
pub(crate) fn with_tls(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::ClientBuilder, crate::Error> {
    Ok(builder)
}
