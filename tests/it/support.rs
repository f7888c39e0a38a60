//! Paths and fixtures shared by the topic modules.

use std::path::PathBuf;

/// The workspace root (this package lives in `tests/`).
pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .expect("tests/ has a parent")
}

/// `../shared/reference` beside the checkout, when this checkout has it.
/// A fresh clone does not; callers skip with a message then.
pub(crate) fn reference_dir() -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/reference");
    dir.join("openapi-app.json").is_file().then_some(dir)
}

/// Our `openapi.yaml` as a JSON value.
pub(crate) fn our_spec() -> serde_json::Value {
    let text = std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// A created domain as the API returns it: the shape of the published
/// "Add a mailbox domain" example, with our own values.
pub(crate) fn created_domain_body() -> serde_json::Value {
    serde_json::json!({
        "ok": true,
        "meta": { "request_id": "req_cl0000000000000000000000001" },
        "data": {
            "id": "mdom_cl0000000000000000000000001",
            "domain": "mail.acme.com",
            "mode": "send_receive",
            "verification_status": "pending",
            "ses_identity_verification_status": null,
            "ses_verified_for_sending": null,
            "ses_dkim_status": null,
            "ses_dkim_signing_enabled": null,
            "ses_identity_checked_at": null,
            "ses_mail_from_status": null,
            "verified_at": null,
            "created_at": "2026-11-27T09:00:00Z",
            "mailbox_count": 0,
            "dns_records": {
                "mx": [{ "priority": 10, "target": "mail.sendmux.ai" }],
                "mail_from": {
                    "mx": { "name": "bounce.mail.acme.com", "priority": 10, "target": "feedback-smtp.eu-central-1.amazonses.com" },
                    "spf": { "name": "bounce.mail.acme.com", "value": "v=spf1 include:amazonses.com ~all" }
                },
                "spf": { "name": "mail.acme.com", "value": "v=spf1 include:spf.sendmux.ai ~all" },
                "dmarc": { "name": "_dmarc.mail.acme.com", "value": "v=DMARC1; p=none" },
                "dkim": [
                    { "name": "s1._domainkey.mail.acme.com", "value": "s1.dkim.sendmux.ai" },
                    { "name": "s2._domainkey.mail.acme.com", "value": "s2.dkim.sendmux.ai" },
                    { "name": "s3._domainkey.mail.acme.com", "value": "s3.dkim.sendmux.ai" }
                ],
                "verification": { "name": "_sendmux.mail.acme.com", "value": "sendmux-verify=team_abc123" }
            }
        }
    })
}

/// The mock logged at least one exchange, and every answer it gave passed
/// the spec (its self-check).
pub(crate) fn assert_conformant(server: &sendmux_mock::MockServer) {
    let records = server.requests();
    assert!(!records.is_empty(), "nothing was logged");
    for record in records {
        assert!(
            record.violations.is_empty(),
            "{} {}: {:?}",
            record.method,
            record.path,
            record.violations
        );
    }
}
