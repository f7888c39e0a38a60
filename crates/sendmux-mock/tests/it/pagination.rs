//! Cursor pagination.

use std::collections::HashSet;

use sendmux_mock::MockServer;
use serde_json::json;

use crate::harness::Api;

#[tokio::test]
async fn pages_over_250_domains_return_each_once_newest_first() {
    let server = MockServer::builder()
        .rate_limit(10_000, 60)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let mut created = Vec::new();
    for i in 0..250 {
        let d = api.create(&format!("d{i}.example.com"), None).await;
        created.push(d["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/domains?limit=100&cursor={c}"),
            None => "/domains?limit=100".to_owned(),
        };
        let page = api.get(&path).await.json();
        let items = page["data"].as_array().unwrap();
        pages.push(items.len());
        seen.extend(items.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
        if page["pagination"]["has_more"] == false {
            assert!(page["pagination"].get("next_cursor").is_none());
            break;
        }
        cursor = Some(
            page["pagination"]["next_cursor"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(pages, vec![100, 100, 50]);
    created.reverse();
    assert_eq!(seen, created, "newest first, each exactly once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 250);
}

#[tokio::test]
async fn default_limit_is_50_and_cursors_survive_deletes() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(api.create(&format!("d{i}.example.com"), None).await["id"].clone());
    }
    let first = api.get("/domains").await.json();
    assert_eq!(first["data"].as_array().unwrap().len(), 50);
    assert_eq!(first["pagination"]["has_more"], true);
    let cursor = first["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Deleting an item already returned does not shift the next page.
    let newest = ids.last().unwrap().as_str().unwrap();
    let r = api
        .call(http::Method::DELETE, &format!("/domains/{newest}"))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let second = api.get(&format!("/domains?cursor={cursor}")).await.json();
    let got: Vec<_> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    let want: Vec<_> = ids[..10].iter().rev().cloned().collect();
    assert_eq!(got, want);
    assert_eq!(second["pagination"], json!({ "has_more": false }));
}
