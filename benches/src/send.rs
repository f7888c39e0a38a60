//! What the send benchmarks share: the mock with a verified domain and a
//! mailbox whose key sends, and one send through each variant.
// Benchmark scaffolding: a setup or send that fails must stop the run
// loudly rather than be measured.
#![allow(clippy::expect_used)]

use sendmux_mock::{MockServer, Propagation};
use serde::{Deserialize, Serialize};

/// The sending mailbox's address.
pub const SENDER: &str = "bench@send.example";
const ROOT_KEY: &str = "smx_root_send_bench";

/// A running mock, a mailbox key, and both ways of sending with it.
pub struct SendFixture {
    server: MockServer,
    key: String,
    http: reqwest::Client,
    client: sendmux_client::Client,
    url: String,
}

/// The body a careful hand-written caller sends.
#[derive(Serialize)]
struct HandSend<'a> {
    from: HandAddress<'a>,
    to: HandAddress<'a>,
    subject: String,
    html_body: &'a str,
}

#[derive(Serialize)]
struct HandAddress<'a> {
    email: &'a str,
}

/// The part of the answer a hand-written caller reads.
#[derive(Deserialize)]
struct HandSent {
    /// `data`.
    data: HandSentData,
}

/// `data` of a send's answer.
#[derive(Deserialize)]
struct HandSentData {
    /// The queued message's id.
    message_id: String,
}

/// The part of a batch's answer a hand-written caller reads.
#[derive(Deserialize)]
struct HandBatch {
    /// `data`.
    data: HandBatchData,
}

/// `data` of a batch's answer.
#[derive(Deserialize)]
struct HandBatchData {
    /// Counts over the batch.
    summary: HandBatchSummary,
}

/// `summary` of a batch's answer.
#[derive(Deserialize)]
struct HandBatchSummary {
    /// Messages accepted.
    queued: usize,
}

impl SendFixture {
    /// Starts the mock (limits out of the way, credits for every run) and
    /// creates the sending mailbox.
    pub async fn start() -> Self {
        let server = MockServer::builder()
            .propagation(Propagation::AfterVerifyCalls { calls: 1 })
            .rate_limit(u32::MAX, 60)
            .mailbox_rate_limit(u32::MAX, 60)
            .sending_credits(u64::from(u32::MAX))
            .request_log_capacity(0)
            .start()
            .await
            .expect("the mock starts");
        let root = sendmux_client::Client::builder()
            .api_key(ROOT_KEY)
            .base_url(server.base_url())
            .build()
            .expect("a root client");
        let domain = root
            .domains()
            .create("send.example")
            .await
            .expect("domain created");
        root.domains().verify(&domain.id).await.expect("verified");
        let created = root.mailboxes().create(SENDER).await.expect("mailbox");
        let key = created
            .credential
            .as_ref()
            .expect("a key")
            .secret
            .expose_secret()
            .to_owned();
        // One connection pool for both variants.
        let http = reqwest::Client::new();
        let client = sendmux_client::Client::builder()
            .mailbox_key(&key)
            .base_url(server.base_url())
            .sending_base_url(server.sending_base_url())
            .with_http_client(http.clone())
            .build()
            .expect("a sending client");
        let url = format!("{}/emails/send", server.sending_base_url());
        Self {
            server,
            key,
            http,
            client,
            url,
        }
    }

    /// Send `i` with reqwest + serde: body, key and answer by hand.
    pub async fn send_plain(&self, i: usize) -> String {
        self.send_by_hand(
            "reader@example.com",
            format!("plain {i}"),
            format!("plain-{i}"),
        )
        .await
    }

    /// Send `i` with reqwest + serde to `to`, with a fresh idempotency key;
    /// `to` may be the sending mailbox itself ([`SENDER`]), so the message is
    /// also delivered into a mock mailbox.
    pub async fn send_plain_to(&self, i: usize, to: &str) -> String {
        self.send_by_hand(to, format!("history {i}"), format!("history-{i}"))
            .await
    }

    /// One send with reqwest + serde: body, key and answer by hand.
    async fn send_by_hand(&self, to: &str, subject: String, key: String) -> String {
        let body = HandSend {
            from: HandAddress { email: SENDER },
            to: HandAddress { email: to },
            subject,
            html_body: "<p>bench</p>",
        };
        let bytes = self
            .http
            .post(&self.url)
            .bearer_auth(&self.key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("sent")
            .bytes()
            .await
            .expect("answered");
        let sent: HandSent = serde_json::from_slice(&bytes).expect("decoded");
        sent.data.message_id
    }

    /// Batch `i`: `messages` messages to `to` in one request, with a fresh
    /// idempotency key. Returns how many were queued.
    pub async fn send_batch_plain_to(&self, i: usize, to: &str, messages: usize) -> usize {
        let body = serde_json::json!({
            "messages": (0..messages)
                .map(|m| HandSend {
                    from: HandAddress { email: SENDER },
                    to: HandAddress { email: to },
                    subject: format!("batch {i} message {m}"),
                    html_body: "<p>bench</p>",
                })
                .collect::<Vec<_>>(),
        });
        let bytes = self
            .http
            .post(format!("{}/batch", self.url))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", format!("history-batch-{i}"))
            .json(&body)
            .send()
            .await
            .expect("sent")
            .bytes()
            .await
            .expect("answered");
        let sent: HandBatch = serde_json::from_slice(&bytes).expect("decoded");
        sent.data.summary.queued
    }

    /// Send `i` through `sendmux-client`.
    pub async fn send_client(&self, i: usize) -> String {
        let sent = self
            .client
            .sending()
            .send(SENDER, "reader@example.com")
            .subject(format!("client {i}"))
            .html("<p>bench</p>")
            .await
            .expect("sent");
        sent.into_inner().message_id
    }

    /// Stops the mock.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
