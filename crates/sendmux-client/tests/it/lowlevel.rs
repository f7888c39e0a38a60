//! Errors of the generated low-level client convert into ours.

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{Error, ErrorCode};
use tokio::net::TcpListener;

use crate::support::*;

#[tokio::test]
async fn low_level_errors_map_onto_the_same_variants() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_missing");
            then.status(404)
                .header("x-request-id", "req_404")
                .json_body(api_error("not_found", "no such domain", false, "req_404"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("if-none-match", "W/\"e\"");
            then.status(304).header("x-request-id", "req_304");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_bad");
            then.status(200).body("{\"ok\": tru");
        })
        .await;
    let (client, _clock) = client(&server);
    let api = client.api();

    let err = Error::from(
        api.management_get_domain()
            .public_id("mdom_missing")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    assert_eq!(err.request_id(), Some("req_404"));
    assert_eq!(err.status(), Some(404));

    let err = Error::from(
        api.management_get_domain()
            .public_id("mdom_1")
            .if_none_match("W/\"e\"")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(
            &err,
            Error::Undecodable {
                status: Some(304),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.request_id(), Some("req_304"));

    let err = Error::from(
        api.management_get_domain()
            .public_id("mdom_bad")
            .send()
            .await
            .unwrap_err(),
    );
    match &err {
        Error::Undecodable {
            status, snippet, ..
        } => {
            assert_eq!(*status, None);
            assert_eq!(snippet, "{\"ok\": tru");
        }
        other => panic!("{other:?}"),
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let offline = builder(&closed, &VirtualClock::new()).build().unwrap();
    let err = Error::from(
        offline
            .api()
            .management_list_domains()
            .send()
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, Error::NotSent { attempts: 1, .. }), "{err:?}");
}
