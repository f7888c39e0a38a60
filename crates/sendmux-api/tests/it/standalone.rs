//! The generated client used on its own: with the default `default-tls`
//! feature, `Client::new` builds its HTTP client instead of panicking for
//! want of a TLS provider.
#![allow(missing_docs)]

#[test]
fn client_new_builds_its_own_http_client() {
    let client = sendmux_api::Client::new("https://app.sendmux.ai/api/v1");
    use sendmux_api::ClientInfo as _;
    assert_eq!(client.baseurl(), "https://app.sendmux.ai/api/v1");
}
