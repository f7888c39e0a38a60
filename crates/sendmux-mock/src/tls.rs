//! TLS for this crate's own HTTP clients. By default reqwest runs on rustls
//! with the `ring` crypto provider, which builds with no C toolchain; the
//! `rustls-aws-lc` and `native-tls` features leave reqwest's own setup (the
//! aws-lc-rs provider, or the platform's TLS library) in place.

/// `builder` with a rustls configuration on the provider the application
/// installed process-wide, else `ring`, checking certificates with the
/// platform's verifier. Nothing is installed process-wide, so an
/// application's own choice never conflicts with ours.
#[cfg(not(any(feature = "native-tls", feature = "rustls-aws-lc")))]
pub(crate) fn with_tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    use std::sync::Arc;

    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth();
    // reqwest sets ALPN only on configurations it builds itself.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(builder.tls_backend_preconfigured(config))
}

/// `builder` as it is: reqwest's own TLS setup is the one the features chose.
#[cfg(any(feature = "native-tls", feature = "rustls-aws-lc"))]
pub(crate) fn with_tls(builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
    Ok(builder)
}
