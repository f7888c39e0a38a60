//! First guard against drift: every operation of our two documents
//! (`openapi.yaml` for Management and Mailbox, `openapi-sending.yaml` for
//! Sending) agrees with the published description on method, path,
//! operation id, parameters and status codes, and together they cover every
//! published operation. (The deep, schema-level comparison is
//! `sendmux-conformance drift`.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{our_spec, reference_dir, workspace_root};

/// Our documents and the published documents they mirror, one per base URL.
const DOCUMENTS: [(&str, &str); 2] = [
    ("openapi.yaml", "openapi-app.json"),
    ("openapi-sending.yaml", "openapi-sending.json"),
];

/// Published operations: 94 Management and Mailbox, 7 Sending.
const PUBLISHED_OPERATIONS: usize = 101;

/// Status ranges we declare on every operation so any error decodes as
/// `ApiError`; the published document lists only concrete codes.
const OUR_RANGE_RESPONSES: [&str; 2] = ["4XX", "5XX"];

/// Statuses we declare on every operation (key refused, permission missing,
/// rate limited) where the published document may leave them out.
const OUR_ADDED_STATUSES: [&str; 3] = ["401", "403", "429"];

/// The Domains operations, the first ones we described; still a must.
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

#[derive(Debug, PartialEq, Eq)]
struct OperationFacts {
    method: String,
    path: String,
    parameters: BTreeSet<(String, String, bool)>,
    statuses: BTreeSet<String>,
}

fn our_document(name: &str) -> Value {
    if name == "openapi.yaml" {
        return our_spec();
    }
    let text = std::fs::read_to_string(workspace_root().join(name)).unwrap();
    serde_norway::from_str(&text).unwrap()
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

/// Every operation of a document by `operationId`.
fn operations(document: &Value) -> BTreeMap<String, OperationFacts> {
    let mut out = BTreeMap::new();
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(operation_id) = operation.get("operationId").and_then(Value::as_str) else {
                continue; // `parameters`, `summary`, ... beside the methods.
            };
            let mut parameters = BTreeSet::new();
            let shared = item.get("parameters").and_then(Value::as_array);
            let own = operation.get("parameters").and_then(Value::as_array);
            for parameter in shared.into_iter().chain(own).flatten() {
                let parameter = resolve(document, parameter);
                let name = parameter["name"].as_str().expect("name").to_string();
                let location = parameter["in"].as_str().expect("in").to_string();
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
                .as_object()
                .expect("responses")
                .keys()
                .cloned()
                .collect();
            let facts = OperationFacts {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                parameters,
                statuses,
            };
            assert!(
                out.insert(operation_id.to_owned(), facts).is_none(),
                "operationId {operation_id} is used twice"
            );
        }
    }
    out
}

/// Our facts as the published document would state them: without the
/// range responses, and without the added statuses it does not list.
fn comparable(mut ours: OperationFacts, theirs: &OperationFacts) -> OperationFacts {
    ours.statuses.retain(|status| {
        !OUR_RANGE_RESPONSES.contains(&status.as_str())
            && (!OUR_ADDED_STATUSES.contains(&status.as_str()) || theirs.statuses.contains(status))
    });
    ours
}

#[test]
fn our_specs_declare_the_domains_operations_and_every_added_status() {
    let ours = operations(&our_document("openapi.yaml"));
    for operation_id in DOMAINS_OPERATIONS {
        assert!(
            ours.contains_key(operation_id),
            "openapi.yaml lacks {operation_id}"
        );
    }
    for (name, _) in DOCUMENTS {
        for (operation_id, facts) in operations(&our_document(name)) {
            for status in OUR_RANGE_RESPONSES.iter().chain(&OUR_ADDED_STATUSES) {
                assert!(
                    facts.statuses.contains(*status),
                    "{name}: {operation_id} lacks the {status} response"
                );
            }
        }
    }
}

#[test]
fn our_operations_agree_with_the_published_description_and_cover_it() {
    let Some(reference) = reference_dir() else {
        eprintln!(
            "SKIPPED: ../shared/reference/openapi-app.json is absent (a fresh clone has no reference); nothing to compare with"
        );
        return;
    };
    let mut differences = Vec::new();
    let (mut covered, mut total) = (0, 0);
    for (ours_name, published_name) in DOCUMENTS {
        let published: Value =
            serde_json::from_str(&std::fs::read_to_string(reference.join(published_name)).unwrap())
                .unwrap();
        let theirs = operations(&published);
        let mut ours = operations(&our_document(ours_name));
        total += theirs.len();
        for (operation_id, their_facts) in &theirs {
            let Some(mine) = ours.remove(operation_id) else {
                differences.push(format!(
                    "{ours_name} lacks {operation_id} ({published_name})"
                ));
                continue;
            };
            covered += 1;
            let mine = comparable(mine, their_facts);
            if &mine != their_facts {
                differences.push(format!(
                    "{operation_id}:\n  ours:      {mine:?}\n  published: {their_facts:?}"
                ));
            }
        }
        for operation_id in ours.keys() {
            differences.push(format!(
                "{ours_name}: {operation_id} is not in {published_name}"
            ));
        }
    }
    let coverage = format!("covered {covered}/{total}");
    eprintln!("{coverage}");
    assert!(
        differences.is_empty(),
        "our documents drifted from the published description ({coverage}):\n{}",
        differences.join("\n")
    );
    assert_eq!(
        coverage,
        format!("covered {PUBLISHED_OPERATIONS}/{PUBLISHED_OPERATIONS}")
    );
}
