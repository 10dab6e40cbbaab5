//! mbox streaming: a generated mailbox much larger than the memory the import may use (20 000
//! messages and one message over the 64 MiB limit, about 170 MB in all) imports with every
//! message counted, the oversized one reported at its line, and the process's peak resident
//! memory growing by far less than the file's size.
//!
//! This is its own test binary so that no other test shares the process whose peak it reads.

mod support;

use std::io::Write;

use support::*;

const MESSAGES: usize = 20_000;

/// A `/proc/self/status` field in KiB (Linux only; `None` elsewhere).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn write_mailbox(path: &std::path::Path) -> (u64, u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let paragraph =
        "Lorem ipsum dolor sit amet, the purple roof at Bloco Alcantara again.\n".repeat(70);
    let mut line = 1u64;
    let mut big_line = 0;
    for i in 0..MESSAGES {
        if i == MESSAGES / 2 {
            // A message over the limit: a 65 MiB base64 attachment.
            big_line = line;
            write!(
                out,
                "From big@xxx Sat Jan  3 10:00:00 +0000 2026\nFrom: big@example.org\nDate: Sat, 3 Jan 2026 10:00:00 +0000\nMessage-ID: <big@example.org>\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
            )
            .unwrap();
            line += 7;
            let row = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n";
            for _ in 0..(65 << 20) / row.len() + 1 {
                out.write_all(row.as_bytes()).unwrap();
                line += 1;
            }
            out.write_all(b"\n").unwrap();
            line += 1;
        }
        write!(
            out,
            "From {i}@xxx Fri Jan  2 10:00:00 +0000 2026\nFrom: Sender {s} <s{s}@example.org>\nTo: maya.lindqvist@gmail.com\nDate: Fri, 2 Jan 2026 10:{m:02}:{sec:02} +0000\nMessage-ID: <m{i}@example.org>\nSubject: message {i}\n\nHello {i}\n>From the archive\n{paragraph}\n",
            s = i % 50,
            m = (i / 60) % 60,
            sec = i % 60,
        )
        .unwrap();
        line += 9 + 70 + 1;
    }
    out.flush().unwrap();
    (std::fs::metadata(path).unwrap().len(), big_line)
}

#[test]
fn a_large_mailbox_streams_in_bounded_memory() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("All mail Including Spam and Trash.mbox");
    let (size, big_line) = write_mailbox(&path);
    assert!(size > 160 << 20, "{size}");
    // Reset the peak (Linux 4.0+), so that only the import counts.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmHWM:");
    let summary = run(&mut vault, &path, &options("UTC", &[]));
    let after = status_kib("VmHWM:");
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("mbox", MESSAGES as u64, 1),
        "{:?}",
        summary.errors
    );
    assert!(
        summary.errors[0]
            .location
            .ends_with(&format!(".mbox:{big_line}")),
        "{:?}",
        summary.errors
    );
    assert!(summary.errors[0].reason.contains("over the"));
    let last = vault
        .list(&hearth_vault::RecordFilter::default())
        .unwrap()
        .into_iter()
        .find(|r| r.data.external_id.as_deref() == Some("m19999@example.org"))
        .expect("last message");
    assert!(
        last.data
            .text
            .starts_with("message 19999\n\nHello 19999\nFrom the archive\nLorem")
    );
    if let (Some(before), Some(after)) = (before, after) {
        let grown_mib = after.saturating_sub(before) / 1024;
        eprintln!(
            "mbox of {} MiB: peak RSS {} MiB before, {} MiB after (+{grown_mib} MiB)",
            size >> 20,
            before / 1024,
            after / 1024
        );
        // One message is held at a time (at most the 64 MiB limit), plus a batch of records.
        assert!(
            grown_mib < 110,
            "peak memory grew by {grown_mib} MiB for a {} MiB file",
            size >> 20
        );
    }
}
