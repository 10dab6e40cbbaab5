//! The node's MCP server (`/mcp`) end to end: a real node on a free loopback port with the
//! real models and the sample persona's chats, driven by the official `mcp` Python client over
//! streamable HTTP; grants authorize each tool as they do the HTTP API, and the audit log
//! records each use and refusal.

use std::process::Command;

use hearth_e2e::{Node, TestVault, describe, py_script, python};
use serde_json::Value;

/// The sources of a `search_memories` result, asserting it succeeded.
fn sources(result: &Value) -> Vec<String> {
    assert_eq!(result["is_error"], false, "{result}");
    result["value"]["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["source"].as_str().expect("source").to_owned())
        .collect()
}

/// Asserts a tool result is the refusal `status`/`code`.
fn refused(result: &Value, status: u64, code: &str) {
    assert_eq!(result["is_error"], true, "{result}");
    assert_eq!(result["value"]["error"]["status"], status, "{result}");
    assert_eq!(result["value"]["error"]["code"], code, "{result}");
}

#[test]
fn the_mcp_python_client_lists_and_calls_the_tools_under_grants() {
    let vault = TestVault::with_sample_chats();
    let (full_id, full) =
        vault.issue_grant(&["--app", "agent", "--allow", "memories.search,persona.chat"]);
    let (_, whatsapp) = vault.issue_grant(&[
        "--app",
        "wa-agent",
        "--allow",
        "memories.search",
        "--source",
        "whatsapp",
    ]);
    let (_, embed_only) = vault.issue_grant(&["--app", "embedder", "--allow", "model.embed"]);
    let mut node = Node::start(&vault, &["--build-memories"]);

    let out = Command::new(python())
        .arg(py_script("node_mcp.py"))
        .env("HEARTH_URL", &node.url)
        .env("HEARTH_GRANT", &full)
        .env("HEARTH_WA_GRANT", &whatsapp)
        .env("HEARTH_EMBED_GRANT", &embed_only)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}\nnode log:\n{}",
        describe(&out),
        node.log()
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    assert_eq!(r["mcp_version"], "2.3.0");

    // The tools and their arguments.
    let tools = &r["tools"];
    assert_eq!(tools["search_memories"]["required"][0], "query", "{tools}");
    let props = tools["search_memories"]["properties"].to_string();
    for p in [
        "query",
        "k",
        "sources",
        "since",
        "until",
        "exclude_participants",
    ] {
        assert!(props.contains(&format!("\"{p}\"")), "{p} in {props}");
    }
    assert_eq!(tools["ask_persona"]["required"][0], "question", "{tools}");

    // The full grant sees both sources; a filter narrows to one.
    let all = sources(&r["search"]);
    assert!(
        all.iter().any(|s| s == "whatsapp") && all.iter().any(|s| s == "telegram"),
        "{all:?}"
    );
    let telegram = sources(&r["search_telegram"]);
    assert!(
        !telegram.is_empty() && telegram.iter().all(|s| s == "telegram"),
        "{telegram:?}"
    );

    // The persona answers, grounded in memories it names.
    let persona = &r["persona"];
    assert_eq!(persona["is_error"], false, "{persona}");
    assert!(
        !persona["value"]["answer"]
            .as_str()
            .unwrap()
            .trim()
            .is_empty(),
        "{persona}"
    );
    let memory_ids = persona["value"]["memory_ids"].as_array().expect("ids");
    assert!(!memory_ids.is_empty(), "{persona}");
    refused(&r["bad_arguments"], 400, "invalid_arguments");

    // The WhatsApp-only grant: only WhatsApp; widening it or another right is refused.
    let wa = sources(&r["wa_search"]);
    assert!(
        !wa.is_empty() && wa.iter().all(|s| s == "whatsapp"),
        "{wa:?}"
    );
    refused(&r["wa_widen"], 403, "check_failed");
    refused(&r["wa_persona"], 403, "check_failed");
    refused(&r["outside_grant"], 403, "check_failed");

    // Without a grant the client cannot connect: 401 with a Bearer challenge.
    assert_eq!(r["no_grant"]["connected"], false, "{r}");
    assert_eq!(r["no_grant"]["status"], 401, "{r}");
    assert!(
        r["no_grant"]["www_authenticate"]
            .as_str()
            .is_some_and(|h| h.starts_with("Bearer")),
        "{r}"
    );
    assert_eq!(r["bad_grant"]["status"], 401, "{r}");

    assert!(node.stop(), "the node stops cleanly: {}", node.log());

    // The audit log names each tool use with the ids returned, and each refusal.
    let entries = vault.json(&["audit", "list"]);
    let uses: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "grant.use")
        .collect();
    let search_use = uses
        .iter()
        .find(|e| {
            e["details"]["endpoint"] == "MCP search_memories"
                && e["details"]["grant"] == full_id.as_str()
                && e["details"]["outcome"] == "ok"
        })
        .unwrap_or_else(|| panic!("no audited MCP search: {uses:#?}"));
    assert!(
        search_use["subjects"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{search_use}"
    );
    assert!(
        uses.iter()
            .any(|e| e["details"]["endpoint"] == "MCP ask_persona"
                && e["details"]["right"] == "persona.chat"
                && e["details"]["outcome"] == "ok"),
        "{uses:#?}"
    );
    assert!(
        uses.iter().any(|e| e["actor"] == "embedder"
            && e["details"]["endpoint"] == "MCP search_memories"
            && e["details"]["outcome"] == "refused"
            && e["details"]["status"] == "403"),
        "{uses:#?}"
    );
    assert!(
        uses.iter().any(|e| e["details"]["endpoint"] == "POST /mcp"
            && e["details"]["outcome"] == "refused"
            && e["details"]["status"] == "401"),
        "{uses:#?}"
    );
    // Never a token.
    let log = entries.to_string();
    for token in [&full, &whatsapp, &embed_only] {
        assert!(!log.contains(token.as_str()), "a token in the audit log");
    }
}
