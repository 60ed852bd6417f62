//! `openapi.yaml` and the served routes must name exactly the same
//! operations.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn openapi_and_routes_are_equal() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml"))
        .unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert((method.to_owned(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = timebank_api::routes::list().into_iter().collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "in openapi.yaml but not served: {missing:?}"
    );
}

#[test]
fn every_operation_documents_its_error_shape() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml"))
        .unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let secured = op.get("security").is_none();
            if secured && path.starts_with("/api/") {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {path} lacks 401"
                );
            }
        }
    }
}

/// The ledger's kinds as the spec lists them: a client validating a posting
/// or filtering by kind must know every value the server writes.
#[test]
fn the_spec_lists_every_ledger_kind() {
    use timebank_ledger::{AccountKind, TxKind};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml"))
        .unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let listed = |v: &serde_norway::Value| -> Vec<String> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let schemas = &doc["components"]["schemas"];
    let tx: Vec<String> = TxKind::ALL.iter().map(|k| k.as_str().to_owned()).collect();
    assert_eq!(listed(&schemas["TxKind"]["enum"]), tx);
    let accounts: Vec<String> = AccountKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(
        listed(&schemas["Posting"]["properties"]["account_kind"]["enum"]),
        accounts
    );
}

/// The spec's `Error.code` enum is the server's table of codes, and where
/// the spec names a code with a status ("409 order_locked"), that is the
/// status the code is always answered with.
#[test]
fn the_spec_lists_every_error_code_with_its_status() {
    use timebank_kernel::Code;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml"))
        .unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let listed: Vec<&str> =
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
    let ours: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, ours);

    let mut named = 0;
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let (Ok(status), Some(code)) = (
            pair[0].parse::<u16>(),
            Code::ALL.iter().find(|c| c.as_str() == pair[1]),
        ) else {
            continue;
        };
        if (400..600).contains(&status) {
            named += 1;
            assert_eq!(
                code.class().http_status(),
                status,
                "the spec answers {code} with {status}"
            );
        }
    }
    assert!(named >= 10, "the spec names codes with their status");
}
