//! Drift between `openapi.yaml` and the published documents, and the drift
//! detector's own behaviour on mutated copies of a published document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;

use sendmux_conformance::Spec;
use sendmux_conformance::drift::{self, Published};

fn reference_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference"
    ));
    if dir.join("openapi-app.json").is_file() {
        Some(dir)
    } else {
        println!("skipped: ../shared/reference (the published documents) is not present");
        None
    }
}

fn published(dir: &std::path::Path) -> Vec<Published> {
    ["openapi-app.json", "openapi-sending.json"]
        .iter()
        .map(|name| Published::from_path(dir.join(name)).unwrap())
        .collect()
}

#[test]
fn our_spec_has_no_drift_in_covered_operations() {
    let Some(dir) = reference_dir() else { return };
    let report = drift::compare(Spec::embedded().document(), &published(&dir));
    println!("{report}");
    assert_eq!(report.covered, 9, "{report}");
    assert_eq!(report.published_total, 101, "{report}");
    assert!(report.is_clean(), "{report}");
}

#[test]
fn mutations_of_the_published_document_are_found_exactly() {
    let Some(dir) = reference_dir() else { return };
    let mut documents = published(&dir);
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

    let report = drift::compare(Spec::embedded().document(), &documents);
    let found: Vec<String> = report.differences.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        vec![
            "GET /domains (managementListDomains): parameter query limit: required: ours false, published true",
            "POST /domains (managementCreateDomain): request body application/json /mode: \
             enum: ours [\"send_only\", \"send_receive\"], published [\"receive_only\", \"send_only\", \"send_receive\"]",
            "POST /domains/{public_id}/verify (managementVerifyDomain): response 200 application/json /data/checks/mx: \
             type: ours boolean, published string",
            "GET /domains/{public_id}/zone-file (managementGetDomainZoneFile): operation: not in any published document",
        ],
        "{report}"
    );
    assert_eq!((report.covered, report.published_total), (8, 100));
    assert!(!report.is_clean());
}

#[cfg(feature = "cli")]
#[test]
fn drift_command_prints_coverage_and_sets_the_exit_code() {
    let Some(dir) = reference_dir() else { return };
    let run = |published: &[PathBuf]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sendmux-conformance"));
        command.arg("drift");
        for path in published {
            command.arg("--published").arg(path);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let app = dir.join("openapi-app.json");
    let sending = dir.join("openapi-sending.json");
    let (code, stdout) = run(&[app.clone(), sending.clone()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.starts_with("no differences in covered operations\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[openapi-sending.json] POST /emails/send (sendingSendEmail)"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("covered 9/101"), "{stdout}");

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
    let (code, stdout) = run(&[mutated, sending]);
    std::fs::remove_dir_all(&scratch).ok();
    assert_eq!(code, Some(1), "{stdout}");
    // Every operation returning a domain sees it.
    assert!(
        stdout.starts_with("4 difference(s) in covered operations:"),
        "{stdout}"
    );
    assert!(stdout.contains("GET /domains/{public_id} (managementGetDomain): response 200 application/json /data/mode: enum"), "{stdout}");
}
