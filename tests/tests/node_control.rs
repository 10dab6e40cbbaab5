//! The owner's writes while the node runs: `hearth grant revoke` goes through the node's control
//! socket (`node.sock` in the vault directory), and the node applies it at once: the next
//! request with the revoked grant gets 401, on the HTTP API and on `/mcp`.

use std::os::unix::fs::PermissionsExt;

use hearth_e2e::{Node, TestVault, describe};
use serde_json::{Value, json};

/// POSTs JSON with a grant; returns the status and the body.
fn post(node: &Node, path: &str, token: &str, body: &Value) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{}{path}", node.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json, text/event-stream")
        .send_json(body)
        .expect("request");
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), text)
}

fn embed(node: &Node, token: &str) -> (u16, String) {
    post(
        node,
        "/v1/embeddings",
        token,
        &json!({"model": "all-minilm-l6-v2", "input": "x"}),
    )
}

fn mcp_initialize(node: &Node, token: &str) -> (u16, String) {
    post(
        node,
        "/mcp",
        token,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"}}}),
    )
}

#[test]
fn a_grant_revoked_while_the_node_runs_is_refused_at_once() {
    let vault = TestVault::init();
    let (id, token) = vault.issue_grant(&["--app", "notes", "--allow", "model.embed"]);
    let (_, other) = vault.issue_grant(&["--app", "other", "--allow", "model.embed"]);
    let mut node = Node::start(&vault, &[]);

    // The control socket: owner-only.
    let socket = vault.dir.join("node.sock");
    let mode = std::fs::metadata(&socket)
        .expect("the node's control socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    assert_eq!(embed(&node, &token).0, 200);
    assert_eq!(mcp_initialize(&node, &token).0, 200);

    // Revoking while the node holds the vault: through the socket, no passphrase needed.
    let out = vault
        .command(&["--json", "grant", "revoke", &id])
        .env_remove("HEARTH_PASSPHRASE")
        .output()
        .expect("run hearth");
    assert!(out.status.success(), "{}", describe(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        answer,
        json!({"id": id, "revoked": true, "already": false, "by_node": true})
    );

    // At once: 401 on the HTTP API and on /mcp; the other grant still works.
    let (status, body) = embed(&node, &token);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("revoked"), "{body}");
    assert_eq!(mcp_initialize(&node, &token).0, 401);
    assert_eq!(embed(&node, &other).0, 200);

    // Again: already revoked. An unknown grant is the owner's mistake (usage error).
    let again = vault.json(&["grant", "revoke", &id]);
    assert_eq!(again["already"], true, "{again}");
    let unknown = vault.run(&["grant", "revoke", "00000000000000000000000000000000"]);
    assert!(!unknown.status.success(), "{}", describe(&unknown));

    assert!(node.stop(), "the node stops cleanly: {}", node.log());
    assert!(!socket.exists(), "the socket goes with the node");

    // Stored and audited: listed as revoked after the node stopped, and in the audit log.
    let list = vault.json(&["grant", "list"]);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id.as_str())
        .expect("the grant");
    assert_eq!(listed["status"], "revoked", "{listed}");
    let audit = vault.json(&["audit", "list"]);
    let revokes: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "grant.revoke")
        .collect();
    assert_eq!(revokes.len(), 1, "{revokes:?}");
    assert_eq!(revokes[0]["subjects"], json!([id]));
    assert_eq!(revokes[0]["details"]["via"], "node");
    let refusal = audit.as_array().unwrap().iter().any(|e| {
        e["action"] == "grant.use"
            && e["details"]["outcome"] == "refused"
            && e["details"]["code"] == "revoked"
    });
    assert!(refusal, "the refused use is audited");
}
