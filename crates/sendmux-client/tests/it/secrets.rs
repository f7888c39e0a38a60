//! The API key never shows up in Debug, Display, errors or traces.

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{ApiKey, Client};

use crate::support::*;

#[tokio::test]
async fn debug_output_is_redacted() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(401).json_body(api_error(
                "authentication_required",
                "bad key",
                false,
                "req_401",
            ));
        })
        .await;
    let clock = VirtualClock::new();
    let builder = builder(&server.base_url(), &clock);
    let client = builder.clone().build().unwrap();
    let api_err = client.domains().get("mdom_1").await.unwrap_err();
    let bad_key_err = Client::builder()
        .api_key(format!("{KEY} "))
        .build()
        .unwrap_err();
    let wrong_surface = Client::builder()
        .api_key(KEY)
        .mailbox_key("smx_root_TOPSECRET0123456789")
        .build()
        .unwrap_err();
    let key = ApiKey::new(KEY).unwrap();

    for text in [
        format!("{builder:?}"),
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{api_err:?} {api_err}"),
        format!("{bad_key_err:?} {bad_key_err}"),
        format!("{wrong_surface:?} {wrong_surface}"),
        format!("{key:?} {key}"),
        format!("{:?}", client.domains()),
        format!("{:?}", client.domains().create("a.com")),
    ] {
        assert!(!text.contains(SECRET), "leaked: {text}");
    }
    assert!(format!("{client:?}").contains("smx_root_<redacted>"));
}
