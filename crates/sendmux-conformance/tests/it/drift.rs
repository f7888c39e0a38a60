//! Drift between our two documents (`openapi.yaml`, `openapi-sending.yaml`)
//! and the published ones, and the drift detector's own behaviour on mutated
//! copies of the published documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sendmux_conformance::drift::{self, DriftReport, Published};

/// Every published operation: 94 Management and Mailbox, 7 Sending.
const PUBLISHED_OPERATIONS: usize = 101;

fn reference_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference"
    ));
    if dir.join("openapi-app.json").is_file() && dir.join("openapi-sending.json").is_file() {
        Some(dir)
    } else {
        println!("skipped: ../shared/reference (the published documents) is not present");
        None
    }
}

fn published(dir: &Path) -> Vec<Published> {
    ["openapi-app.json", "openapi-sending.json"]
        .iter()
        .map(|name| Published::from_path(dir.join(name)).unwrap())
        .collect()
}

fn differences(report: &DriftReport) -> BTreeSet<String> {
    report.differences.iter().map(ToString::to_string).collect()
}

#[test]
fn our_documents_have_no_drift_and_cover_every_operation() {
    let Some(dir) = reference_dir() else { return };
    let report = drift::compare(&drift::embedded_documents(), &published(&dir));
    println!("{report}");
    assert_eq!(report.published_total, PUBLISHED_OPERATIONS, "{report}");
    assert_eq!(report.covered, PUBLISHED_OPERATIONS, "{report}");
    assert!(report.uncovered.is_empty(), "{report}");
    assert!(report.is_clean(), "{report}");
}

#[test]
fn mutations_of_the_published_documents_are_found_exactly() {
    let Some(dir) = reference_dir() else { return };
    let ours = drift::embedded_documents();
    let mut documents = published(&dir);
    // Whatever differs already (nothing, when the documents agree) is the
    // baseline; the mutations must add exactly their own differences.
    let baseline = drift::compare(&ours, &documents);

    let app = &mut documents[0].document;
    // One field's type changed.
    app["components"]["schemas"]["MailboxDomainVerifyChecks"]["properties"]["mx"]["type"] =
        "string".into();
    // One enum value added.
    app["paths"]["/domains"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ["properties"]["mode"]["enum"]
        .as_array_mut()
        .unwrap()
        .push("receive_only".into());
    // One parameter made required.
    let limit = app["paths"]["/domains"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["name"] == "limit")
        .unwrap();
    limit["required"] = true.into();
    // One operation removed.
    app["paths"]["/domains/{public_id}/zone-file"]
        .as_object_mut()
        .unwrap()
        .remove("get");
    // In the Sending document, resolved against its own components: one
    // length limit changed.
    let sending = &mut documents[1].document;
    sending["components"]["schemas"]["EmailSendRequest"]["properties"]["subject"]["maxLength"] =
        500.into();
    // The published document stops being open without a key.
    sending["paths"]["/openapi.json"]["get"]
        .as_object_mut()
        .unwrap()
        .remove("security");

    let report = drift::compare(&ours, &documents);
    let (before, after) = (differences(&baseline), differences(&report));
    assert!(before.is_subset(&after), "{report}");
    let added: Vec<&String> = after.difference(&before).collect();
    assert_eq!(
        added,
        vec![
            "GET /domains (managementListDomains): parameter query limit: required: ours false, published true",
            "GET /domains/{public_id}/zone-file (managementGetDomainZoneFile): operation: not in any published document",
            "GET /openapi.json (sendingGetOpenApiSpec): security: API key required: ours false, published true",
            "POST /domains (managementCreateDomain): request body application/json /mode: \
             enum: ours [\"send_only\", \"send_receive\"], published [\"receive_only\", \"send_only\", \"send_receive\"]",
            "POST /domains/{public_id}/verify (managementVerifyDomain): response 200 application/json /data/checks/mx: \
             type: ours boolean, published string",
            "POST /emails/send (sendingSendEmail): request body application/json /subject: \
             maxLength: ours 998, published 500",
            // The batch request reuses the single one's schema.
            "POST /emails/send/batch (sendingSendEmailBatch): request body application/json \
             /messages/items/subject: maxLength: ours 998, published 500",
        ],
        "{report}"
    );
    assert_eq!(
        (report.covered, report.published_total),
        (PUBLISHED_OPERATIONS - 1, PUBLISHED_OPERATIONS - 1)
    );
    assert!(!report.is_clean());
}

#[cfg(feature = "cli")]
mod cli {
    use super::*;

    /// Runs `sendmux-conformance drift` with these arguments.
    fn run(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sendmux-conformance"))
            .arg("drift")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    fn our_file(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
    }

    #[test]
    fn drift_command_compares_both_documents_by_default() {
        let Some(dir) = reference_dir() else { return };
        let (app, sending) = (
            dir.join("openapi-app.json"),
            dir.join("openapi-sending.json"),
        );
        let (code, stdout) = run(&["--published".as_ref(), app.as_ref(), sending.as_ref()]);
        assert!(
            stdout.starts_with("no differences in covered operations\n"),
            "{stdout}"
        );
        assert!(!stdout.contains("not covered yet"), "{stdout}");
        assert!(stdout.trim_end().ends_with("covered 101/101"), "{stdout}");
        assert_eq!(code, Some(0), "{stdout}");
    }

    #[test]
    fn drift_command_reports_a_changed_published_fact_with_exit_code_1() {
        let Some(dir) = reference_dir() else { return };
        let (app, sending) = (
            dir.join("openapi-app.json"),
            dir.join("openapi-sending.json"),
        );
        // A published document whose domain `mode` enum gained a value.
        let mut document: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&app).unwrap()).unwrap();
        document["components"]["schemas"]["MailboxDomain"]["properties"]["mode"]["enum"]
            .as_array_mut()
            .unwrap()
            .push("receive_only".into());
        let scratch = std::env::temp_dir().join(format!("sendmux-drift-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        let mutated = scratch.join("openapi-app.json");
        std::fs::write(&mutated, document.to_string()).unwrap();
        let (code, stdout) = run(&["--published".as_ref(), mutated.as_ref(), sending.as_ref()]);
        std::fs::remove_dir_all(&scratch).ok();
        assert_eq!(code, Some(1), "{stdout}");
        // Every operation returning a domain sees it.
        assert!(
            stdout.contains(
                "GET /domains/{public_id} (managementGetDomain): response 200 application/json /data/mode: enum"
            ),
            "{stdout}"
        );
        assert!(
            stdout.contains(
                "POST /domains (managementCreateDomain): response 201 application/json /data/mode: enum"
            ),
            "{stdout}"
        );
        assert!(stdout.trim_end().ends_with("covered 101/101"), "{stdout}");
    }

    #[test]
    fn drift_command_takes_our_documents_from_ours() {
        let Some(dir) = reference_dir() else { return };
        let (app, sending) = (
            dir.join("openapi-app.json"),
            dir.join("openapi-sending.json"),
        );
        let our_sending = our_file("openapi-sending.json");

        // Only the Sending documents on both sides.
        let (code, stdout) = run(&[
            "--ours".as_ref(),
            our_sending.as_ref(),
            "--published".as_ref(),
            sending.as_ref(),
        ]);
        assert_eq!(code, Some(0), "{stdout}");
        assert_eq!(
            stdout, "no differences in covered operations\ncovered 7/7\n",
            "{stdout}"
        );

        // Only our Sending document against both published ones: the
        // Management and Mailbox operations are not covered.
        let (code, stdout) = run(&[
            "--ours".as_ref(),
            our_sending.as_ref(),
            "--published".as_ref(),
            app.as_ref(),
            sending.as_ref(),
        ]);
        assert_eq!(code, Some(0), "{stdout}");
        assert!(
            stdout.contains("published operations not covered yet (94):"),
            "{stdout}"
        );
        assert!(
            stdout.contains("[openapi-app.json] GET /domains (managementListDomains)"),
            "{stdout}"
        );
        assert!(stdout.trim_end().ends_with("covered 7/101"), "{stdout}");

        // An unreadable document of ours cannot run.
        let missing = dir.join("no-such-openapi.yaml");
        let (code, _) = run(&[
            "--ours".as_ref(),
            missing.as_ref(),
            "--published".as_ref(),
            sending.as_ref(),
        ]);
        assert_eq!(code, Some(2));
    }

    /// Serves `body` at `/api/v1/openapi.json` on a free loopback port
    /// (answering `status`) until the process ends; returns that URL.
    fn serve_document(body: String, status: u16) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/api/v1/openapi.json",
            listener.local_addr().unwrap()
        );
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let status = http::StatusCode::from_u16(status).unwrap();
                let app = axum::Router::new().route(
                    "/api/v1/openapi.json",
                    axum::routing::get(move || {
                        let body = body.clone();
                        async move { (status, body) }
                    }),
                );
                axum::serve(listener, app).await.unwrap();
            });
        });
        url
    }

    #[test]
    fn drift_command_fetches_a_published_document_from_a_url() {
        let Some(dir) = reference_dir() else { return };
        let app = dir.join("openapi-app.json");
        let sending = std::fs::read_to_string(dir.join("openapi-sending.json")).unwrap();
        let url = serve_document(sending, 200);
        let (code, stdout) = run(&["--published".as_ref(), app.as_ref(), url.as_ref()]);
        assert!(stdout.trim_end().ends_with("covered 101/101"), "{stdout}");
        assert_eq!(code, Some(0), "{stdout}");

        // A live document that moved is reported like a file that did.
        let mut moved: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("openapi-sending.json")).unwrap(),
        )
        .unwrap();
        moved["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/emails/send/batch");
        let url = serve_document(moved.to_string(), 200);
        let (code, stdout) = run(&["--published".as_ref(), app.as_ref(), url.as_ref()]);
        assert_eq!(code, Some(1), "{stdout}");
    }

    #[test]
    fn drift_command_says_when_a_url_cannot_be_fetched() {
        let url = serve_document("gone".to_owned(), 404);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sendmux-conformance"))
            .args(["drift", "--published", &url])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("cannot fetch") && stderr.contains("404"),
            "{stderr}"
        );
    }
}
