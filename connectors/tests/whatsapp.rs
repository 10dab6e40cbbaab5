//! WhatsApp: the sample persona's Android and iOS exports, their traps, idempotence, the zip as
//! downloaded, ambiguous dates, and arbitrary bytes.

mod support;

use std::io::Write;

use hearth_connectors::{ConnectorError, DateOrder, import};
use proptest::prelude::*;
use support::*;

#[test]
fn android_export_counts_authors_times_and_traps() {
    let (_tmp, mut vault) = vault();
    let path = examples().join("whatsapp/WhatsApp Chat with Inês.txt");
    let summary = run(
        &mut vault,
        &path,
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("whatsapp", 81, 0, 2)
    );
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let records = records(&vault);
    assert_eq!(records.len(), 81);
    let by = |name: &str| {
        records
            .iter()
            .filter(|r| r.data.author.as_ref().unwrap().name == name)
            .count()
    };
    assert_eq!((by("Maya Lindqvist"), by("Inês")), (44, 37));
    assert!(
        records
            .iter()
            .all(|r| r.data.author.as_ref().unwrap().is_owner
                == (r.data.author.as_ref().unwrap().name == "Maya Lindqvist"))
    );

    let first = &records[0];
    assert_eq!(
        first.data.text,
        "Ok so carb loading starts when exactly? Asking for a friend 🍝"
    );
    // Winter: Lisbon is UTC+0; the offset is assumed (the export has none).
    assert_eq!(
        first.data.occurred_at.to_rfc3339(),
        "2025-03-14T21:07:00+00:00"
    );
    assert!(first.data.offset_assumed);
    assert_eq!(first.data.conversation.as_ref().unwrap().id, "Inês");
    assert_eq!(first.data.participants.len(), 2);

    // A multi-line message keeps its lines.
    let bib = find(&records, "Bib collected!");
    assert_eq!(bib.len(), 1);
    assert_eq!(
        bib[0].data.text,
        "Bib collected! 11482\nAlso they gave us a banana and a very orange t-shirt"
    );
    // Summer: UTC+1.
    let flat = find(&records, "WE GOT THE FLAT");
    assert_eq!(
        flat[0].data.occurred_at.to_rfc3339(),
        "2025-05-12T13:02:00+01:00"
    );
    // Media omitted, edited and deleted markers become metadata.
    let omitted = records
        .iter()
        .filter(|r| r.data.metadata.get("media").map(String::as_str) == Some("omitted"))
        .count();
    assert_eq!(omitted, 7);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("edited"))
            .count(),
        1
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("deleted"))
            .count(),
        1
    );
    assert!(
        records
            .iter()
            .all(|r| !r.data.text.contains("<This message was edited>"))
    );
}

#[test]
fn ios_group_export_with_marks_and_attachments() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("whatsapp-ios"),
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!((summary.imported, summary.skipped), (59, 5), "{summary:?}");
    let records = records(&vault);
    let by = |name: &str| {
        records
            .iter()
            .filter(|r| r.data.author.as_ref().unwrap().name == name)
            .count()
    };
    assert_eq!(
        (
            by("Maya Lindqvist"),
            by("Duarte Sousa"),
            by("Leonor Vaz"),
            by("Jakob 🧗")
        ),
        (20, 16, 12, 11)
    );
    assert_eq!(
        records[0].data.conversation.as_ref().unwrap().id,
        "Climbing crew"
    );
    assert_eq!(
        records[0].data.occurred_at.to_rfc3339(),
        "2025-03-02T18:45:02+00:00"
    );
    assert!(records.iter().all(|r| !r.data.text.contains('\u{200E}')));
    let attachments: Vec<_> = records.iter().flat_map(|r| &r.data.attachments).collect();
    assert_eq!(attachments.len(), 7);
    assert!(
        attachments.iter().all(|a| a.blob.is_none()),
        "the sample export has no media files"
    );
    assert!(
        attachments
            .iter()
            .any(|a| a.name == "00000014-PHOTO-2025-03-23-13-10-44.jpg")
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("deleted"))
            .count(),
        1
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data.metadata.contains_key("edited"))
            .count(),
        1
    );
}

#[test]
fn reimport_and_overlapping_export_add_nothing_twice() {
    let (tmp, mut vault) = vault();
    let path = examples().join("whatsapp/WhatsApp Chat with Inês.txt");
    let opts = options("Europe/Lisbon", &[]);
    run(&mut vault, &path, &opts);
    let again = run(&mut vault, &path, &opts);
    assert_eq!((again.imported, again.duplicates), (0, 81));
    // A later export: the same chat plus two new messages, one identical to an earlier one in
    // the same minute (a real second message, not a duplicate).
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("15/03/2026, 10:00 - Inês: ok\n15/03/2026, 10:00 - Inês: ok\n");
    let later = tmp.path().join("WhatsApp Chat with Inês.txt");
    std::fs::write(&later, text).unwrap();
    let summary = run(&mut vault, &later, &opts);
    assert_eq!((summary.imported, summary.duplicates), (2, 81));
    assert_eq!(records(&vault).len(), 83);
}

#[test]
fn zip_with_media_stores_attachments_as_sealed_blobs() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("_chat.txt"),
        "\u{200E}[14.03.25, 21:07:13] Inês: \u{200E}<attached: 00000001-PHOTO-2025-03-14-21-07-13.jpg>\r\n[14.03.25, 21:08:00] Maya: nice\r\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("00000001-PHOTO-2025-03-14-21-07-13.jpg"),
        b"\xFF\xD8JPEGDATA-CANARY",
    )
    .unwrap();
    let archive = tmp.path().join("WhatsApp Chat - Inês.zip");
    zip_dir(&dir, &archive);
    let summary = run(&mut vault, &archive, &options("Europe/Lisbon", &[]));
    assert_eq!(
        (summary.imported, summary.attachments),
        (2, 1),
        "{summary:?}"
    );
    let records = records(&vault);
    assert_eq!(records[0].data.conversation.as_ref().unwrap().id, "Inês");
    let blob = records[0].data.attachments[0].blob.clone().expect("stored");
    let mut bytes = Vec::new();
    vault.read_blob(&blob, &mut bytes).unwrap();
    assert_eq!(bytes, b"\xFF\xD8JPEGDATA-CANARY");
    // Re-importing the zip stores no second copy.
    let again = run(&mut vault, &archive, &options("Europe/Lisbon", &[]));
    assert_eq!((again.imported, again.attachments), (0, 0));
    assert_eq!(vault.status().unwrap().blobs.0, 1);
}

#[test]
fn ambiguous_day_month_order_asks_and_date_order_settles_it() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("WhatsApp Chat with Ana.txt");
    std::fs::write(
        &path,
        "03/04/25, 10:00 - Ana: hi\n05/06/25, 11:00 - Bo: hey\n",
    )
    .unwrap();
    let opts = options("UTC", &[]);
    match import(&mut vault, &path, &opts, &mut |_| {}) {
        Err(ConnectorError::AmbiguousDateOrder { example, .. }) => assert_eq!(example, "03/04/25"),
        other => panic!("expected a question, got {other:?}"),
    }
    assert!(records(&vault).is_empty());
    let mut mdy = opts.clone();
    mdy.context.date_order = Some(DateOrder::Mdy);
    run(&mut vault, &path, &mdy);
    assert_eq!(
        records(&vault)[0].data.occurred_at.to_rfc3339(),
        "2025-03-04T10:00:00+00:00"
    );
}

#[test]
fn twelve_hour_us_export_with_narrow_spaces_and_bad_lines() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("WhatsApp Chat with Sam.txt");
    let mut file = std::fs::File::create(&path).unwrap();
    // U+202F before PM as recent exports write it; a line with an impossible date; a second
    // field over 12 proves month-first.
    write!(
        file,
        "stray text before anything\n12/25/24, 11:59\u{202F}PM - Sam: merry xmas\n12/26/24, 12:01\u{202F}AM - Me: thanks\n13/45/24, 10:00 AM - Sam: broken\n"
    )
    .unwrap();
    let summary = run(&mut vault, &path, &options("America/New_York", &["Me"]));
    assert_eq!((summary.imported, summary.skipped), (2, 2), "{summary:?}");
    assert_eq!(summary.errors.len(), 2);
    assert!(
        summary.errors[0].location.ends_with(":1"),
        "{:?}",
        summary.errors
    );
    assert!(
        summary.errors[1].location.ends_with(":4"),
        "{:?}",
        summary.errors
    );
    let records = records(&vault);
    assert_eq!(
        records[0].data.occurred_at.to_rfc3339(),
        "2024-12-25T23:59:00-05:00"
    );
    assert_eq!(
        records[1].data.occurred_at.to_rfc3339(),
        "2024-12-26T00:01:00-05:00"
    );
    assert!(records[1].data.author.as_ref().unwrap().is_owner);
}

#[test]
fn not_an_export_is_refused_clearly() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("notes.txt");
    std::fs::write(&path, "just some text\nnothing else\n").unwrap();
    let err = import(&mut vault, &path, &options("UTC", &[]), &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("not an export Hearth knows"),
        "{err}"
    );
    let mut forced = options("UTC", &[]);
    forced.format = Some("whatsapp".into());
    let err = import(&mut vault, &path, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a whatsapp export"), "{err}");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), prefix in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("WhatsApp Chat with X.txt");
        let mut content = if prefix { b"14/03/2025, 21:07 - A: hi\n".to_vec() } else { Vec::new() };
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("whatsapp".into());
        opts.context.date_order = Some(DateOrder::Dmy);
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn random_chat_lines_never_panic(lines in proptest::collection::vec("[0-9/.,: \\[\\]-]{0,30}[A-Za-z: ]{0,10}", 0..30)) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("WhatsApp Chat with X.txt");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some("whatsapp".into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }
}
