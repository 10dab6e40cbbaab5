//! iMessage: a `chat.db` built here with macOS's schema (there is none in `examples/`), with an
//! `attributedBody`-only message written as macOS's typedstream, tapbacks, group events, inline
//! replies, attachments, old second-based dates; as a file, as a Messages folder, inside a zip
//! (refused), re-imported, and fed arbitrary bytes.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use hearth_connectors::import;
use proptest::prelude::*;
use rusqlite::{Connection, params};
use support::*;

/// Tables and columns as macOS 14 has them (the columns this importer does not read are kept
/// to make the schema realistic; a few rarely used ones are left out).
const SCHEMA: &str = r#"
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT, service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT, UNIQUE (id, service));
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER, state INTEGER, account_id TEXT, properties BLOB, chat_identifier TEXT, service_name TEXT, room_name TEXT, account_login TEXT, is_archived INTEGER DEFAULT 0, last_addressed_handle TEXT, display_name TEXT, group_id TEXT, is_filtered INTEGER DEFAULT 0, successful_query INTEGER, engram_id TEXT, server_change_token TEXT, ck_sync_state INTEGER DEFAULT 0, original_group_id TEXT, last_read_message_timestamp INTEGER DEFAULT 0, cloudkit_record_id TEXT, last_addressed_sim_id TEXT, is_blackholed INTEGER DEFAULT 0, syndication_date INTEGER DEFAULT 0, syndication_type INTEGER DEFAULT 0, is_recovered INTEGER DEFAULT 0, is_deleting_incoming_messages INTEGER DEFAULT 0);
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, replace INTEGER DEFAULT 0, service_center TEXT, handle_id INTEGER DEFAULT 0, subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0, type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT, error INTEGER DEFAULT 0, date INTEGER, date_read INTEGER, date_delivered INTEGER, is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0, is_emote INTEGER DEFAULT 0, is_from_me INTEGER DEFAULT 0, is_empty INTEGER DEFAULT 0, is_delayed INTEGER DEFAULT 0, is_auto_reply INTEGER DEFAULT 0, is_prepared INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, is_system_message INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0, has_dd_results INTEGER DEFAULT 0, is_service_message INTEGER DEFAULT 0, is_forward INTEGER DEFAULT 0, was_downgraded INTEGER DEFAULT 0, is_archive INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0, cache_roomnames TEXT, was_data_detected INTEGER DEFAULT 0, was_deduplicated INTEGER DEFAULT 0, is_audio_message INTEGER DEFAULT 0, is_played INTEGER DEFAULT 0, date_played INTEGER, item_type INTEGER DEFAULT 0, other_handle INTEGER DEFAULT 0, group_title TEXT, group_action_type INTEGER DEFAULT 0, share_status INTEGER DEFAULT 0, share_direction INTEGER DEFAULT 0, is_expirable INTEGER DEFAULT 0, expire_state INTEGER DEFAULT 0, message_action_type INTEGER DEFAULT 0, message_source INTEGER DEFAULT 0, associated_message_guid TEXT, associated_message_type INTEGER DEFAULT 0, balloon_bundle_id TEXT, payload_data BLOB, expressive_send_style_id TEXT, associated_message_range_location INTEGER DEFAULT 0, associated_message_range_length INTEGER DEFAULT 0, time_expressive_send_played INTEGER, message_summary_info BLOB, ck_sync_state INTEGER DEFAULT 0, ck_record_id TEXT, ck_record_change_tag TEXT, destination_caller_id TEXT, is_corrupt INTEGER DEFAULT 0, reply_to_guid TEXT, sort_id INTEGER, is_spam INTEGER DEFAULT 0, has_unseen_mention INTEGER DEFAULT 0, thread_originator_guid TEXT, thread_originator_part TEXT, syndication_ranges TEXT, synced_syndication_ranges TEXT, was_delivered_quietly INTEGER DEFAULT 0, did_notify_recipient INTEGER DEFAULT 0, date_retracted INTEGER, date_edited INTEGER, was_detonated INTEGER DEFAULT 0, part_count INTEGER, is_stewie INTEGER DEFAULT 0, is_kt_verified INTEGER DEFAULT 0, is_sos INTEGER DEFAULT 0, is_critical INTEGER DEFAULT 0, bia_reference_id TEXT DEFAULT NULL, fallback_hash TEXT DEFAULT NULL);
CREATE TABLE chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE, message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, message_date INTEGER DEFAULT 0, PRIMARY KEY (chat_id, message_id));
CREATE TABLE chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE, handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, created_date INTEGER DEFAULT 0, start_date INTEGER DEFAULT 0, filename TEXT, uti TEXT, mime_type TEXT, transfer_state INTEGER DEFAULT 0, is_outgoing INTEGER DEFAULT 0, user_info BLOB, transfer_name TEXT, total_bytes INTEGER DEFAULT 0, is_sticker INTEGER DEFAULT 0, sticker_user_info BLOB, attribution_info BLOB, hide_attachment INTEGER DEFAULT 0, ck_sync_state INTEGER DEFAULT 0, ck_server_change_token_blob BLOB, ck_record_id TEXT, original_guid TEXT UNIQUE NOT NULL, is_commsafety_sensitive INTEGER DEFAULT 0);
CREATE TABLE message_attachment_join (message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, attachment_id INTEGER REFERENCES attachment (ROWID) ON DELETE CASCADE, UNIQUE(message_id, attachment_id));
"#;

/// An `attributedBody` the way macOS's `NSArchiver` writes it: the typedstream header
/// (version 4, "streamtyped", system version 1000), an `NSAttributedString` whose `NSString`
/// holds the text as a `+` (byte string) with its typedstream length, then the attribute run
/// (`iI` range and an `NSDictionary` with `__kIMMessagePartAttributeName` → `NSNumber` 0).
fn attributed_body(text: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(b"\x04\x0bstreamtyped\x81\xe8\x03");
    // new object of new class NSAttributedString (version 0), superclass NSObject, end of chain
    b.extend(b"\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85");
    // its contents: an object ("@", referenced) of new class NSString (version 1, super NSObject)
    b.extend(b"\x92\x84\x84\x84\x08NSString\x01\x94");
    // type "+" (new), then the length and the UTF-8 bytes
    b.extend(b"\x84\x01+");
    let len = text.len();
    if len < 0x80 {
        b.push(len as u8);
    } else {
        b.push(0x81);
        b.extend((len as u16).to_le_bytes());
    }
    b.extend(text.as_bytes());
    b.push(0x86);
    // the attribute run: range (1, length in UTF-16 units), then the attributes dictionary
    let units = text.encode_utf16().count();
    b.extend(b"\x84\x02iI\x01");
    if units < 0x80 {
        b.push(units as u8);
    } else {
        b.push(0x81);
        b.extend((units as u16).to_le_bytes());
    }
    b.extend(b"\x92\x84\x84\x84\x0cNSDictionary\x00\x94\x84\x01i\x01\x92\x84\x96\x96\x1d__kIMMessagePartAttributeName\x86\x92\x84\x84\x84\x08NSNumber\x00\x84\x84\x07NSValue\x00\x94\x84\x01*\x84\x99\x99\x00\x86\x86\x86");
    b
}

/// Apple time: seconds since 2001-01-01 UTC.
const MAY_31_18H: i64 = 770_407_200;
const APR_19_0830: i64 = 766_744_200;
const NS: i64 = 1_000_000_000;

const LONG: &str = "Train tomorrow from Santa Apolónia at 9:39, carriage 4, seats 41 and 42. Bring the good sandwiches and the charger, the Alfa Pendular sockets never work 🚆🥪";

/// Builds the sample `chat.db` at `path` (once; later calls copy it).
fn build_chat_db(path: &Path) {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chat.db");
        write_chat_db(&db);
        std::fs::read(&db).unwrap()
    });
    std::fs::write(path, bytes).unwrap();
}

fn write_chat_db(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA synchronous = OFF;").unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch(
        "INSERT INTO handle (ROWID, id, country, service) VALUES (1, '+351912345678', 'pt', 'iMessage'), (2, 'tiago@example.com', 'pt', 'iMessage');
         INSERT INTO chat (ROWID, guid, style, chat_identifier, service_name, display_name) VALUES
           (1, 'iMessage;-;+351912345678', 45, '+351912345678', 'iMessage', ''),
           (2, 'iMessage;+;chat123456789', 43, 'chat123456789', 'iMessage', 'Porto trip');
         INSERT INTO chat_handle_join VALUES (1, 1), (2, 1), (2, 2);",
    )
    .unwrap();
    let mut insert = conn
        .prepare(
            "INSERT INTO message (ROWID, guid, text, attributedBody, handle_id, service, date, is_from_me, associated_message_type, associated_message_guid, thread_originator_guid, item_type, group_title, date_edited, cache_has_attachments)
             VALUES (?1, ?2, ?3, ?4, ?5, 'iMessage', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .unwrap();
    type Row<'a> = (
        i64,
        &'a str,
        Option<&'a str>,
        Option<Vec<u8>>,
        i64,
        i64,
        i64,
        i64,
        Option<&'a str>,
        Option<&'a str>,
        i64,
        Option<&'a str>,
        Option<i64>,
        i64,
        i64, // chat
    );
    let rows: Vec<Row<'_>> = vec![
        (
            1,
            "M1",
            Some("Are you home?"),
            None,
            1,
            MAY_31_18H * NS,
            0,
            0,
            None,
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // attributedBody only, as recent macOS writes messages.
        (
            2,
            "M2",
            None,
            Some(attributed_body("Yes! Boxes everywhere 📦")),
            1,
            (MAY_31_18H + 60) * NS,
            1,
            0,
            None,
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // A tapback (Loved) on M2.
        (
            3,
            "M3",
            Some("Loved “Yes! Boxes everywhere 📦”"),
            None,
            1,
            (MAY_31_18H + 90) * NS,
            0,
            2000,
            Some("p:0/M2"),
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // An old message with seconds for its date and a photo.
        (
            4,
            "M4",
            Some("\u{FFFC}"),
            None,
            2,
            APR_19_0830,
            0,
            0,
            None,
            None,
            0,
            None,
            None,
            1,
            2,
        ),
        // Group renamed: not a message.
        (
            5,
            "M5",
            None,
            None,
            2,
            APR_19_0830 + 100,
            0,
            0,
            None,
            None,
            2,
            Some("Porto trip"),
            None,
            0,
            2,
        ),
        // An inline reply to the photo, edited.
        (
            6,
            "M6",
            Some("See you at Santa Apolónia"),
            None,
            0,
            (APR_19_0830 + 900) * NS,
            1,
            0,
            None,
            Some("M4"),
            0,
            None,
            Some((APR_19_0830 + 960) * NS),
            0,
            2,
        ),
        // Nothing in it (an unsent message).
        (
            7,
            "M7",
            None,
            None,
            1,
            (MAY_31_18H + 120) * NS,
            0,
            0,
            None,
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // An attributedBody in a format this reader does not know.
        (
            8,
            "M8",
            None,
            Some(b"bplist00\xd4\x01\x02".to_vec()),
            1,
            (MAY_31_18H + 150) * NS,
            0,
            0,
            None,
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // No date.
        (
            9,
            "M9",
            Some("no date"),
            None,
            1,
            0,
            0,
            0,
            None,
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // A Like from me on M1, then taken back.
        (
            10,
            "M10",
            Some("Liked “Are you home?”"),
            None,
            1,
            (MAY_31_18H + 200) * NS,
            1,
            2001,
            Some("p:0/M1"),
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        (
            11,
            "M11",
            Some("Removed a like from “Are you home?”"),
            None,
            1,
            (MAY_31_18H + 210) * NS,
            1,
            3001,
            Some("p:0/M1"),
            None,
            0,
            None,
            None,
            0,
            1,
        ),
        // A long attributedBody-only message (two-byte length).
        (
            12,
            "M12",
            None,
            Some(attributed_body(LONG)),
            2,
            (APR_19_0830 - 3600) * NS,
            0,
            0,
            None,
            None,
            0,
            None,
            None,
            0,
            2,
        ),
    ];
    for r in rows {
        insert
            .execute(params![
                r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13
            ])
            .unwrap();
        conn.execute(
            "INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?1, ?2, ?3)",
            params![r.14, r.0, r.5],
        )
        .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO attachment (ROWID, guid, filename, uti, mime_type, transfer_name, total_bytes, original_guid)
           VALUES (1, 'AT1', '~/Library/Messages/Attachments/ab/11/AT1/IMG_0001.HEIC', 'public.heic', 'image/heic', 'IMG_0001.HEIC', 15, 'AT1');
         INSERT INTO message_attachment_join VALUES (4, 1);",
    )
    .unwrap();
}

/// A copy of `~/Library/Messages`: chat.db and the photo.
fn messages_folder(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("Messages");
    std::fs::create_dir_all(folder.join("Attachments/ab/11/AT1")).unwrap();
    build_chat_db(&folder.join("chat.db"));
    std::fs::write(
        folder.join("Attachments/ab/11/AT1/IMG_0001.HEIC"),
        b"HEIC-CANARY-BYTES",
    )
    .unwrap();
    folder
}

fn by_guid<'a>(records: &'a [hearth_vault::Record], guid: &str) -> &'a hearth_vault::Record {
    records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some(guid))
        .unwrap_or_else(|| panic!("no message {guid}"))
}

fn check(vault: &hearth_vault::Vault) {
    let records = records(vault);
    assert_eq!(records.len(), 5);
    // The attributedBody-only message, from me, with the tapback on it.
    let m2 = by_guid(&records, "M2");
    assert_eq!(m2.data.text, "Yes! Boxes everywhere 📦");
    assert_eq!(m2.data.metadata["text_from"], "attributedBody");
    let author = m2.data.author.as_ref().unwrap();
    assert!(author.is_owner);
    assert_eq!(author.name, "Maya Lindqvist");
    assert_eq!(m2.data.metadata["tapbacks"], "Loved by +351912345678");
    // Nanoseconds since 2001, shown in Lisbon summer time.
    assert_eq!(
        m2.data.occurred_at.to_rfc3339(),
        "2025-05-31T19:01:00+01:00"
    );
    assert!(m2.data.offset_assumed);
    let conv = m2.data.conversation.as_ref().unwrap();
    assert_eq!(conv.id, "iMessage;-;+351912345678");
    assert_eq!(conv.name.as_deref(), Some("+351912345678"));
    assert_eq!(m2.data.metadata["chat"], "direct");
    // From the other side: the handle is the author.
    let m1 = by_guid(&records, "M1");
    let author = m1.data.author.as_ref().unwrap();
    assert_eq!(
        (
            author.name.as_str(),
            author.handle.as_deref(),
            author.is_owner
        ),
        ("+351912345678", Some("+351912345678"), false)
    );
    // The Like was taken back.
    assert!(!m1.data.metadata.contains_key("tapbacks"));
    // Seconds since 2001 (older macOS), a photo, the group's name.
    let m4 = by_guid(&records, "M4");
    assert_eq!(
        m4.data.occurred_at.to_rfc3339(),
        "2025-04-19T09:30:00+01:00"
    );
    assert_eq!(m4.data.text, "");
    assert_eq!(m4.data.attachments.len(), 1);
    assert_eq!(m4.data.attachments[0].name, "IMG_0001.HEIC");
    assert_eq!(m4.data.attachments[0].mime.as_deref(), Some("image/heic"));
    let group = m4.data.conversation.as_ref().unwrap();
    assert_eq!(group.name.as_deref(), Some("Porto trip"));
    assert_eq!(m4.data.metadata["chat"], "group");
    assert_eq!(m4.data.participants.len(), 3);
    // The inline reply.
    let m6 = by_guid(&records, "M6");
    assert_eq!(m6.data.reply_to.as_deref(), Some("M4"));
    assert_eq!(m6.data.metadata["edited"], "2025-04-19T09:46:00+01:00");
    assert!(m6.data.author.as_ref().unwrap().is_owner);
    // Two-byte typedstream length.
    assert_eq!(by_guid(&records, "M12").data.text, LONG);
}

#[test]
fn chat_db_file() {
    let (tmp, mut vault) = vault();
    let db = tmp.path().join("chat.db");
    build_chat_db(&db);
    let before = std::fs::read(&db).unwrap();
    let opts = options("Europe/Lisbon", &["Maya Lindqvist"]);
    let summary = run(&mut vault, &db, &opts);
    // 5 messages; 3 tapbacks, 1 group event and 1 empty row not imported; 2 reported.
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.skipped,
            summary.attachments
        ),
        ("imessage", 5, 7, 0),
        "{summary:?}"
    );
    assert_eq!(summary.errors.len(), 2, "{:?}", summary.errors);
    assert!(
        summary.errors[0]
            .location
            .ends_with("chat.db:message[ROWID=9]"),
        "{:?}",
        summary.errors
    );
    assert!(
        summary.errors[1]
            .location
            .ends_with("chat.db:message[ROWID=8]")
    );
    assert!(summary.errors[1].reason.contains("attributedBody"));
    check(&vault);
    // Read-only: the file is untouched.
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let again = run(&mut vault, &db, &opts);
    assert_eq!((again.imported, again.duplicates), (0, 5));
}

#[test]
fn messages_folder_stores_attachments_and_zip_is_refused() {
    let (tmp, mut vault) = vault();
    let folder = messages_folder(tmp.path());
    let opts = options("Europe/Lisbon", &["Maya Lindqvist"]);
    let summary = run(&mut vault, &folder, &opts);
    assert_eq!(
        (summary.format, summary.imported, summary.attachments),
        ("imessage", 5, 1)
    );
    check(&vault);
    let records = records(&vault);
    let m4 = by_guid(&records, "M4");
    let mut bytes = Vec::new();
    vault
        .read_blob(m4.data.attachments[0].blob.as_ref().unwrap(), &mut bytes)
        .unwrap();
    assert_eq!(bytes, b"HEIC-CANARY-BYTES");

    let archive = tmp.path().join("Messages.zip");
    zip_dir(&folder, &archive);
    let err = import(&mut vault, &archive, &opts, &mut |_| {}).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("not a imessage export"), "{message}");
    assert!(
        message.contains("extract it and import the chat.db file itself"),
        "{message}"
    );
}

#[test]
fn other_databases_and_files_are_not_claimed() {
    let (tmp, mut vault) = vault();
    let other = tmp.path().join("other.db");
    let conn = Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE message (id INTEGER, body TEXT);")
        .unwrap();
    drop(conn);
    assert!(import(&mut vault, &other, &options("UTC", &[]), &mut |_| {}).is_err());
    let mut forced = options("UTC", &[]);
    forced.format = Some("imessage".into());
    let err = import(&mut vault, &other, &forced, &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("no message, handle, chat"),
        "{err}"
    );
    let err = import(&mut vault, &examples().join("slack"), &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a imessage export"), "{err}");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4000), header in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("chat.db");
        let mut content = if header { b"SQLite format 3\0".to_vec() } else { Vec::new() };
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("imessage".into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_databases_and_bodies_never_panic(edits in proptest::collection::vec((100usize..1_000_000, any::<u8>()), 1..30), body in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..200) {
        let (tmp, mut vault) = vault();
        let dir = tmp.path().join("m");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("chat.db");
        build_chat_db(&path);
        {
            // Arbitrary and truncated typedstreams in attributedBody.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA synchronous = OFF;").unwrap();
            let mut real = attributed_body(LONG);
            real.truncate(real.len().saturating_sub(cut));
            conn.execute("UPDATE message SET text = NULL, attributedBody = ?1 WHERE ROWID = 1", params![body]).unwrap();
            conn.execute("UPDATE message SET attributedBody = ?1 WHERE ROWID = 12", params![real]).unwrap();
        }
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("imessage".into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
        // Then damage the file itself.
        let mut bytes = std::fs::read(&path).unwrap();
        mutate(&mut bytes, &edits);
        std::fs::write(&path, bytes).unwrap();
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }
}
