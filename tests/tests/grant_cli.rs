//! `hearth grant` through the real binary: issue → explain → list → revoke, the audit trail of
//! each, and the usage errors.

use hearth_e2e::{TestVault, contains, describe};
use serde_json::Value;

fn issue(vault: &TestVault) -> (String, String) {
    let out = vault.json(&[
        "grant",
        "issue",
        "--app",
        "notes",
        "--allow",
        "memories.search",
        "--allow",
        "model.chat",
        "--source",
        "whatsapp",
        "--source",
        "telegram",
        "--since",
        "2024-01-01",
        "--until",
        "2025-01-01T00:00:00Z",
        "--exclude-participant",
        "Bob",
        "--redact",
        "author",
        "--expires",
        "7d",
        "--per-day",
        "100",
    ]);
    let id = out["id"].as_str().expect("id").to_owned();
    let token = out["token"].as_str().expect("token").to_owned();
    assert_eq!(id.len(), 32, "{out}");
    assert!(token.len() > 100, "{out}");
    (id, token)
}

fn explain(vault: &TestVault, token: &str) -> Value {
    let out = vault.run_with_input(&["--json", "grant", "explain"], token);
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

#[test]
fn issue_explain_list_revoke_with_an_audit_trail() {
    let vault = TestVault::init();
    let (id, token) = issue(&vault);

    let explained = explain(&vault, &token);
    assert_eq!(explained["id"], id.as_str());
    assert_eq!(explained["app"], "notes");
    assert_eq!(explained["status"], "active");
    let text = explained["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "search and read the matching memories",
        "Only data from the sources \"telegram\" and \"whatsapp\".",
        "Only data from 2024-01-01 (inclusive) until 2025-01-01 (exclusive).",
        "Never data involving \"Bob\".",
        "Results never show the fields author.",
        "At most 100 requests a day.",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // The token as an argument works too, and plain output is words.
    let plain = vault.ok(&["grant", "explain", &token]);
    assert!(plain.contains("Status: active."), "{plain}");

    let list = vault.json(&["grant", "list"]);
    let grants = list.as_array().unwrap();
    assert_eq!(grants.len(), 1, "{list}");
    assert_eq!(grants[0]["id"], id.as_str());
    assert_eq!(grants[0]["status"], "active");
    assert_eq!(
        grants[0]["rights"],
        serde_json::json!(["memories.search", "model.chat"])
    );

    let revoked = vault.json(&["grant", "revoke", &id]);
    assert_eq!(revoked["revoked"], true);
    assert_eq!(revoked["already"], false);
    let again = vault.json(&["grant", "revoke", &id]);
    assert_eq!(again["already"], true);
    assert_eq!(vault.json(&["grant", "list"])[0]["status"], "revoked");
    assert_eq!(explain(&vault, &token)["status"], "revoked");

    let audit = vault.json(&["audit", "list"]);
    let entries = audit.as_array().unwrap();
    let of = |action: &str| -> Vec<&Value> {
        entries.iter().filter(|e| e["action"] == action).collect()
    };
    let issued = of("grant.issue");
    let revokes = of("grant.revoke");
    assert_eq!((issued.len(), revokes.len()), (1, 1), "{audit}");
    assert_eq!(issued[0]["subjects"], serde_json::json!([id]));
    assert_eq!(issued[0]["details"]["app"], "notes");
    assert_eq!(revokes[0]["subjects"], serde_json::json!([id]));
    assert!(
        !audit.to_string().contains(&token),
        "the audit log holds the token"
    );
    assert_eq!(vault.json(&["audit", "verify"])["ok"], true);

    // The token is stored nowhere in the vault, not even sealed.
    assert!(!contains(&vault.all_bytes(), token.as_bytes()));
}

#[test]
fn the_root_key_is_made_once_and_published() {
    let vault = TestVault::init();
    let first = vault.json(&["grant", "key"]);
    let key = first["public_key"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with("ed25519/") && key.len() == 8 + 64,
        "{first}"
    );
    assert!(first["pem"].as_str().unwrap().contains("BEGIN PUBLIC KEY"));
    issue(&vault);
    assert_eq!(vault.json(&["grant", "key"])["public_key"], key.as_str());
    assert_eq!(vault.ok(&["grant", "key"]).trim(), key);
    let creations = vault
        .json(&["audit", "list"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "grant.key.create")
        .count();
    assert_eq!(creations, 1);
}

#[test]
fn a_token_of_another_vault_is_not_explained() {
    let vault = TestVault::init();
    let other = TestVault::init();
    issue(&vault);
    let (_, foreign) = issue(&other);
    let out = vault.run_with_input(&["grant", "explain"], &foreign);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid grant"));
}

#[test]
fn usage_errors_exit_2_and_issue_nothing() {
    let vault = TestVault::init();
    for args in [
        &[
            "grant",
            "issue",
            "--app",
            "notes",
            "--allow",
            "records.delete",
        ][..],
        &[
            "grant",
            "issue",
            "--app",
            "notes",
            "--allow",
            "model.chat",
            "--redact",
            "name",
        ],
        &[
            "grant",
            "issue",
            "--app",
            "notes",
            "--allow",
            "model.chat",
            "--expires",
            "1y",
        ],
        &["grant", "issue", "--app", "notes"],
        &[
            "grant",
            "issue",
            "--app",
            "notes",
            "--allow",
            "memories.search",
            "--since",
            "2025-01-01",
            "--until",
            "2024-01-01",
        ],
        &[
            "grant",
            "issue",
            "--app",
            "notes",
            "--allow",
            "model.chat",
            "--app-key",
            "zz",
        ],
        &["grant", "revoke", "00112233445566778899aabbccddeeff"],
        &["grant", "revoke", "not-an-id"],
    ] {
        let out = vault.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
    }
    assert_eq!(vault.json(&["grant", "list"]), serde_json::json!([]));
}
