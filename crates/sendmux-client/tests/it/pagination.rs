//! Cursor pagination as lazy streams.

use futures::{StreamExt, TryStreamExt};
use httpmock::prelude::*;
use serde_json::json;

use crate::support::*;

fn page(ids: &[&str], next: Option<&str>, request_id: &str) -> serde_json::Value {
    let data: Vec<_> = ids
        .iter()
        .map(|id| domain(id, &format!("{id}.example.com"), "verified"))
        .collect();
    let mut pagination = json!({"has_more": next.is_some()});
    if let Some(next) = next {
        pagination["next_cursor"] = json!(next);
    }
    json!({"ok": true, "data": data, "pagination": pagination, "meta": {"request_id": request_id}})
}

struct Pages<'a> {
    first: httpmock::Mock<'a>,
    second: httpmock::Mock<'a>,
    third: httpmock::Mock<'a>,
}

async fn three_pages(server: &MockServer) -> Pages<'_> {
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param("limit", "2")
                .query_param_missing("cursor")
                .header("authorization", BEARER);
            then.status(200)
                .json_body(page(&["mdom_a", "mdom_b"], Some("c2"), "req_p1"));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param("limit", "2")
                .query_param("cursor", "c2");
            then.status(200)
                .json_body(page(&["mdom_c", "mdom_d"], Some("c3"), "req_p2"));
        })
        .await;
    let third = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param("limit", "2")
                .query_param("cursor", "c3");
            then.status(200)
                .json_body(page(&["mdom_e"], None, "req_p3"));
        })
        .await;
    Pages {
        first,
        second,
        third,
    }
}

#[tokio::test]
async fn items_stream_across_three_pages_lazily() {
    let server = MockServer::start_async().await;
    let pages = three_pages(&server).await;
    let (client, _clock) = client(&server);

    let mut stream = client.domains().list().limit(2).stream();
    assert_eq!(
        pages.first.calls_async().await,
        0,
        "nothing is requested before the first poll"
    );

    assert_eq!(stream.try_next().await.unwrap().unwrap().id, "mdom_a");
    assert_eq!(stream.try_next().await.unwrap().unwrap().id, "mdom_b");
    assert_eq!(pages.first.calls_async().await, 1);
    assert_eq!(
        pages.second.calls_async().await,
        0,
        "page 2 waits until page 1 is consumed"
    );

    assert_eq!(stream.try_next().await.unwrap().unwrap().id, "mdom_c");
    assert_eq!(pages.second.calls_async().await, 1);
    assert_eq!(pages.third.calls_async().await, 0);

    let rest: Vec<String> = stream.map_ok(|d| d.id).try_collect().await.unwrap();
    assert_eq!(rest, ["mdom_d", "mdom_e"]);
    pages.first.assert_calls_async(1).await;
    pages.second.assert_calls_async(1).await;
    pages.third.assert_calls_async(1).await;
}

#[tokio::test]
async fn pages_expose_cursors_and_request_ids() {
    let server = MockServer::start_async().await;
    let _pages = three_pages(&server).await;
    let (client, _clock) = client(&server);
    let pages: Vec<_> = client
        .domains()
        .list()
        .limit(2)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let cursors: Vec<_> = pages.iter().map(|p| p.next_cursor.clone()).collect();
    assert_eq!(
        cursors,
        [Some("c2".to_owned()), Some("c3".to_owned()), None]
    );
    let ids: Vec<_> = pages.iter().map(|p| p.request_id().unwrap()).collect();
    assert_eq!(ids, ["req_p1", "req_p2", "req_p3"]);
    assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 5);
}

#[tokio::test]
async fn listing_resumes_from_a_stored_cursor() {
    let server = MockServer::start_async().await;
    let pages = three_pages(&server).await;
    let (client, _clock) = client(&server);
    let ids: Vec<String> = client
        .domains()
        .list()
        .limit(2)
        .cursor("c2")
        .stream()
        .map_ok(|d| d.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["mdom_c", "mdom_d", "mdom_e"]);
    pages.first.assert_calls_async(0).await;
}

#[tokio::test]
async fn one_page_with_send_and_errors_end_the_stream() {
    let server = MockServer::start_async().await;
    let _pages = three_pages(&server).await;
    let (client, _clock) = client(&server);
    let first = client.domains().list().limit(2).await.unwrap();
    assert_eq!(first.next_cursor.as_deref(), Some("c2"));
    assert!(first.has_more);

    let broken = MockServer::start_async().await;
    broken
        .mock_async(|when, then| {
            when.method(GET).path("/domains");
            then.status(404)
                .json_body(api_error("not_found", "gone", false, "req_404"));
        })
        .await;
    let (client, _clock) = crate::support::client(&broken);
    let results: Vec<_> = client.domains().list().stream().collect().await;
    assert_eq!(results.len(), 1);
    assert!(results[0].is_err());
}

/// Items are decoded one by one as the stream reaches them: the good items
/// before a malformed one arrive, then one error naming the item's position
/// and the request, then the stream ends without asking for the next page.
#[tokio::test]
async fn a_malformed_item_is_an_error_at_its_position_and_ends_the_stream() {
    let server = MockServer::start_async().await;
    let mut body = page(&["mdom_a", "mdom_b", "mdom_c"], Some("c2"), "req_bad");
    body["data"][1]["mode"] = json!(42);
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param_missing("cursor");
            then.status(200)
                .header("x-request-id", "req_bad")
                .json_body(body);
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param("cursor", "c2");
            then.status(200).json_body(page(&["mdom_d"], None, "req_2"));
        })
        .await;
    let (client, _clock) = client(&server);
    let results: Vec<_> = client.domains().list().stream().collect().await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().id, "mdom_a");
    let error = results[1].as_ref().unwrap_err();
    match error {
        sendmux_client::Error::Undecodable {
            status,
            request_id,
            reason,
            snippet,
            ..
        } => {
            assert_eq!(*status, Some(200));
            assert_eq!(request_id.as_deref(), Some("req_bad"));
            assert!(reason.starts_with("item 1 of the page"), "{reason}");
            assert!(snippet.contains("mdom_b"), "{snippet}");
        }
        other => panic!("expected an undecodable item, got {other:?}"),
    }
    first.assert_calls_async(1).await;
    second.assert_calls_async(0).await;
}

/// A page whose envelope is broken fails before any of its items, with the
/// envelope's request id when the header is missing.
#[tokio::test]
async fn a_broken_envelope_fails_the_page_and_uses_the_envelope_request_id() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains");
            then.status(200).json_body(json!({
                "ok": true,
                "data": [domain("mdom_a", "a.example.com", "verified")],
                "meta": {"request_id": "req_env"}
            }));
        })
        .await;
    let (client, _clock) = client(&server);
    let results: Vec<_> = client.domains().list().stream().collect().await;
    assert_eq!(results.len(), 1);
    let error = results[0].as_ref().unwrap_err();
    assert!(
        matches!(error, sendmux_client::Error::Undecodable { reason, .. } if reason.contains("pagination")),
        "{error:?}"
    );

    let fallback = MockServer::start_async().await;
    fallback
        .mock_async(|when, then| {
            when.method(GET).path("/domains");
            then.status(200)
                .json_body(json!({"ok": true, "data": [{"id": 1}], "pagination": {"has_more": false}, "meta": {"request_id": "req_env"}}));
        })
        .await;
    let (client, _clock) = crate::support::client(&fallback);
    let results: Vec<_> = client.domains().list().stream().collect().await;
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().unwrap_err().request_id(),
        Some("req_env")
    );
}

/// A server that hands back the cursor it was given would page forever;
/// the stream delivers that page, then ends with a typed error.
#[tokio::test]
async fn a_repeated_cursor_ends_the_stream_with_a_loop_error() {
    let server = MockServer::start_async().await;
    let looping = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param("cursor", "same");
            then.status(200)
                .json_body(page(&["mdom_x"], Some("same"), "req_loop"));
        })
        .await;
    let (client, _clock) = client(&server);
    let items: Vec<_> = client
        .domains()
        .list()
        .cursor("same")
        .stream()
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().id, "mdom_x");
    let error = items[1].as_ref().unwrap_err();
    assert!(
        matches!(error, sendmux_client::Error::PaginationLoop { cursor, pages: 1, .. } if cursor == "same"),
        "{error:?}"
    );
    assert_eq!(error.request_id(), Some("req_loop"));
    looping.assert_calls_async(1).await;
}

/// A server rotating between two cursors forever (a → b → a → ...) is
/// caught at the first repeat, by the item stream and the page stream alike:
/// each cursor is fetched at most once.
#[tokio::test]
async fn cursors_rotating_forever_end_with_a_typed_error_after_one_repeat() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains")
                .query_param_missing("cursor");
            then.status(200)
                .json_body(page(&["mdom_0"], Some("a"), "req_0"));
        })
        .await;
    let at_a = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains").query_param("cursor", "a");
            then.status(200)
                .json_body(page(&["mdom_a"], Some("b"), "req_a"));
        })
        .await;
    let at_b = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains").query_param("cursor", "b");
            then.status(200)
                .json_body(page(&["mdom_b"], Some("a"), "req_b"));
        })
        .await;
    let (client, _clock) = client(&server);

    let items: Vec<_> = client.domains().list().stream().collect().await;
    let ids: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().map(|d| d.id.as_str()))
        .collect();
    assert_eq!(ids, ["mdom_0", "mdom_a", "mdom_b"]);
    assert_eq!(items.len(), 4, "three items, then the error, then the end");
    match items.last().unwrap() {
        Err(sendmux_client::Error::PaginationLoop {
            cursor,
            pages,
            request_id,
        }) => {
            assert_eq!(cursor, "a");
            assert_eq!(*pages, 3);
            assert_eq!(request_id.as_deref(), Some("req_b"));
        }
        other => panic!("expected a loop error, got {other:?}"),
    }

    let pages: Vec<_> = client.domains().list().pages().collect().await;
    assert_eq!(pages.len(), 4);
    assert!(pages[..3].iter().all(Result::is_ok));
    assert!(matches!(
        pages[3],
        Err(sendmux_client::Error::PaginationLoop { .. })
    ));

    first.assert_calls_async(2).await;
    at_a.assert_calls_async(2).await;
    at_b.assert_calls_async(2).await;
}
