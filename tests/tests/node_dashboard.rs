//! The owner's dashboard end to end: a real node on loopback with the real models.
//!
//! - Plain HTTP (ureq): without a session nothing is shown, a POST without its CSRF token is
//!   refused, a wrong passphrase is refused, and a peer that is not loopback gets 403 even
//!   with a valid session.
//! - Headless Chromium (playwright-core, `tests/browser/dashboard.mjs`): log in, upload the
//!   sample WhatsApp export, find a memory from it, issue a grant, revoke it (the token is
//!   then refused), a screenshot of each page under `target/test-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hearth_e2e::{Node, PASSPHRASE, TestVault, describe};
use serde_json::Value;

const WHATSAPP: &str = "../examples/whatsapp/WhatsApp Chat with Inês.txt";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Status, `Location`, every `Set-Cookie` and the body.
struct Answer {
    status: u16,
    location: String,
    cookies: Vec<String>,
    body: String,
}

fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let header = |name: &str| -> Vec<String> {
        r.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    };
    let location = header("location").pop().unwrap_or_default();
    let cookies = header("set-cookie");
    Answer {
        status: r.status().as_u16(),
        location,
        cookies,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn get(url: &str, cookie: Option<&str>, host: Option<&str>) -> Answer {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    if let Some(h) = host {
        req = req.header("Host", h);
    }
    answer(req.call().expect("HTTP request"))
}

fn post_form(url: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
    let mut req = agent().post(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    answer(req.send_form(form.iter().copied()).expect("HTTP request"))
}

/// `name=value` of the Set-Cookie for `name`.
fn cookie_of(a: &Answer, name: &str) -> String {
    a.cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", a.cookies))
        .to_owned()
}

/// The value of the first hidden `csrf` field.
fn csrf_of(body: &str) -> String {
    let at = body.find("name=csrf value=\"").expect("a csrf field") + 17;
    body[at..].split('"').next().unwrap_or_default().to_owned()
}

/// Logs in; returns the session cookie (`name=value`).
fn log_in(base: &str, passphrase: &str) -> Answer {
    let page = get(&format!("{base}/dashboard/login"), None, None);
    assert_eq!(page.status, 200, "{}", page.body);
    let login_cookie = cookie_of(&page, "hearth_dashboard_login");
    let csrf = csrf_of(&page.body);
    post_form(
        &format!("{base}/dashboard/login"),
        Some(&login_cookie),
        &[("csrf", &csrf), ("passphrase", passphrase)],
    )
}

/// An address of this machine that is not loopback, if it has one.
fn non_loopback_ip() -> Option<String> {
    let out = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .map(str::to_owned)
}

#[test]
fn without_a_session_from_loopback_with_its_csrf_token_nothing_is_shown_or_done() {
    let vault = TestVault::init();
    let app = "canary-grant-app";
    vault.ok(&["grant", "issue", "--app", app, "--allow", "memories.search"]);
    let node = Node::start_at(&vault, "0.0.0.0:0", &[]);
    let port = node.url.rsplit(':').next().expect("port").to_owned();
    let base = format!("http://127.0.0.1:{port}");

    // No session: pages redirect to the login page and show nothing; other calls get 401.
    for path in ["/dashboard", "/dashboard/grants", "/dashboard/memories?q=x"] {
        let a = get(&format!("{base}{path}"), None, None);
        assert_eq!(
            (a.status, a.location.as_str()),
            (303, "/dashboard/login"),
            "{path}"
        );
        assert!(!a.body.contains(app), "{path}: {}", a.body);
    }
    let a = get(&format!("{base}/dashboard/import/jobs/abc"), None, None);
    assert_eq!(a.status, 401);
    let a = post_form(
        &format!("{base}/dashboard/grants/issue"),
        None,
        &[("app", "sneaky"), ("rights", "memories.search")],
    );
    assert_eq!(a.status, 401, "{}", a.body);

    // The login's own CSRF token, and the passphrase.
    let a = post_form(
        &format!("{base}/dashboard/login"),
        None,
        &[("passphrase", PASSPHRASE)],
    );
    assert_eq!(a.status, 403, "login without its CSRF token: {}", a.body);
    let a = log_in(&base, "wrong passphrase");
    assert_eq!(a.status, 401, "{}", a.body);
    assert!(
        a.cookies
            .iter()
            .all(|c| !c.starts_with("hearth_dashboard="))
    );
    let a = log_in(&base, PASSPHRASE);
    assert_eq!(
        (a.status, a.location.as_str()),
        (303, "/dashboard"),
        "{}",
        a.body
    );
    let session = cookie_of(&a, "hearth_dashboard");
    let set = a
        .cookies
        .iter()
        .find(|c| c.starts_with("hearth_dashboard="))
        .expect("session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert_eq!(
        session.len(),
        "hearth_dashboard=".len() + 64,
        "256-bit session id"
    );

    // With the session the data is there (so its absence above meant something).
    let page = get(&format!("{base}/dashboard/grants"), Some(&session), None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(app));
    assert_eq!(page.body.matches("data-grant=").count(), 1);
    let csrf = csrf_of(&page.body);

    // A POST without (or with a wrong) CSRF token does nothing.
    let form = [
        ("app", "sneaky"),
        ("rights", "memories.search"),
        ("expires", "3600"),
    ];
    let a = post_form(
        &format!("{base}/dashboard/grants/issue"),
        Some(&session),
        &form,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let mut wrong = form.to_vec();
    wrong.push(("csrf", "0000"));
    let a = post_form(
        &format!("{base}/dashboard/grants/issue"),
        Some(&session),
        &wrong,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let page = get(&format!("{base}/dashboard/grants"), Some(&session), None);
    assert_eq!(
        page.body.matches("data-grant=").count(),
        1,
        "no grant was issued"
    );
    assert!(!page.body.contains("sneaky"));
    let mut right = form.to_vec();
    right.push(("csrf", &csrf));
    let a = post_form(
        &format!("{base}/dashboard/grants/issue"),
        Some(&session),
        &right,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("id=token"));

    // Another Host (DNS rebinding) and a peer that is not loopback: 403, no data, even with
    // the session.
    let a = get(
        &format!("{base}/dashboard/grants"),
        Some(&session),
        Some("evil.example"),
    );
    assert_eq!(a.status, 403);
    assert!(!a.body.contains(app));
    match non_loopback_ip() {
        Some(ip) => {
            let a = get(
                &format!("http://{ip}:{port}/dashboard/grants"),
                Some(&session),
                Some(&format!("127.0.0.1:{port}")),
            );
            assert_eq!(a.status, 403, "from {ip}: {}", a.body);
            assert!(!a.body.contains(app));
        }
        None => eprintln!("no non-loopback address on this machine: that check was skipped"),
    }

    // Logging out ends the session.
    let a = post_form(
        &format!("{base}/dashboard/logout"),
        Some(&session),
        &[("csrf", &csrf)],
    );
    assert_eq!(a.status, 303);
    let a = get(&format!("{base}/dashboard/grants"), Some(&session), None);
    assert_eq!(a.status, 303);
}

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts")
}

#[test]
fn chromium_logs_in_imports_finds_a_memory_and_issues_and_revokes_a_grant() {
    let vault = TestVault::init();
    let mut node = Node::start(&vault, &[]);
    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join(WHATSAPP);
    let out = Command::new("node")
        .arg(browser.join("dashboard.mjs"))
        .current_dir(&browser)
        .env("HEARTH_URL", &node.url)
        .env("HEARTH_PASSPHRASE", PASSPHRASE)
        .env("HEARTH_EXPORT", &export)
        .env("HEARTH_QUERY", "Pimenta vet appointment")
        .env("HEARTH_ARTIFACTS", artifacts())
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{}\nnode log:\n{}",
        describe(&out),
        node.log()
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();

    assert_eq!(r["redirected_to_login"], true, "{r}");
    assert!(text("wrong_passphrase").contains("not the vault"), "{r}");
    let status = text("import_status");
    assert!(
        status.contains("done") && status.contains("whatsapp"),
        "{status}"
    );
    let imported: u64 = status
        .split("imported ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(imported > 50, "{status}");
    assert!(status.contains("memories added"), "{status}");
    assert!(text("overview_after").contains("whatsapp"), "{r}");
    assert!(r["timeline_bars"].as_u64().unwrap_or(0) >= 2, "{r}");
    let hits: Vec<String> = r["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter_map(|h| h.as_str().map(str::to_lowercase))
        .collect();
    assert!(!hits.is_empty(), "{r}");
    assert!(
        hits.iter()
            .any(|h| h.contains("pimenta") || h.contains("vet")),
        "{hits:?}"
    );

    assert_eq!(r["status_before_revoke"], 200, "{r}");
    assert_eq!(text("row_status"), "revoked", "{r}");
    assert_eq!(r["status_after_revoke"], 401, "{r}");
    assert!(text("trail").contains("grant.revoke"), "{r}");
    assert!(text("trail").contains("grant.use"), "{r}");
    assert!(text("after_logout").ends_with("/dashboard/login"), "{r}");
    assert_eq!(r["offline_requests"], serde_json::json!([]), "{r}");
    assert!(r["shots"].as_array().map_or(0, Vec::len) >= 7, "{r}");
    for shot in r["shots"].as_array().expect("shots") {
        let size = std::fs::metadata(shot.as_str().unwrap_or_default())
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 5_000, "{shot}: {size} bytes");
    }

    // The revoked token stays refused from outside the browser too, and the audit log has it.
    let id = text("grant_id");
    assert!(node.stop(), "clean stop; log:\n{}", node.log());
    let audit = vault.json(&["audit", "list"]);
    let entries = audit.as_array().expect("audit");
    assert!(entries.iter().any(|e| {
        e["action"] == "grant.revoke"
            && e["actor"] == "dashboard"
            && e["subjects"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == id.as_str()))
    }));
    assert!(entries.iter().any(|e| e["action"] == "dashboard.login"));
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "import" && e["actor"] == "dashboard")
    );
    let list = vault.json(&["grant", "list"]);
    assert!(
        list.as_array()
            .expect("grants")
            .iter()
            .any(|g| g["id"] == id.as_str() && g["status"] == "revoked")
    );
}
