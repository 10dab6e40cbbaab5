//! Mail: the sample persona's Gmail Takeout mbox and single `.eml`, their traps (RFC 2047
//! headers, ISO-8859-1 bodies, `>From ` escaping, HTML-only mail, a base64 `.ics`), threads,
//! idempotence, folders and zips, bad messages, and arbitrary bytes.

mod support;

use hearth_connectors::{ConnectorError, import};
use hearth_vault::{Kind, Record};
use proptest::prelude::*;
use support::*;

const MAYA: &str = "maya.lindqvist@gmail.com";

fn by_subject<'a>(records: &'a [Record], subject: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.data.metadata.get("subject").map(String::as_str) == Some(subject))
        .unwrap_or_else(|| panic!("no message with subject {subject:?}"))
}

fn handle(r: &Record) -> &str {
    r.data
        .author
        .as_ref()
        .and_then(|a| a.handle.as_deref())
        .unwrap_or("")
}

#[test]
fn takeout_mbox_counts_authors_times_and_decoding() {
    let (_tmp, mut vault) = vault();
    let path = examples().join("mail/takeout.mbox");
    let summary = run(&mut vault, &path, &options("Europe/Lisbon", &[MAYA]));
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.duplicates,
            summary.skipped,
            summary.attachments
        ),
        ("mbox", 12, 0, 0, 1),
        "{summary:?}"
    );
    let records = records(&vault);
    assert_eq!(records.len(), 12);
    assert!(records.iter().all(|r| r.data.kind == Kind::Email));
    assert!(records.iter().all(|r| r.data.source == "mail"));
    assert!(records.iter().all(|r| !r.data.offset_assumed));
    // 11 received, 1 sent (by the owner).
    let owned = records
        .iter()
        .filter(|r| r.data.author.as_ref().is_some_and(|a| a.is_owner))
        .count();
    assert_eq!(owned, 1);
    assert_eq!(
        records
            .iter()
            .filter(|r| handle(r) == "elin.lindqvist@gmail.com")
            .count(),
        2
    );

    // The first message: HTML only, QP, a Q-encoded UTF-8 subject, Date +0000.
    let first = &records[0];
    assert_eq!(
        first.data.occurred_at.to_rfc3339(),
        "2025-03-19T10:02:41+00:00"
    );
    assert_eq!(
        first.data.metadata.get("subject").map(String::as_str),
        Some("Dorsal 11482 – levantamento do kit")
    );
    assert_eq!(
        first.data.metadata.get("body").map(String::as_str),
        Some("html")
    );
    assert_eq!(
        first.data.metadata.get("labels").map(String::as_str),
        Some("Inbox,Category Updates,Opened")
    );
    assert_eq!(
        first.data.text,
        [
            "Dorsal 11482 – levantamento do kit",
            "Meia Maratona de Lisboa 2025",
            "Olá Maya,",
            "A tua inscrição está confirmada. O teu dorsal é o 11482.",
            "Levantamento do kit: 20 a 22 de março, FIL – Parque das Nações, das 10h00 às 20h00. Traz o documento de identificação.",
            "Partida: domingo, 23 de março, às 10h30. Caixa de partida: C (1:50–2:00).",
            "Boa corrida! / Have a great race!",
            "Recebeste este e-mail porque te inscreveste na prova. Gerir preferências",
        ]
        .join("\n\n")
    );
    assert!(!first.data.text.contains('<'));
    assert_eq!(
        first.data.author.as_ref().map(|a| a.name.as_str()),
        Some("Meia Maratona de Lisboa")
    );
    assert_eq!(
        first.data.external_id.as_deref(),
        Some("20250319100241.11482.kit@inscricoes.meiamaratona-lisboa.pt")
    );

    // Raw 8-bit ISO-8859-1 body (the file is not valid UTF-8), and a folded two-word subject.
    let lease = by_subject(
        &records,
        "Contrato de arrendamento – Rua de São Bento 212, 3.º Esq.",
    );
    assert_eq!(
        lease.data.occurred_at.to_rfc3339(),
        "2025-05-13T18:22:05+01:00"
    );
    assert!(lease.data.text.contains(
        "Conforme combinado por telefone, confirmo o arrendamento do apartamento na Rua de São Bento 212, 3.º Esq., a partir de 1 de junho de 2025."
    ));
    assert!(
        lease
            .data
            .text
            .contains("- Caução: dois meses, já recebida. Obrigado.")
    );
    assert!(!lease.data.text.contains('\u{FFFD}'));
    assert_eq!(lease.data.participants.len(), 3);

    // ISO-8859-1 quoted-printable body and a B-encoded ISO-8859-1 subject.
    let karin = by_subject(&records, "Julen - när landar ni?");
    assert!(
        karin
            .data
            .text
            .starts_with("Julen - när landar ni?\n\nHej älskling!\n\nNu börjar det likna jul här, första snön kom i tisdags. När landar ni den 20:e?"),
        "{:?}",
        karin.data.text
    );
    assert!(
        karin
            .data
            .text
            .contains("Äter hon fortfarande specialfodret?")
    );
    assert_eq!(
        karin.data.occurred_at.to_rfc3339(),
        "2025-11-28T19:05:33+01:00"
    );

    // A Q-encoded display name, and a base64 body in multipart/alternative (plain preferred).
    let offer = by_subject(&records, "Your offer from Verdelha Health");
    assert_eq!(
        offer.data.author.as_ref().map(|a| a.name.as_str()),
        Some("Marta Gonçalves")
    );
    assert!(offer.data.text.starts_with(
        "Your offer from Verdelha Health\n\nHi Maya,\n\nOn behalf of the whole team, I'm delighted"
    ));
    assert!(
        offer
            .data
            .text
            .contains("Reporting to: João Lobo, Head of Design")
    );
    assert!(!offer.data.metadata.contains_key("body"));

    // `>From ` escaping is undone in the 8bit plain part.
    let wedding = by_subject(&records, "Bröllopet 16 augusti – praktisk info");
    assert!(
        wedding.data.text.contains(
            "Tiago, the short version:\nFrom Saltholmen the ferry takes about 30 minutes."
        ),
        "{:?}",
        wedding.data.text
    );
    assert!(!wedding.data.text.contains(">From"));
    assert_eq!(
        wedding.data.occurred_at.to_rfc3339(),
        "2025-06-20T22:14:02+02:00"
    );

    // The B-encoded UTF-8 sender name and the stored .ics attachment.
    let vet = records
        .iter()
        .find(|r| handle(r) == "marcacoes@vetestrela.pt")
        .expect("vet mail");
    assert_eq!(
        vet.data.author.as_ref().map(|a| a.name.as_str()),
        Some("Clínica Veterinária da Estrela")
    );
    assert_eq!(
        vet.data.metadata.get("subject").map(String::as_str),
        Some("Consulta de revisão – Pimenta (4 nov, 9h30)")
    );
    assert!(
        vet.data
            .text
            .contains("Motivo: revisão urinária (cristais de estruvite / cistite)")
    );
    assert_eq!(vet.data.attachments.len(), 1);
    let ics = &vet.data.attachments[0];
    assert_eq!(ics.name, "consulta-pimenta.ics");
    assert_eq!(ics.mime.as_deref(), Some("text/calendar"));
    let mut bytes = Vec::new();
    vault
        .read_blob(ics.blob.as_ref().expect("stored"), &mut bytes)
        .unwrap();
    assert_eq!(ics.size, bytes.len() as u64);
    let calendar = String::from_utf8(bytes).unwrap();
    assert!(calendar.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(calendar.contains("SUMMARY:Consulta de revisão – Pimenta (Dra. Sara Antunes)"));
    assert!(calendar.ends_with("END:VCALENDAR\r\n"));

    // A subject with two folded encoded words, one of them an emoji.
    let gym = records
        .iter()
        .find(|r| handle(r) == "ola@blocoalcantara.pt")
        .unwrap();
    assert_eq!(
        gym.data.metadata.get("subject").map(String::as_str),
        Some("Bloco Alcântara: teto roxo até 28/2 + Sintra meetup 🧗")
    );
}

#[test]
fn the_three_message_thread_shares_its_gmail_thread_id() {
    let (_tmp, mut vault) = vault();
    run(
        &mut vault,
        &examples().join("mail/takeout.mbox"),
        &options("UTC", &[MAYA]),
    );
    let records = records(&vault);
    let thread: Vec<&Record> = records
        .iter()
        .filter(|r| r.data.conversation.as_ref().unwrap().id == "1700001750450442006")
        .collect();
    assert_eq!(thread.len(), 3);
    assert!(thread.iter().all(|r| {
        r.data.conversation.as_ref().unwrap().name.as_deref()
            == Some("Bröllopet 16 augusti – praktisk info")
    }));
    assert_eq!(thread[0].data.reply_to, None);
    assert_eq!(
        thread[1].data.reply_to.as_deref(),
        Some("CASELQO546XDFAPXGNTYVQ6BCFECX5H5HN@mail.gmail.com")
    );
    assert_eq!(
        thread[2].data.reply_to.as_deref(),
        Some("CAGDUM6XGYW6TC4KKJKJTYEPIUWZ5FI2HN@mail.gmail.com")
    );
    assert!(thread[1].data.author.as_ref().unwrap().is_owner);
    assert_eq!(
        thread[1].data.metadata.get("labels").map(String::as_str),
        Some("Sent,Opened")
    );
    assert!(thread[2].data.text.starts_with(
        "Re: Bröllopet 16 augusti – praktisk info\n\nKostym ja, slips valfritt, linne absolut inte 😂"
    ));
    // Every other message is its own thread.
    let others: std::collections::BTreeSet<_> = records
        .iter()
        .map(|r| r.data.conversation.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(others.len(), 10);
}

#[test]
fn without_gmail_thread_ids_references_make_the_thread() {
    let (tmp, mut vault) = vault();
    let text = std::fs::read(examples().join("mail/takeout.mbox")).unwrap();
    let stripped: Vec<u8> = text
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !line.starts_with(b"X-GM-THRID:"))
        .flatten()
        .copied()
        .collect();
    let path = tmp.path().join("Inbox");
    std::fs::write(&path, stripped).unwrap();
    let summary = run(&mut vault, &path, &options("UTC", &[]));
    assert_eq!((summary.format, summary.imported), ("mbox", 12));
    let records = records(&vault);
    let thread = records
        .iter()
        .filter(|r| {
            r.data.conversation.as_ref().unwrap().id
                == "CASELQO546XDFAPXGNTYVQ6BCFECX5H5HN@mail.gmail.com"
        })
        .count();
    assert_eq!(thread, 3);
}

#[test]
fn reimport_adds_nothing_and_stores_no_second_attachment() {
    let (_tmp, mut vault) = vault();
    let path = examples().join("mail/takeout.mbox");
    let opts = options("UTC", &[]);
    run(&mut vault, &path, &opts);
    let again = run(&mut vault, &path, &opts);
    assert_eq!(
        (again.imported, again.duplicates, again.attachments),
        (0, 12, 0)
    );
    assert_eq!(records(&vault).len(), 12);
    assert_eq!(vault.status().unwrap().blobs.0, 1);
}

/// `eml` as Gmail's Takeout writes it into an mbox: a separator line, Gmail's own headers
/// first (its thread id files the message in another conversation than the `.eml` would), and
/// `From ` body lines escaped.
fn as_takeout_mbox(eml: &str) -> String {
    let mut mbox = String::from(
        "From 1700001742378561001@xxx Fri Jun 27 16:31:02 +0000 2025\n\
         X-GM-THRID: 1836052184561003117\n\
         X-Gmail-Labels: Sent,Opened\n",
    );
    for line in eml.lines() {
        if line.starts_with("From ") || line.starts_with(">From ") {
            mbox.push('>');
        }
        mbox.push_str(line);
        mbox.push('\n');
    }
    mbox.push('\n');
    mbox
}

/// Imports `first` then `second` into one vault; returns both summaries and the records.
fn import_both(
    first: &std::path::Path,
    second: &std::path::Path,
) -> (
    hearth_connectors::ImportSummary,
    hearth_connectors::ImportSummary,
    Vec<Record>,
) {
    let (_tmp, mut vault) = vault();
    let a = run(&mut vault, first, &options("UTC", &[]));
    let b = run(&mut vault, second, &options("UTC", &[]));
    (a, b, records(&vault))
}

#[test]
fn the_same_message_from_an_eml_and_a_gmail_mbox_is_stored_once() {
    let tmp = tempfile::tempdir().unwrap();
    // The sample .eml has CRLF line ends; Gmail's mbox has LF.
    let eml = std::fs::read_to_string(examples().join("mail/single.eml"))
        .unwrap()
        .replace("\r\n", "\n");
    let crlf = |text: &str| text.replace('\n', "\r\n");
    // The .eml as another client saved it: the Message-ID's domain in capitals and folded.
    let resaved = eml.replace(
        "Message-ID: <CANNUEHAVHAZYSRNQMGGPCM4BZRF636EG2@mail.gmail.com>",
        "Message-ID:\n <CANNUEHAVHAZYSRNQMGGPCM4BZRF636EG2@MAIL.GMAIL.COM >",
    );
    assert_ne!(resaved, eml);
    let eml_path = tmp.path().join("Obrigada.eml");
    std::fs::write(&eml_path, crlf(&resaved)).unwrap();
    let mbox_path = tmp.path().join("All mail Including Spam and Trash.mbox");
    std::fs::write(&mbox_path, as_takeout_mbox(&eml)).unwrap();

    for (first, second, formats) in [
        (&eml_path, &mbox_path, ("eml", "mbox")),
        (&mbox_path, &eml_path, ("mbox", "eml")),
    ] {
        let (a, b, records) = import_both(first, second);
        assert_eq!((a.format, a.imported, a.duplicates), (formats.0, 1, 0));
        assert_eq!((b.format, b.imported, b.duplicates), (formats.1, 0, 1));
        assert_eq!(records.len(), 1);
        let record = &records[0].data;
        assert_eq!(
            record.external_id.as_deref(),
            Some("CANNUEHAVHAZYSRNQMGGPCM4BZRF636EG2@mail.gmail.com")
        );
        assert_eq!(
            record.metadata.get("format").map(String::as_str),
            Some(formats.0)
        );
        assert!(
            record
                .text
                .contains("\nFrom Monday 7 July I'll be at Verdelha Health.")
        );
    }

    // Without a Message-ID, the fallback hash of date, sender, subject and text still matches.
    let bare = eml.replace(
        "Message-ID: <CANNUEHAVHAZYSRNQMGGPCM4BZRF636EG2@mail.gmail.com>\n",
        "",
    );
    assert_ne!(bare, eml);
    std::fs::write(&eml_path, crlf(&bare)).unwrap();
    std::fs::write(&mbox_path, as_takeout_mbox(&bare)).unwrap();
    let (a, b, records) = import_both(&eml_path, &mbox_path);
    assert_eq!((a.imported, b.imported, b.duplicates), (1, 0, 1));
    assert_eq!(records.len(), 1);
    assert!(
        records[0]
            .data
            .external_id
            .as_deref()
            .unwrap()
            .starts_with("hash:")
    );

    // A different message without a Message-ID (same date, sender and subject, another text)
    // stays a record of its own.
    let other = bare.replace("I'm taking the cactus.", "I'm leaving the cactus.");
    std::fs::write(&mbox_path, as_takeout_mbox(&other)).unwrap();
    let (_, b, records) = import_both(&eml_path, &mbox_path);
    assert_eq!((b.imported, b.duplicates), (1, 0));
    assert_eq!(records.len(), 2);
}

#[test]
fn mail_folder_and_zip_as_downloaded() {
    let (tmp, mut vault) = vault();
    // The folder holds the mbox and the .eml: the mbox format wins and reads the mailbox.
    let summary = run(&mut vault, &examples().join("mail"), &options("UTC", &[]));
    assert_eq!((summary.format, summary.imported), ("mbox", 12));
    let archive = tmp.path().join("takeout-20260401T000000Z-001.zip");
    let dir = tmp.path().join("Takeout");
    std::fs::create_dir_all(dir.join("Mail")).unwrap();
    std::fs::copy(
        examples().join("mail/takeout.mbox"),
        dir.join("Mail/All mail Including Spam and Trash.mbox"),
    )
    .unwrap();
    std::fs::write(dir.join("archive_browser.html"), "<html></html>").unwrap();
    zip_dir(&dir, &archive);
    let (_tmp2, mut fresh) = support::vault();
    let summary = run(&mut fresh, &archive, &options("UTC", &[]));
    assert_eq!(
        (summary.format, summary.imported, summary.attachments),
        ("mbox", 12, 1),
        "{summary:?}"
    );
    // Forced to eml, the same folder yields the single message.
    let mut eml = options("UTC", &[]);
    eml.format = Some("eml".into());
    let (_tmp3, mut third) = support::vault();
    let summary = run(&mut third, &examples().join("mail"), &eml);
    assert_eq!(summary.imported, 1);
}

fn single_text() -> String {
    [
        "Obrigada & goodbye 👋",
        "",
        "Olá a todos,",
        "",
        "Today is my last day at Ondina. Three and a half years, four redesigns of checkout, one design system and more pastéis de nata than I can count.",
        "",
        "Thank you Priya for the roadmaps and the patience, Rui and Tomás for building everything I drew (and telling me when it was impossible), and Sofia, I'm sorry I'm leaving just as you arrived.",
        "",
        "From Monday 7 July I'll be at Verdelha Health. Keep in touch: maya.lindqvist@gmail.com, and the Friday climbing at Bloco Alcântara is still on.",
        "",
        "I'm taking the cactus.",
        "",
        "Obrigada, tack, thank you,",
        "Maya",
    ]
    .join("\n")
}

#[test]
fn single_eml_exact_text_people_and_time() {
    let (_tmp, mut vault) = vault();
    let path = examples().join("mail/single.eml");
    let summary = run(&mut vault, &path, &options("Europe/Lisbon", &[MAYA]));
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("eml", 1, 0)
    );
    let records = records(&vault);
    let r = &records[0].data;
    assert_eq!(r.text, single_text());
    assert_eq!(r.occurred_at.to_rfc3339(), "2025-06-27T17:31:02+01:00");
    assert!(!r.offset_assumed);
    assert_eq!(r.kind, Kind::Email);
    let author = r.author.as_ref().unwrap();
    assert_eq!(
        (
            author.name.as_str(),
            author.handle.as_deref(),
            author.is_owner
        ),
        ("Maya Lindqvist", Some(MAYA), true)
    );
    let people: Vec<(&str, Option<&str>)> = r
        .participants
        .iter()
        .map(|p| (p.name.as_str(), p.handle.as_deref()))
        .collect();
    assert_eq!(
        people,
        [
            ("Maya Lindqvist", Some(MAYA)),
            ("Ondina Team", Some("team@ondina.travel")),
            ("Priya Raman", Some("priya.raman@ondina.travel")),
        ]
    );
    assert_eq!(
        r.external_id.as_deref(),
        Some("CANNUEHAVHAZYSRNQMGGPCM4BZRF636EG2@mail.gmail.com")
    );
    assert_eq!(
        r.conversation.as_ref().unwrap().id,
        "CANNUEHAVHAZYSRNQMGGPCM4BZRF636EG2@mail.gmail.com"
    );
    let again = run(&mut vault, &path, &options("Europe/Lisbon", &[MAYA]));
    assert_eq!((again.imported, again.duplicates), (0, 1));
}

#[test]
fn eml_folder_and_zip_with_a_bad_message_and_an_attachment() {
    let (tmp, mut vault) = vault();
    let dir = tmp.path().join("saved");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(examples().join("mail/single.eml"), dir.join("farewell.eml")).unwrap();
    std::fs::write(
        dir.join("no-date.eml"),
        "From: a@b.c\r\nSubject: when?\r\n\r\nno date here\r\n",
    )
    .unwrap();
    let photo: Vec<u8> = [
        "From: =?iso-8859-1?q?Jos=E9?= <jose@example.org>\n".as_bytes(),
        b"To: maya.lindqvist@gmail.com\n",
        b"Subject: photo\n",
        b"Date: 1 Jul 2025 08:00 +0200\n",
        b"Content-Type: multipart/mixed; boundary=XX\n",
        b"\n",
        b"preamble\n",
        b"--XX\n",
        b"\n",
        b"Caf\xe9 at 9?\n",
        b"--XX\n",
        b"Content-Type: image/png\n",
        b"Content-Disposition: attachment; filename*=UTF-8''caf%C3%A9.png\n",
        b"Content-Transfer-Encoding: base64\n",
        b"\n",
        b"iVBORw0KGgo=\n",
        b"--XX--\n",
        b"epilogue\n",
    ]
    .concat();
    std::fs::write(dir.join("photo.eml"), photo).unwrap();
    std::fs::write(dir.join("readme.txt"), "not mail").unwrap();
    let summary = run(&mut vault, &dir, &options("UTC", &[]));
    assert_eq!(
        (
            summary.format,
            summary.imported,
            summary.skipped,
            summary.attachments
        ),
        ("eml", 2, 1, 1),
        "{summary:?}"
    );
    assert!(
        summary.errors[0].location.ends_with("no-date.eml:1"),
        "{:?}",
        summary.errors
    );
    assert_eq!(summary.errors[0].reason, "no Date header");
    let records = records(&vault);
    let photo = &records[1].data;
    assert_eq!(photo.occurred_at.to_rfc3339(), "2025-07-01T08:00:00+02:00");
    assert_eq!(photo.text, "photo\n\nCafé at 9?");
    assert_eq!(photo.author.as_ref().unwrap().name, "José");
    assert_eq!(photo.attachments[0].name, "café.png");
    let mut png = Vec::new();
    vault
        .read_blob(photo.attachments[0].blob.as_ref().unwrap(), &mut png)
        .unwrap();
    assert_eq!(png, b"\x89PNG\r\n\x1a\n");
    // The same folder as a zip.
    let archive = tmp.path().join("saved.zip");
    zip_dir(&dir, &archive);
    let (_tmp2, mut fresh) = support::vault();
    let summary = run(&mut fresh, &archive, &options("UTC", &[]));
    assert_eq!(
        (summary.format, summary.imported, summary.skipped),
        ("eml", 2, 1)
    );
}

#[test]
fn a_bad_message_is_reported_at_its_line_and_the_rest_is_kept() {
    let (tmp, mut vault) = vault();
    let mut text = std::fs::read(examples().join("mail/takeout.mbox")).unwrap();
    // Text before the first separator, a message that is not mail, and one whose Date is
    // unreadable (it falls back to the separator's time).
    let mut damaged = b"stray\n\n".to_vec();
    damaged.extend_from_slice(&text);
    damaged.extend_from_slice(b"\nFrom junk@x Thu Apr 30 10:00:00 2026\nthis is not a mail\n\n");
    damaged.extend_from_slice(
        b"From 1@xxx Fri May  1 10:00:00 +0000 2026\nFrom: a@b.c\nDate: someday\nSubject: late\n\nbody\n",
    );
    text.clear();
    let path = tmp.path().join("damaged.mbox");
    std::fs::write(&path, &damaged).unwrap();
    let summary = run(&mut vault, &path, &options("UTC", &[]));
    assert_eq!((summary.imported, summary.skipped), (13, 2), "{summary:?}");
    let lines = 2 + 485 + 2;
    assert!(
        summary.errors[0]
            .location
            .ends_with(&format!("damaged.mbox:{lines}")),
        "{:?}",
        summary.errors
    );
    assert!(summary.errors[0].reason.contains("no mail headers"));
    assert!(summary.errors[1].location.ends_with("damaged.mbox:1"));
    let records = records(&vault);
    let late = records.last().unwrap();
    assert_eq!(late.data.text, "late\n\nbody");
    assert_eq!(
        late.data.occurred_at.to_rfc3339(),
        "2026-05-01T10:00:00+00:00"
    );
    assert_eq!(
        late.data.metadata.get("date").map(String::as_str),
        Some("mbox separator")
    );
}

#[test]
fn not_mail_is_refused_clearly() {
    let (tmp, mut vault) = vault();
    let path = tmp.path().join("notes.mbox");
    std::fs::write(&path, "just some text\nFrom here on nothing\n").unwrap();
    let err = import(&mut vault, &path, &options("UTC", &[]), &mut |_| {}).unwrap_err();
    assert!(matches!(err, ConnectorError::Unrecognised(_)), "{err}");
    for format in ["mbox", "eml"] {
        let mut forced = options("UTC", &[]);
        forced.format = Some(format.into());
        let err = import(&mut vault, &path, &forced, &mut |_| {}).unwrap_err();
        assert!(
            err.to_string().contains(&format!("not a {format} export")),
            "{err}"
        );
    }
    assert!(records(&vault).is_empty());
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000), prefix in any::<bool>(), format in prop_oneof![Just("mbox"), Just("eml")]) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("x.eml");
        let mut content = if prefix {
            b"From a@b Wed Mar 19 10:02:41 +0000 2025\nFrom: a@b\nDate: Wed, 19 Mar 2025 10:02:41 +0000\nContent-Type: multipart/mixed; boundary=b\n\n--b\n".to_vec()
        } else {
            Vec::new()
        };
        content.extend(bytes);
        std::fs::write(&path, &content).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some(format.into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn mutated_real_mail_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..40), mbox in any::<bool>()) {
        let (tmp, mut vault) = vault();
        let (name, base) = if mbox { ("m.mbox", "mail/takeout.mbox") } else { ("m.eml", "mail/single.eml") };
        let data = edit(&std::fs::read(examples().join(base)).unwrap(), &edits);
        let path = tmp.path().join(name);
        std::fs::write(&path, &data).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some(if mbox { "mbox" } else { "eml" }.into());
        let _ = import(&mut vault, &path, &opts, &mut |_| {});
    }

    #[test]
    fn random_mime_structure_never_panics(lines in proptest::collection::vec(prop_oneof![
        Just("--b".to_owned()), Just("--b--".to_owned()), Just("".to_owned()),
        Just("Content-Type: multipart/alternative; boundary=b".to_owned()),
        Just("Content-Type: text/html; charset=iso-8859-1".to_owned()),
        Just("Content-Transfer-Encoding: base64".to_owned()),
        Just("Content-Transfer-Encoding: quoted-printable".to_owned()),
        Just("Content-Disposition: attachment; filename*0*=x''%; filename*1=a".to_owned()),
        "[ -~]{0,40}",
    ], 0..60)) {
        let (tmp, mut vault) = vault();
        let path = tmp.path().join("m.eml");
        let mut text = "From: a@b\nDate: Wed, 19 Mar 2025 10:02:41 +0000\nSubject: =?utf-8?q?x=?= =?utf-8?b?==?=\nContent-Type: multipart/mixed; boundary=b\n\n".to_owned();
        text.push_str(&lines.join("\n"));
        std::fs::write(&path, text).unwrap();
        let mut opts = options("UTC", &[]);
        opts.format = Some("eml".into());
        let summary = import(&mut vault, &path, &opts, &mut |_| {});
        prop_assert!(summary.is_ok());
    }
}
