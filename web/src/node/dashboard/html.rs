//! The dashboard's HTML: one layout, one function per page, every value escaped with [`esc`].
//! Inline CSS and a little inline JavaScript only; nothing is loaded from anywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use hearth_permissions::GrantSpec;
use hearth_vault::AuditEntry;

use super::data::{Bucket, GrantsPage, Overview, Search};
use crate::grants::IssuedToken;
use crate::memories::RecalledJson;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a URL query value.
pub(crate) fn url(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#faf8f5}\
header{background:#3b2f2f;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}\
header a{color:#f3d9b1;text-decoration:none}header a.on{color:#fff;font-weight:600;border-bottom:2px solid #f3d9b1}\
header form{margin-left:auto}main{padding:1em 1.5em;max-width:1100px}\
table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}\
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#fff;border:1px solid #e5ddd3;border-radius:6px;padding:.7em 1em;min-width:140px}\
.card b{display:block;font-size:1.6em}.msg{background:#e9f6e9;border:1px solid #9c9;padding:.5em 1em}\
.err{background:#fbeaea;border:1px solid #d99;padding:.5em 1em}.token{word-break:break-all;font-family:monospace;background:#fff;border:1px dashed #999;padding:.5em}\
fieldset{border:1px solid #e5ddd3;margin:.6em 0}label{margin-right:1em}input[type=text],input[type=password],input[type=search]{padding:.25em}\
.hit{background:#fff;border:1px solid #e5ddd3;border-radius:6px;padding:.5em .8em;margin:.5em 0}.meta{color:#666;font-size:.85em}\
button{cursor:pointer}.muted{color:#777}";

/// The page around `body`; `nav` is the current section, `csrf` the session's token (none on
/// the login page).
pub(crate) fn layout(title: &str, nav: &str, csrf: Option<&str>, body: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>{} · Hearth</title><style>{STYLE}</style></head><body><header><strong>Hearth</strong>",
        esc(title)
    );
    if let Some(csrf) = csrf {
        for (href, name) in [
            ("/dashboard", "Overview"),
            ("/dashboard/import", "Import"),
            ("/dashboard/memories", "Memories"),
            ("/dashboard/grants", "Grants"),
        ] {
            let on = if name == nav { " class=on" } else { "" };
            let _ = write!(out, "<a href=\"{href}\"{on}>{name}</a>");
        }
        let _ = write!(
            out,
            "<form method=post action=\"/dashboard/logout\"><input type=hidden name=csrf value=\"{}\"><button>Log out</button></form>",
            esc(csrf)
        );
    }
    let _ = write!(
        out,
        "</header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title)
    );
    out
}

/// A notice (`ok`) or an error line.
pub(crate) fn notice(text: &str, ok: bool) -> String {
    format!(
        "<p class={} role=status>{}</p>",
        if ok { "msg" } else { "err" },
        esc(text)
    )
}

/// The login page.
pub(crate) fn login(csrf: &str, error: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&notice(e, false));
    }
    let _ = write!(
        body,
        "<form method=post action=\"/dashboard/login\"><input type=hidden name=csrf value=\"{}\">\
<p><label>Vault passphrase <input type=password name=passphrase autocomplete=current-password autofocus required></label></p>\
<p><button>Unlock</button></p></form><p class=muted>The dashboard is for the vault's owner; apps use grants.</p>",
        esc(csrf)
    );
    layout("Unlock the dashboard", "", None, &body)
}

fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn audit_table(entries: &[AuditEntry]) -> String {
    let mut out = String::from(
        "<table><tr><th>#</th><th>When (UTC)</th><th>Action</th><th>Actor</th><th>Details</th></tr>",
    );
    for e in entries {
        let details: Vec<String> = e
            .event
            .details
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.seq,
            esc(&e.at.format("%Y-%m-%d %H:%M:%S").to_string()),
            esc(&e.event.action),
            esc(&e.event.actor),
            esc(&details.join(" "))
        );
    }
    out.push_str("</table>");
    out
}

/// The overview page.
pub(crate) fn overview(o: &Overview, csrf: &str) -> String {
    let s = &o.status;
    let mut body = String::from("<div class=cards>");
    for (label, value) in [
        ("records", s.records.to_string()),
        ("memories", o.memories.to_string()),
        (
            "active grants",
            format!("{} of {}", o.grants_active, o.grants_total),
        ),
        (
            "attachments",
            format!("{} ({})", s.blobs.0, fmt_bytes(s.blobs.1)),
        ),
        ("vault size", fmt_bytes(s.disk_bytes)),
        ("audit entries", s.audit_entries.to_string()),
    ] {
        let _ = write!(
            body,
            "<div class=card><b>{}</b>{}</div>",
            esc(&value),
            esc(label)
        );
    }
    body.push_str(
        "</div><h2>By source</h2><table><tr><th>Source</th><th>Records</th><th>Memories</th></tr>",
    );
    for (source, n) in &s.by_source {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{n}</td><td>{}</td></tr>",
            esc(source),
            o.memories_by_source.get(source).copied().unwrap_or(0)
        );
    }
    body.push_str("</table>");
    if let Some((first, last)) = &s.span {
        let _ = write!(
            body,
            "<p class=muted>From {} to {}.</p>",
            esc(&first.format("%Y-%m-%d").to_string()),
            esc(&last.format("%Y-%m-%d").to_string())
        );
    }
    body.push_str("<h2>Recent audit entries</h2>");
    body.push_str(&audit_table(&o.recent));
    layout("Overview", "Overview", Some(csrf), &body)
}

/// The import page (the upload runs in the page's script, which polls the job).
pub(crate) fn import(csrf: &str, max_upload: u64) -> String {
    let body = format!(
        "<form id=upload><fieldset><legend>Upload an export</legend>\
<p><input type=file name=file id=file required></p>\
<p><label>Time zone <input type=text name=tz id=tz placeholder=\"e.g. Europe/Lisbon (default: this machine's)\" size=36></label>\
<label>Your name in it <input type=text name=me id=me placeholder=\"e.g. Maya Lindqvist\"></label></p>\
<p><button id=go>Upload and import</button> <span class=muted>at most {}; the format is detected</span></p></fieldset></form>\
<div id=status role=status></div><table id=errors hidden><tr><th>Where</th><th>Why it was skipped</th></tr></table>\
<script>\
const csrf={};const st=document.getElementById('status');\
function show(j){{st.textContent='';const p=document.createElement('p');p.className=j.phase==='failed'?'err':'msg';\
p.textContent=j.file+': '+j.phase+(j.format?' ('+j.format+')':'')+' — imported '+j.imported+', duplicates '+j.duplicates+', skipped '+j.skipped+', attachments '+j.attachments+(j.memories?'; '+j.memories:'')+(j.error?'; '+j.error:'');\
p.id='job-'+j.phase.replace(' ','-');st.appendChild(p);const t=document.getElementById('errors');\
while(t.rows.length>1)t.deleteRow(1);for(const e of j.errors){{const r=t.insertRow();r.insertCell().textContent=e.location;r.insertCell().textContent=e.reason;}}t.hidden=j.errors.length===0;}}\
async function poll(id){{for(;;){{const r=await fetch('/dashboard/import/jobs/'+encodeURIComponent(id));if(!r.ok){{st.textContent='lost the job ('+r.status+')';return;}}\
const j=await r.json();show(j);if(j.phase==='done'||j.phase==='failed')return;await new Promise(ok=>setTimeout(ok,400));}}}}\
document.getElementById('upload').addEventListener('submit',async ev=>{{ev.preventDefault();const f=document.getElementById('file').files[0];if(!f)return;\
const fd=new FormData();fd.append('file',f,f.name);const q=new URLSearchParams({{tz:document.getElementById('tz').value,me:document.getElementById('me').value}});\
st.textContent='uploading '+f.name+'…';const r=await fetch('/dashboard/import?'+q,{{method:'POST',body:fd,headers:{{'x-hearth-csrf':csrf}}}});\
if(!r.ok){{st.textContent='';const p=document.createElement('p');p.className='err';p.textContent='upload refused ('+r.status+'): '+await r.text();st.appendChild(p);return;}}\
const j=await r.json();poll(j.job);}});\
</script>",
        fmt_bytes(max_upload),
        serde_json::to_string(csrf).unwrap_or_default()
    );
    layout("Import", "Import", Some(csrf), &body)
}

/// The timeline as an inline SVG bar chart, stacked by source.
fn chart(buckets: &[(String, BTreeMap<String, usize>)], sources: &BTreeSet<String>) -> String {
    const COLORS: [&str; 8] = [
        "#c0504d", "#4f81bd", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f6000", "#a5a5a5",
    ];
    if buckets.is_empty() {
        return "<p class=muted>No memories yet.</p>".into();
    }
    let color = |s: &str| {
        let i = sources.iter().position(|x| x == s).unwrap_or(0);
        COLORS[i % COLORS.len()]
    };
    let max = buckets
        .iter()
        .map(|(_, c)| c.values().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (h, bar) = (160.0, (900.0 / buckets.len() as f64).clamp(3.0, 40.0));
    let w = bar * buckets.len() as f64 + 40.0;
    let mut out = format!(
        "<svg id=timeline role=img aria-label=\"memories over time\" width=\"{w:.0}\" height=\"{}\" viewBox=\"0 0 {w:.0} {}\">",
        h + 40.0,
        h + 40.0
    );
    let _ = write!(
        out,
        "<text x=0 y=12 font-size=11>{max}</text><line x1=30 y1=0 x2=30 y2=\"{h}\" stroke=#999 />"
    );
    for (i, (label, counts)) in buckets.iter().enumerate() {
        let x = 34.0 + i as f64 * bar;
        let mut y = h;
        for (source, n) in counts {
            let bh = h * *n as f64 / max as f64;
            y -= bh;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                (bar - 1.0).max(1.0),
                color(source),
                esc(label),
                esc(source)
            );
        }
        if i == 0 || i == buckets.len() - 1 || i % (buckets.len() / 6).max(1) == 0 {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{}\" font-size=10>{}</text>",
                h + 14.0,
                esc(label)
            );
        }
    }
    for (i, s) in sources.iter().enumerate() {
        let x = 34.0 + i as f64 * 110.0;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=10 height=10 fill=\"{}\" /><text x=\"{}\" y=\"{}\" font-size=11>{}</text>",
            h + 24.0,
            color(s),
            x + 14.0,
            h + 33.0,
            esc(s)
        );
    }
    out.push_str("</svg>");
    out
}

/// What the memories page shows.
pub(crate) struct MemoriesView<'a> {
    pub(crate) bucket: Bucket,
    pub(crate) buckets: &'a [(String, BTreeMap<String, usize>)],
    pub(crate) sources: &'a BTreeSet<String>,
    pub(crate) search: &'a Search,
    pub(crate) hits: Option<&'a [RecalledJson]>,
    pub(crate) notice: Option<(String, bool)>,
}

/// The memories page: the timeline, the search form and its results with Forget buttons.
pub(crate) fn memories(v: &MemoriesView<'_>, csrf: &str) -> String {
    let mut body = String::new();
    if let Some((text, ok)) = &v.notice {
        body.push_str(&notice(text, *ok));
    }
    let (week, month) = match v.bucket {
        Bucket::Week => (
            "<b>week</b>",
            "<a href=\"/dashboard/memories?by=month\">month</a>",
        ),
        Bucket::Month => (
            "<a href=\"/dashboard/memories?by=week\">week</a>",
            "<b>month</b>",
        ),
    };
    let _ = write!(
        body,
        "<h2>Timeline</h2><p class=muted>Memories per {week} · {month}, by source.</p>"
    );
    body.push_str(&chart(v.buckets, v.sources));
    let s = v.search;
    let opt = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let _ = write!(
        body,
        "<h2>Search</h2><form method=get action=\"/dashboard/memories\" id=search>\
<p><input type=search name=q value=\"{}\" size=50 placeholder=\"what are you looking for?\" required> <button>Search</button></p>\
<p><label>Sources <input type=text name=sources value=\"{}\" placeholder=\"whatsapp, telegram\"></label>\
<label>Since <input type=text name=since value=\"{}\" placeholder=YYYY-MM-DD size=11></label>\
<label>Until <input type=text name=until value=\"{}\" placeholder=YYYY-MM-DD size=11></label></p>\
<p><label>Participants <input type=text name=participants value=\"{}\"></label>\
<label>Not <input type=text name=exclude_participants value=\"{}\"></label>\
<label>Conversations <input type=text name=conversations value=\"{}\"></label>\
<label>k <input type=number name=k value=\"{}\" min=1 max=100></label></p></form>",
        esc(&s.query),
        esc(&s.sources.join(", ")),
        esc(&opt(&s.since)),
        esc(&opt(&s.until)),
        esc(&s.participants.join(", ")),
        esc(&s.exclude_participants.join(", ")),
        esc(&s.conversations.join(", ")),
        s.k
    );
    if let Some(hits) = v.hits {
        if hits.is_empty() {
            body.push_str("<p class=muted>Nothing found.</p>");
        }
        body.push_str("<div id=results>");
        for h in hits {
            let _ = write!(
                body,
                "<div class=hit><div>{}</div><div class=meta>{} · {} · {}{} · score {:.3}</div>\
<form method=post action=\"/dashboard/memories/forget\"><input type=hidden name=csrf value=\"{}\">\
<input type=hidden name=id value=\"{}\"><input type=hidden name=q value=\"{}\"><button>Forget</button></form></div>",
                esc(&h.text),
                esc(&h.occurred_at),
                esc(&h.source),
                esc(h.author.as_deref().unwrap_or("")),
                h.conversation
                    .as_deref()
                    .map(|c| format!(" in {}", esc(c)))
                    .unwrap_or_default(),
                h.score,
                esc(csrf),
                esc(&h.id),
                esc(&s.query)
            );
        }
        body.push_str("</div>");
    }
    layout("Memories", "Memories", Some(csrf), &body)
}

const RIGHTS: [&str; 6] = [
    "memories.search",
    "records.read",
    "records.export",
    "model.chat",
    "model.embed",
    "persona.chat",
];
const FIELDS: [&str; 4] = ["author", "participants", "conversation", "attachments"];

/// The grant form (issue, or narrow when `narrowing` names the grant and its spec).
fn grant_form(csrf: &str, sources: &[String], narrowing: Option<(&str, &GrantSpec)>) -> String {
    let (action, legend, spec) = match narrowing {
        Some((id, spec)) => (
            format!("/dashboard/grants/{}/narrow", url(id)),
            format!("Narrow grant {id}"),
            Some(spec),
        ),
        None => (
            "/dashboard/grants/issue".into(),
            "Issue a grant".into(),
            None,
        ),
    };
    let mut out = format!(
        "<form method=post action=\"{}\" id=grant-form><fieldset><legend>{}</legend><input type=hidden name=csrf value=\"{}\">",
        esc(&action),
        esc(&legend),
        esc(csrf)
    );
    match spec {
        Some(s) => {
            let _ = write!(
                out,
                "<p>App <b>{}</b><input type=hidden name=app value=\"{}\"></p>",
                esc(&s.app),
                esc(&s.app)
            );
        }
        None => out.push_str(
            "<p><label>App <input type=text name=app required pattern=\"[A-Za-z0-9._-]+\" placeholder=notes-app></label></p>",
        ),
    }
    out.push_str("<p>Rights: ");
    for r in RIGHTS {
        let allowed = spec.is_none_or(|s| s.rights.iter().any(|x| x.to_string() == r));
        if allowed {
            let checked = if spec.is_some() { " checked" } else { "" };
            let _ = write!(
                out,
                "<label><input type=checkbox name=rights value=\"{r}\"{checked}> {r}</label>"
            );
        }
    }
    let src = spec
        .and_then(|s| s.restrictions.sources.as_ref())
        .map(|s| s.iter().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let date =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let _ = write!(
        out,
        "</p><p><label>Sources <input type=text name=sources value=\"{}\" placeholder=\"{}\"></label>\
<label>Since <input type=text name=since value=\"{}\" placeholder=YYYY-MM-DD></label>\
<label>Until <input type=text name=until value=\"{}\" placeholder=YYYY-MM-DD></label></p>\
<p><label>Never involving <input type=text name=exclude_participants value=\"{}\" placeholder=\"names, comma-separated\"></label>\
<label>Max results <input type=number name=max_results min=1 value=\"{}\"></label></p><p>Redact: ",
        esc(&src),
        esc(&if sources.is_empty() {
            "every source".to_owned()
        } else {
            sources.join(", ")
        }),
        esc(&date(spec.and_then(|s| s.restrictions.since))),
        esc(&date(spec.and_then(|s| s.restrictions.until))),
        esc(&spec
            .map(|s| s
                .restrictions
                .exclude_participants
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()),
        spec.and_then(|s| s.restrictions.max_results)
            .map(|n| n.to_string())
            .unwrap_or_default()
    );
    for f in FIELDS {
        let checked = if spec.is_some_and(|s| s.restrictions.redact.iter().any(|x| x.as_str() == f))
        {
            " checked"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<label><input type=checkbox name=redact value=\"{f}\"{checked}> {f}</label>"
        );
    }
    out.push_str("</p><p><label>Expires <select name=expires>");
    for (value, label) in [
        ("3600", "in an hour"),
        ("86400", "in a day"),
        ("604800", "in a week"),
        ("2592000", "in 30 days"),
        ("7776000", "in 90 days"),
        ("never", "never"),
    ] {
        let selected = if value == "2592000" { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{value}\"{selected}>{label}</option>");
    }
    let button = if spec.is_some() {
        "Narrow (the old grant is revoked)"
    } else {
        "Issue"
    };
    let _ = write!(
        out,
        "</select></label></p><p><button>{button}</button></p></fieldset></form>"
    );
    out
}

/// The grants page.
pub(crate) fn grants(page: &GrantsPage, csrf: &str, notice_text: Option<(&str, bool)>) -> String {
    let mut body = String::new();
    if let Some((text, ok)) = notice_text {
        body.push_str(&notice(text, ok));
    }
    body.push_str(&grant_form(csrf, &page.sources, None));
    body.push_str("<h2>Issued grants</h2>");
    if page.grants.is_empty() {
        body.push_str("<p class=muted>No grants yet.</p>");
    } else {
        body.push_str("<table id=grants><tr><th>App</th><th>Status</th><th>Rights</th><th>Issued</th><th>Expires</th><th>What it allows</th><th></th></tr>");
        for g in &page.grants {
            let r = &g.record;
            let mut actions = format!(
                "<a href=\"/dashboard/grants?app={}\">audit trail</a>",
                url(&r.app)
            );
            if g.status == "active" {
                let _ = write!(
                    actions,
                    " · <a href=\"/dashboard/grants/{}/narrow\">narrow</a>\
<form method=post action=\"/dashboard/grants/{}/revoke\"><input type=hidden name=csrf value=\"{}\"><button class=revoke>Revoke</button></form>",
                    url(&r.id),
                    url(&r.id),
                    esc(csrf)
                );
            }
            let _ = write!(
                body,
                "<tr data-grant=\"{}\"><td>{}</td><td class=status>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{actions}</td></tr>",
                esc(&r.id),
                esc(&r.app),
                g.status,
                esc(&r.rights.join(" ")),
                esc(&r.issued_at),
                esc(r.expires.as_deref().unwrap_or("never")),
                r.description
                    .iter()
                    .map(|l| esc(l))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        body.push_str("</table>");
    }
    if let Some((app, entries)) = &page.trail {
        let _ = write!(body, "<h2 id=trail>Audit trail of {}</h2>", esc(app));
        if entries.is_empty() {
            body.push_str("<p class=muted>Nothing yet.</p>");
        } else {
            body.push_str(&audit_table(entries));
        }
    }
    layout("Grants", "Grants", Some(csrf), &body)
}

/// The page that shows a new token, once.
pub(crate) fn issued(issued: &IssuedToken, csrf: &str, replaced: Option<&str>) -> String {
    use secrecy::ExposeSecret;
    let mut body = String::new();
    if let Some(old) = replaced {
        body.push_str(&notice(
            &format!("grant {old} was revoked and replaced"),
            true,
        ));
    }
    let _ = write!(
        body,
        "<p>Grant <code id=grant-id>{}</code> for <b>{}</b>. Copy the token now: it is shown only once and stored nowhere.</p>\
<p class=token id=token>{}</p><p><a href=\"/dashboard/grants\">Back to the grants</a></p>",
        esc(&issued.id.to_string()),
        esc(&issued.app),
        esc(issued.token.expose_secret())
    );
    layout("Grant issued", "Grants", Some(csrf), &body)
}

/// The narrow page.
pub(crate) fn narrow(id: &str, spec: &GrantSpec, csrf: &str) -> String {
    let body = format!(
        "<p>Choose what to keep. A new token is issued with at most what the old grant allowed, and the old grant is revoked.</p>{}",
        grant_form(csrf, &[], Some((id, spec)))
    );
    layout("Narrow a grant", "Grants", Some(csrf), &body)
}

/// An error page.
pub(crate) fn error(message: &str, csrf: Option<&str>) -> String {
    layout("Something went wrong", "", csrf, &notice(message, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(url("a b/é&"), "a%20b%2F%C3%A9%26");
        let page = layout("<b>", "", Some("\"><x"), "");
        assert!(!page.contains("<b>"));
        assert!(!page.contains("\"><x"));
    }
}
