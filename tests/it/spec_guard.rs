//! First guard against drift: the Domains operations of our `openapi.yaml`
//! agree with the published description on method, path, operation id,
//! parameters and status codes. (The deep, schema-level comparison is
//! `sendmux-conformance drift`.)

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{our_spec, reference_dir};

const DOMAINS_OPERATIONS: [&str; 9] = [
    "managementListDomains",
    "managementCreateDomain",
    "managementGetDomain",
    "managementUpdateDomain",
    "managementDeleteDomain",
    "managementVerifyDomain",
    "managementGetDomainZoneFile",
    "managementGetDomainFilters",
    "managementSetDomainFilters",
];

/// Status ranges we declare on every operation so any error decodes as
/// `ApiError`; the published document lists only concrete codes.
const OUR_RANGE_RESPONSES: [&str; 2] = ["4XX", "5XX"];

#[derive(Debug, PartialEq, Eq)]
struct OperationFacts {
    method: String,
    path: String,
    parameters: BTreeSet<(String, String, bool)>,
    statuses: BTreeSet<String>,
}

fn resolve<'a>(document: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => node,
    }
}

fn operation_facts(document: &Value, operation_id: &str) -> Option<OperationFacts> {
    let paths = document.get("paths")?.as_object()?;
    for (path, item) in paths {
        for (method, operation) in item.as_object()? {
            if operation.get("operationId").and_then(Value::as_str) != Some(operation_id) {
                continue;
            }
            let mut parameters = BTreeSet::new();
            let shared = item.get("parameters").and_then(Value::as_array);
            let own = operation.get("parameters").and_then(Value::as_array);
            for parameter in shared.into_iter().chain(own).flatten() {
                let parameter = resolve(document, parameter);
                let name = parameter["name"].as_str()?.to_string();
                let location = parameter["in"].as_str()?.to_string();
                let required = parameter
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                // Header names are case-insensitive on the wire.
                let name = if location == "header" {
                    name.to_ascii_lowercase()
                } else {
                    name
                };
                parameters.insert((name, location, required));
            }
            let statuses = operation["responses"]
                .as_object()?
                .keys()
                .filter(|status| !OUR_RANGE_RESPONSES.contains(&status.as_str()))
                .cloned()
                .collect();
            return Some(OperationFacts {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                parameters,
                statuses,
            });
        }
    }
    None
}

#[test]
fn our_spec_declares_every_domains_operation() {
    let ours = our_spec();
    for operation_id in DOMAINS_OPERATIONS {
        assert!(
            operation_facts(&ours, operation_id).is_some(),
            "openapi.yaml lacks {operation_id}"
        );
    }
}

#[test]
fn domains_operations_agree_with_the_published_description() {
    let Some(reference) = reference_dir() else {
        eprintln!(
            "SKIPPED: ../shared/reference/openapi-app.json is absent (a fresh clone has no reference); nothing to compare with"
        );
        return;
    };
    let published: Value =
        serde_json::from_str(&std::fs::read_to_string(reference.join("openapi-app.json")).unwrap())
            .unwrap();
    let ours = our_spec();
    let mut differences = Vec::new();
    for operation_id in DOMAINS_OPERATIONS {
        let theirs = operation_facts(&published, operation_id)
            .unwrap_or_else(|| panic!("the published document lacks {operation_id}"));
        let mine = operation_facts(&ours, operation_id)
            .unwrap_or_else(|| panic!("openapi.yaml lacks {operation_id}"));
        if mine != theirs {
            differences.push(format!(
                "{operation_id}:\n  ours:      {mine:?}\n  published: {theirs:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "openapi.yaml drifted from the published description:\n{}",
        differences.join("\n")
    );
}
