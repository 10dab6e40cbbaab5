//! Markdown notes: the sample persona's Obsidian vault as a folder (dates from front matter, file
//! names and file times) and as a zip (notes without a date reported), tags, wikilinks,
//! idempotence, detection, and arbitrary bytes.

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use hearth_connectors::import;
use proptest::prelude::*;
use support::*;

const UNDATED: [&str; 3] = ["Climbing log.md", "People/Inês.md", "People/Pimenta.md"];

/// A copy of the sample vault whose undated notes have a known modification time.
fn sample_copy(dir: &Path) -> std::path::PathBuf {
    let vault_dir = dir.join("journal");
    copy_dir(&examples().join("journal"), &vault_dir);
    // 2025-09-01T12:00:00Z
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_756_728_000);
    for name in UNDATED {
        let file = std::fs::File::options()
            .write(true)
            .open(vault_dir.join(name))
            .unwrap();
        file.set_modified(when).unwrap();
    }
    vault_dir
}

fn by_title<'a>(records: &'a [hearth_vault::Record], title: &str) -> &'a hearth_vault::Record {
    records
        .iter()
        .find(|r| r.data.metadata.get("title").map(String::as_str) == Some(title))
        .unwrap_or_else(|| panic!("no note titled {title:?}"))
}

fn check_dated_notes(records: &[hearth_vault::Record]) {
    assert!(
        records
            .iter()
            .all(|r| r.data.kind == hearth_vault::Kind::Journal)
    );
    assert!(records.iter().all(|r| {
        let a = r.data.author.as_ref().unwrap();
        a.is_owner && a.name == "Maya Lindqvist"
    }));
    // Front matter wins over the file name, with its own offset.
    let wedding = by_title(records, "Elin's wedding");
    assert_eq!(wedding.data.external_id.as_deref(), Some("2025-08-16.md"));
    assert_eq!(
        wedding.data.occurred_at.to_rfc3339(),
        "2025-08-17T09:40:00+02:00"
    );
    assert!(!wedding.data.offset_assumed);
    assert_eq!(wedding.data.metadata["date_source"], "front_matter");
    assert_eq!(wedding.data.metadata["tags"], "family, wedding, gothenburg");
    assert_eq!(wedding.data.metadata["wikilinks"], "Elin, Speech for Elin");
    assert!(
        wedding
            .data
            .text
            .starts_with("Writing this the morning after, in mamma and pappa's kitchen")
    );
    assert!(!wedding.data.text.contains("---"));
    // A daily note: the file name's date, midnight in --tz, assumed; title from the heading.
    let race = by_title(records, "Half marathon day");
    assert_eq!(
        race.data.occurred_at.to_rfc3339(),
        "2025-03-23T00:00:00+00:00"
    );
    assert!(race.data.offset_assumed);
    assert_eq!(race.data.metadata["date_source"], "file_name");
    assert_eq!(race.data.metadata["tags"], "running, milestone");
    assert_eq!(race.data.metadata["wikilinks"], "Inês");
    assert!(
        race.data
            .text
            .starts_with("# Half marathon day\n\nChip time **1:54:08**.")
    );
    assert!(race.data.text.ends_with("#running #milestone"));
    // Summer date: UTC+1.
    let move_day = records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some("2025-05-31.md"))
        .unwrap();
    assert_eq!(
        move_day.data.occurred_at.to_rfc3339(),
        "2025-05-31T00:00:00+01:00"
    );
    // Front matter without a date falls back to the file name.
    let first_day = records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some("2025-07-07.md"))
        .unwrap();
    assert_eq!(first_day.data.metadata["date_source"], "file_name");
    assert_eq!(first_day.data.metadata["tags"], "work, verdelha");
    // A bare front-matter date in a subfolder, with Dataview fields.
    let training = by_title(records, "Half marathon training");
    assert_eq!(
        training.data.occurred_at.to_rfc3339(),
        "2024-11-25T00:00:00+00:00"
    );
    assert_eq!(training.data.conversation.as_ref().unwrap().id, "Projects");
    assert_eq!(
        training.data.metadata["field.race"],
        "Meia Maratona de Lisboa"
    );
    assert_eq!(training.data.metadata["field.bib"], "11482");
    assert_eq!(training.data.metadata["tags"], "running, project");
    let counts = |source: &str| {
        records
            .iter()
            .filter(|r| r.data.metadata["date_source"] == source)
            .count()
    };
    assert_eq!(counts("front_matter"), 4);
    assert_eq!(counts("file_name"), 8);
}

#[test]
fn sample_vault_folder_dates_from_front_matter_names_and_file_times() {
    let (tmp, mut vault) = vault();
    let dir = sample_copy(tmp.path());
    let summary = run(
        &mut vault,
        &dir,
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped
        ),
        ("markdown", 15, 0, 0),
        "{summary:?}"
    );
    let records = records(&vault);
    assert_eq!(records.len(), 15);
    check_dated_notes(&records);
    // Notes with no date at all: the file's modification time, shown in --tz.
    let undated: Vec<_> = records
        .iter()
        .filter(|r| r.data.metadata["date_source"] == "mtime")
        .collect();
    assert_eq!(undated.len(), 3);
    assert!(undated.iter().all(
        |r| r.data.occurred_at.to_rfc3339() == "2025-09-01T13:00:00+01:00" && r.data.offset_assumed
    ));
    let log = by_title(&records, "Climbing log");
    assert_eq!(log.data.metadata["tags"], "climbing, outdoor, milestone");
    assert_eq!(log.data.metadata["wikilinks"], "People/Duarte");
    assert_eq!(log.data.conversation.as_ref().unwrap().id, "/");
    assert_eq!(
        log.data.conversation.as_ref().unwrap().name.as_deref(),
        Some("journal")
    );
    let ines = records
        .iter()
        .find(|r| r.data.external_id.as_deref() == Some("People/Inês.md"))
        .unwrap();
    assert_eq!(ines.data.conversation.as_ref().unwrap().id, "People");
    assert_eq!(ines.data.metadata["aliases"], "Inês Carvalho");
    assert_eq!(ines.data.metadata["tags"], "person");
    let in_folder = |id: &str| {
        records
            .iter()
            .filter(|r| r.data.conversation.as_ref().unwrap().id == id)
            .count()
    };
    assert_eq!(
        (in_folder("/"), in_folder("People"), in_folder("Projects")),
        (12, 2, 1)
    );

    let again = run(
        &mut vault,
        &dir,
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!((again.imported, again.duplicates), (0, 15));
}

#[test]
fn sample_vault_zip_reports_undated_notes() {
    let (tmp, mut vault) = vault();
    let archive = tmp.path().join("journal.zip");
    zip_dir(&examples().join("journal"), &archive);
    let opts = options("Europe/Lisbon", &["Maya Lindqvist"]);
    let summary = run(&mut vault, &archive, &opts);
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("markdown", 12, 3),
        "{summary:?}"
    );
    let mut reported: Vec<_> = summary
        .errors
        .iter()
        .map(|e| e.location.rsplit_once(':').unwrap().1.to_owned())
        .collect();
    reported.sort();
    assert_eq!(reported, UNDATED);
    assert!(summary.errors[0].reason.contains("no date"));
    let records = records(&vault);
    check_dated_notes(&records);
    let again = run(&mut vault, &archive, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.skipped),
        (0, 12, 3)
    );
    // The folder gives the same source ids: only the 3 undated notes are new.
    let tmp2 = tempfile::tempdir().unwrap();
    let dir = sample_copy(tmp2.path());
    let folder = run(&mut vault, &dir, &opts);
    assert_eq!((folder.imported, folder.duplicates), (3, 12));
}

#[test]
fn zipped_vault_folder_with_embeds_and_a_single_note() {
    let (tmp, mut vault) = vault();
    let root = tmp.path().join("wrap/My Vault");
    std::fs::create_dir_all(root.join(".obsidian")).unwrap();
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(root.join(".obsidian/app.json"), "{}").unwrap();
    std::fs::write(root.join("assets/pic one.png"), b"\x89PNG-CANARY").unwrap();
    std::fs::write(
        root.join("2025-01-05 Walk.md"),
        "---\r\ndate: 2025-01-05 16:30\r\ntags: walk, sea\r\n---\r\nBy the sea ![[pic one.png]] and ![x](assets/pic%20one.png) and ![[Other note]]\r\n",
    )
    .unwrap();
    let archive = tmp.path().join("vault.zip");
    zip_dir(&tmp.path().join("wrap"), &archive);
    let summary = run(&mut vault, &archive, &options("Europe/Lisbon", &[]));
    assert_eq!(
        (summary.format, summary.imported, summary.attachments),
        ("markdown", 1, 2)
    );
    let records = records(&vault);
    let note = &records[0].data;
    // The zip's top folder is not part of the id.
    assert_eq!(note.external_id.as_deref(), Some("2025-01-05 Walk.md"));
    assert_eq!(
        note.conversation.as_ref().unwrap().name.as_deref(),
        Some("My Vault")
    );
    assert_eq!(note.occurred_at.to_rfc3339(), "2025-01-05T16:30:00+00:00");
    assert_eq!(note.metadata["tags"], "walk, sea");
    assert_eq!(note.metadata["wikilinks"], "Other note");
    assert_eq!(note.attachments.len(), 2);
    assert_eq!(note.attachments[0].name, "pic one.png");
    let mut bytes = Vec::new();
    vault
        .read_blob(note.attachments[0].blob.as_ref().unwrap(), &mut bytes)
        .unwrap();
    assert_eq!(bytes, b"\x89PNG-CANARY");

    // One note on its own, undated: its file time.
    let single = tmp.path().join("idea.md");
    std::fs::write(&single, "# An idea\n\nwrite it down").unwrap();
    let mut forced = options("UTC", &[]);
    forced.format = Some("markdown".into());
    let summary = run(&mut vault, &single, &forced);
    assert_eq!(summary.imported, 1);
}

#[test]
fn detection_is_modest_and_leaves_other_exports_alone() {
    let (tmp, mut vault) = vault();
    // Other exports with a stray README.md are not notes.
    for (name, format) in [
        ("slack", "slack"),
        ("discord", "discord"),
        ("dayone", "dayone"),
    ] {
        let dir = tmp.path().join(name);
        copy_dir(&examples().join(name), &dir);
        std::fs::write(dir.join("README.md"), "# Notes\n\nabout this export").unwrap();
        let summary = run(&mut vault, &dir, &options("UTC", &[]));
        assert_eq!(summary.format, format);
    }
    let twitter = tmp.path().join("twitter");
    std::fs::create_dir_all(twitter.join("data")).unwrap();
    std::fs::write(
        twitter.join("data/tweets.js"),
        "window.YTD.tweets.part0 = []",
    )
    .unwrap();
    std::fs::write(twitter.join("README.md"), "# x").unwrap();
    let mut forced = options("UTC", &[]);
    forced.format = Some("markdown".into());
    // Forcing still imports the .md files; detection alone does not pick markdown.
    let input = hearth_connectors::Input::open(&twitter).unwrap();
    let markdown = hearth_connectors::formats::by_name("markdown").unwrap();
    assert_eq!(markdown.detect(&input), 0);
    let notes = hearth_connectors::Input::open(&examples().join("journal")).unwrap();
    assert!((30..=50).contains(&markdown.detect(&notes)));
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("a.txt"), "x").unwrap();
    let err = import(&mut vault, &empty, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a markdown export"), "{err}");
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), front in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let dir = tmp.path().join("notes");
        std::fs::create_dir_all(&dir).unwrap();
        let mut content = if front { b"---\ndate: ".to_vec() } else { Vec::new() };
        content.extend(bytes);
        std::fs::write(dir.join("2025-01-01.md"), &content).unwrap();
        std::fs::write(dir.join("note.md"), &content).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("markdown".into());
        let _ = import(&mut vault, &dir, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_sample_notes_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..20), lines in proptest::collection::vec("[-#:\\[\\]|!()`a-z0-9 ]{0,40}", 0..12)) {
        let (tmp, mut vault) = vault();
        let dir = tmp.path().join("notes");
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["2025-08-16.md", "Projects/Half marathon training.md"] {
            let mut bytes = std::fs::read(examples().join("journal").join(name)).unwrap();
            mutate(&mut bytes, &edits);
            std::fs::write(dir.join(name.replace('/', "-")), bytes).unwrap();
        }
        std::fs::write(dir.join("random.md"), format!("---\n{}\n---\n{}", lines.join("\n"), lines.join("\n"))).unwrap();
        let mut opts = options("Europe/Lisbon", &[]);
        opts.format = Some("markdown".into());
        let _ = import(&mut vault, &dir, &opts, &mut |_| {});
    }
}
