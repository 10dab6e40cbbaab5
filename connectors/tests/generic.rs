//! Generic JSON Lines and CSV: the sample persona's notes (the same 16 records in both files),
//! the column mapping and its defaults, bad rows, weak detection, and arbitrary bytes.

mod support;

use hearth_connectors::{Input, formats, import};
use hearth_vault::{Kind, Record};
use proptest::prelude::*;
use support::*;

fn check_sample(records: &[Record]) {
    assert_eq!(records.len(), 16);
    let count = |f: &dyn Fn(&Record) -> bool| records.iter().filter(|r| f(r)).count();
    let sms = |r: &Record| r.data.source == "sms";
    let memo = |r: &Record| r.data.source == "voice-memo";
    assert_eq!((count(&sms), count(&memo)), (12, 4));
    let by = |name: &str| {
        count(&|r: &Record| sms(r) && r.data.author.as_ref().is_some_and(|a| a.name == name))
    };
    assert_eq!((by("Tiago Ferreira"), by("Maya Lindqvist")), (8, 4));
    assert!(records.iter().all(|r| {
        let c = r.data.conversation.as_ref().unwrap();
        c.id == if sms(r) {
            "Tiago Ferreira"
        } else {
            "Voice memos"
        }
    }));
    assert!(records.iter().all(|r| r.data.kind == Kind::Message));
    assert!(records.iter().all(|r| !r.data.offset_assumed));
    assert!(records.iter().all(|r| r.data.metadata.is_empty()));
    assert!(
        records
            .iter()
            .all(|r| r.data.author.as_ref().unwrap().is_owner
                == (r.data.author.as_ref().unwrap().name == "Maya Lindqvist"))
    );
    assert_eq!(
        records[0].data.text,
        "Km 10 split just came in on the app: 53:40. Vai Maya!! I'm at the 18k corner with the sign"
    );
    assert_eq!(
        records[0].data.occurred_at.to_rfc3339(),
        "2025-03-23T11:27:41+00:00"
    );
    let wedding = find(records, "Speech done.");
    assert_eq!(
        wedding[0].data.occurred_at.to_rfc3339(),
        "2025-08-16T23:50:12+02:00"
    );
    let train = find(records, "Train to Porto");
    assert_eq!(
        train[0].data.text,
        "Train to Porto tomorrow 9:39 from Santa Apolónia, I have the tickets. Don't forget the folar for my mother"
    );
    assert_eq!(
        train[0].data.occurred_at.to_rfc3339(),
        "2025-04-17T21:10:00+01:00"
    );
    let birthday = find(records, "Parabéns meu amor 🎂 35!");
    assert_eq!(birthday.len(), 1);
}

#[test]
fn jsonl_sample_counts_and_exact_fields() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("generic/notes.jsonl"),
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("jsonl", 16, 0),
        "{summary:?}"
    );
    check_sample(&records(&vault));
}

#[test]
fn csv_sample_counts_and_exact_fields() {
    let (_tmp, mut vault) = vault();
    let summary = run(
        &mut vault,
        &examples().join("generic/notes.csv"),
        &options("Europe/Lisbon", &["Maya Lindqvist"]),
    );
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("csv", 16, 0),
        "{summary:?}"
    );
    check_sample(&records(&vault));
}

#[test]
fn both_files_hold_the_same_records_so_the_second_adds_nothing() {
    let (_tmp, mut vault) = vault();
    let opts = options("UTC", &[]);
    run(&mut vault, &examples().join("generic/notes.jsonl"), &opts);
    let csv = run(&mut vault, &examples().join("generic/notes.csv"), &opts);
    assert_eq!((csv.imported, csv.duplicates), (0, 16));
    let again = run(&mut vault, &examples().join("generic/notes.jsonl"), &opts);
    assert_eq!((again.imported, again.duplicates), (0, 16));
    assert_eq!(records(&vault).len(), 16);
}

#[test]
fn folder_and_zip_forced_to_each_format() {
    let (tmp, mut vault) = vault();
    let archive = tmp.path().join("generic.zip");
    zip_dir(&examples().join("generic"), &archive);
    for (path, format) in [
        (examples().join("generic"), "jsonl"),
        (examples().join("generic"), "csv"),
        (archive.clone(), "jsonl"),
        (archive.clone(), "csv"),
    ] {
        let (_t, mut fresh) = support::vault();
        let mut opts = options("Europe/Lisbon", &["Maya Lindqvist"]);
        opts.format = Some(format.into());
        let summary = run(&mut fresh, &path, &opts);
        assert_eq!((summary.format, summary.imported), (format, 16));
        check_sample(&records(&fresh));
    }
    // Detected, the folder goes to one of the two generic formats.
    let summary = run(&mut vault, &archive, &options("UTC", &[]));
    assert!(matches!(summary.format, "jsonl" | "csv"));
    assert_eq!(summary.imported, 16);
}

#[test]
fn defaults_metadata_and_bad_rows() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("mine.jsonl");
    std::fs::write(
        &path,
        concat!(
            "{\"text\": \"plain note\", \"timestamp\": \"2025-01-02\", \"mood\": \"good\", \"tags\": [\"a\"], \"n\": 3, \"skip\": null}\n",
            "\n",
            "{\"text\": \"no time\"}\n",
            "{\"text\": \"bad time\", \"timestamp\": \"soon\"}\n",
            "{\"timestamp\": \"2025-01-02T10:00:00Z\"}\n",
            "not json\n",
            "[1, 2]\n",
            "{\"text\": \"bad kind\", \"timestamp\": 1750000000, \"kind\": \"tweet\"}\n",
            "{\"Text\": \"epoch\", \"Timestamp\": 1750000000, \"id\": \"x1\", \"kind\": \"Journal\", \"conversation\": \"\"}\n",
        ),
    )
    .unwrap();
    let summary = run(&mut vault, &path, &options("Europe/Lisbon", &[]));
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("jsonl", 2, 6),
        "{summary:?}"
    );
    let issues: Vec<(String, String)> = summary
        .errors
        .iter()
        .map(|e| {
            (
                e.location.rsplit(':').next().unwrap().to_owned(),
                e.reason.clone(),
            )
        })
        .collect();
    assert_eq!(issues[0], ("3".to_owned(), "no timestamp".to_owned()));
    assert_eq!(
        issues[1],
        ("4".to_owned(), "unreadable timestamp \"soon\"".to_owned())
    );
    assert_eq!(issues[2], ("5".to_owned(), "no text".to_owned()));
    assert!(issues[3].0 == "6" && issues[3].1.starts_with("not JSON"));
    assert_eq!(issues[4], ("7".to_owned(), "not a JSON object".to_owned()));
    assert!(issues[5].0 == "8" && issues[5].1.contains("unknown record kind"));
    let records = records(&vault);
    let note = &records[0].data;
    assert_eq!(
        (note.source.as_str(), note.kind, note.text.as_str()),
        ("jsonl", Kind::Note, "plain note")
    );
    assert_eq!(note.occurred_at.to_rfc3339(), "2025-01-02T00:00:00+00:00");
    assert!(note.offset_assumed);
    assert_eq!(
        note.metadata.iter().collect::<Vec<_>>(),
        [
            (&"mood".to_owned(), &"good".to_owned()),
            (&"n".to_owned(), &"3".to_owned()),
            (&"tags".to_owned(), &"[\"a\"]".to_owned()),
        ]
    );
    let journal = &records[1].data;
    assert_eq!(journal.kind, Kind::Journal);
    assert_eq!(journal.external_id.as_deref(), Some("x1"));
    assert_eq!(
        journal.occurred_at.to_rfc3339(),
        "2025-06-15T16:06:40+01:00"
    );
    assert!(journal.conversation.is_none());

    // CSV: a row with more cells than the header, an empty text, and extra columns.
    let csv = tmp.path().join("log.csv");
    std::fs::write(
        &csv,
        "timestamp,text,place\n2025-02-01 09:30,\"coffee, then work\",Fábrica Lenta\n2025-02-01 10:00,,\n2025-02-01 11:00,x,y,z\n",
    )
    .unwrap();
    let summary = run(&mut vault, &csv, &options("Europe/Lisbon", &[]));
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("csv", 1, 2),
        "{summary:?}"
    );
    assert!(summary.errors[0].location.ends_with("log.csv:3"));
    assert_eq!(summary.errors[0].reason, "no text");
    assert!(summary.errors[1].location.ends_with("log.csv:4"));
    let all = support::records(&vault);
    let coffee = find(&all, "coffee");
    assert_eq!(coffee[0].data.source, "csv");
    assert_eq!(
        coffee[0].data.metadata.get("place").map(String::as_str),
        Some("Fábrica Lenta")
    );
    assert_eq!(
        coffee[0].data.occurred_at.to_rfc3339(),
        "2025-02-01T09:30:00+00:00"
    );
}

#[test]
fn generic_detection_is_weak_and_needs_the_columns() {
    let (tmp, mut vault) = vault();
    let other = tmp.path().join("table.csv");
    std::fs::write(&other, "name,value\na,1\n").unwrap();
    let err = import(&mut vault, &other, &options("UTC", &[]), &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("not an export Hearth knows"),
        "{err}"
    );
    let mut forced = options("UTC", &[]);
    forced.format = Some("csv".into());
    let err = import(&mut vault, &other, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a csv export"), "{err}");
    forced.format = Some("jsonl".into());
    let err = import(&mut vault, &other, &forced, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a jsonl export"), "{err}");
    // The Reddit export's CSVs are Reddit's, not generic.
    let summary = run(&mut vault, &examples().join("reddit"), &options("UTC", &[]));
    assert_eq!(summary.format, "reddit");
}

/// Every file and folder of the sample exports, except the root.
fn sample_paths(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sample_paths(&path, out);
        }
        out.push(path);
    }
}

#[test]
fn mail_reddit_and_generic_formats_claim_no_other_sample() {
    let root = examples().canonicalize().unwrap();
    let mut paths = Vec::new();
    sample_paths(&root, &mut paths);
    let mine = [
        ("mbox", &["mail", "mail/takeout.mbox"][..]),
        ("eml", &["mail", "mail/single.eml"][..]),
        (
            "reddit",
            &[
                "reddit",
                "reddit/posts.csv",
                "reddit/comments.csv",
                "reddit/messages.csv",
            ][..],
        ),
        ("jsonl", &["generic", "generic/notes.jsonl"][..]),
        ("csv", &["generic", "generic/notes.csv"][..]),
    ];
    for path in &paths {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let input = Input::open(path).unwrap();
        for (name, own) in mine {
            let score = formats::by_name(name).unwrap().detect(&input);
            assert_eq!(
                score > 0,
                own.contains(&relative.as_str()),
                "{name} scores {score} on {relative}"
            );
        }
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), csv in any::<bool>(), prefix in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join(if csv { "x.csv" } else { "x.jsonl" });
        let mut content = match (csv, prefix) {
            (true, true) => b"text,timestamp,author,kind,id\n".to_vec(),
            (false, true) => b"{\"text\":\"a\",\"timestamp\":1}\n".to_vec(),
            _ => Vec::new(),
        };
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some(if csv { "csv" } else { "jsonl" }.into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_real_files_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..30), csv in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let name = if csv { "notes.csv" } else { "notes.jsonl" };
        let data = edit(&std::fs::read(examples().join("generic").join(name)).unwrap(), &edits);
        let path = tmp.path().join(name);
        std::fs::write(&path, &data).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some(if csv { "csv" } else { "jsonl" }.into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn random_timestamps_never_panic(ts in "[-0-9.eE:T +Z]{0,40}") {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("t.csv");
        std::fs::write(&path, format!("text,timestamp\nhi,\"{ts}\"\n")).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some("csv".into());
        let imported = import(&mut vault, &path, &opts, &mut |_| {});
        prop_assert!(imported.is_ok());
    }
}
