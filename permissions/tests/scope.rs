//! Positive cases: each restriction of a grant provably reaches the Scope, and the Scope admits
//! only data within it.

mod common;

use chrono::Duration;
use common::*;
use hearth_permissions::{
    DataItem, Field, GrantSpec, Narrowing, Request, RequestFilters, Restrictions, Right, attenuate,
    explain, read,
};

#[test]
fn every_restriction_of_the_grant_is_in_the_scope() {
    let mut node = Node::new();
    let issued = node.issue(&typical_spec());
    let scope = node
        .verify(issued.token.expose_secret(), &search())
        .unwrap();
    assert_eq!(scope.grant_id(), issued.grant.id);
    assert_eq!(scope.app(), "notes");
    assert_eq!(scope.right(), &Right::MemoriesSearch);
    assert_eq!(scope.sources(), Some(&set(&["telegram", "whatsapp"])));
    assert_eq!(scope.since(), Some(at("2024-01-01T00:00:00Z")));
    assert_eq!(scope.until(), Some(at("2025-01-01T00:00:00Z")));
    assert_eq!(scope.exclude_participants(), &set(&["Bob"]));
    assert_eq!(scope.redacted(), &[Field::Author].into());
    assert!(!scope.shows(Field::Author));
    assert!(scope.shows(Field::Participants));
    assert_eq!(scope.max_results(), Some(20));
    assert_eq!(scope.participants(), None);
    assert_eq!(scope.conversations(), None);
    assert!(!scope.proven());
}

#[test]
fn a_request_may_narrow_within_the_grant_and_gets_exactly_that() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let request = Request {
        filters: RequestFilters {
            sources: Some(set(&["whatsapp"])),
            since: Some(at("2024-03-01T10:30:00.250Z")),
            until: Some(at("2024-04-01T00:00:00Z")),
            participants: Some(set(&["Inês"])),
            exclude_participants: set(&["Carl"]),
            exclude_conversations: set(&["family"]),
            fields: Some([Field::Conversation].into()),
            max_results: Some(5),
            ..Default::default()
        },
        ..search()
    };
    let scope = node.verify(token.expose_secret(), &request).unwrap();
    assert_eq!(scope.sources(), Some(&set(&["whatsapp"])));
    assert_eq!(scope.since(), Some(at("2024-03-01T10:30:00.250Z")));
    assert_eq!(scope.until(), Some(at("2024-04-01T00:00:00Z")));
    assert_eq!(scope.participants(), Some(&set(&["Inês"])));
    // exclusions are the union of the grant's and the request's
    assert_eq!(scope.exclude_participants(), &set(&["Bob", "Carl"]));
    assert_eq!(scope.exclude_conversations(), &set(&["family"]));
    assert_eq!(
        scope.redacted(),
        &[Field::Author, Field::Participants, Field::Attachments].into()
    );
    assert_eq!(scope.max_results(), Some(5));
}

#[test]
fn the_scope_admits_only_data_within_the_grant() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let scope = node.verify(token.expose_secret(), &search()).unwrap();
    let in_range = at("2024-05-05T10:00:00Z");
    let item = |source, at, author, participants| DataItem {
        source,
        at,
        author,
        participants,
        conversation: Some("c1"),
    };
    let cases: [(DataItem<'_>, bool); 8] = [
        (item("whatsapp", in_range, Some("Ana"), &[]), true),
        (item("telegram", in_range, None, &["Ana"]), true),
        (item("signal", in_range, Some("Ana"), &[]), false),
        (
            item("whatsapp", at("2023-12-31T23:59:59Z"), None, &[]),
            false,
        ),
        (
            item("whatsapp", at("2024-01-01T00:00:00Z"), None, &[]),
            true,
        ),
        (
            item("whatsapp", at("2025-01-01T00:00:00Z"), None, &[]),
            false,
        ),
        (item("whatsapp", in_range, Some("Bob"), &[]), false),
        (item("whatsapp", in_range, Some("Ana"), &["Bob"]), false),
    ];
    for (item, expected) in cases {
        assert_eq!(scope.admits(&item), expected, "{item:?}");
    }
}

#[test]
fn a_grant_without_restrictions_scopes_to_everything_and_requests_choose() {
    let mut node = Node::new();
    let token = node
        .issue(&GrantSpec::new("notes", [Right::RecordsRead]))
        .token;
    let scope = node
        .verify(token.expose_secret(), &request(Right::RecordsRead))
        .unwrap();
    assert_eq!(scope.sources(), None);
    assert_eq!((scope.since(), scope.until()), (None, None));
    assert!(scope.redacted().is_empty());
    assert_eq!(scope.max_results(), None);
}

#[test]
fn adapters_are_granted_by_name() {
    let mut node = Node::new();
    let token = node
        .issue(&GrantSpec::new(
            "notes",
            [Right::AdapterUse("maya-style".into())],
        ))
        .token;
    let ok = node.verify(
        token.expose_secret(),
        &request(Right::AdapterUse("maya-style".into())),
    );
    assert!(ok.is_ok());
    let other = node.verify(
        token.expose_secret(),
        &request(Right::AdapterUse("other".into())),
    );
    assert!(other.is_err());
}

#[test]
fn an_attenuated_scope_is_never_wider_than_its_parent() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let child = attenuate(
        token.expose_secret(),
        &node.root.public(),
        &Narrowing {
            restrictions: Restrictions {
                sources: Some(set(&["whatsapp"])),
                redact: [Field::Attachments].into(),
                max_results: Some(3),
                ..Default::default()
            },
            ..Narrowing::default()
        },
    )
    .unwrap();
    let request = Request {
        filters: RequestFilters {
            sources: Some(set(&["whatsapp"])),
            fields: Some([Field::Participants, Field::Conversation].into()),
            max_results: Some(3),
            ..Default::default()
        },
        ..search()
    };
    let parent = node.verify(token.expose_secret(), &search()).unwrap();
    let scope = node.verify(child.expose_secret(), &request).unwrap();
    assert!(
        scope
            .sources()
            .unwrap()
            .is_subset(parent.sources().unwrap())
    );
    assert!(scope.redacted().is_superset(parent.redacted()));
    assert!(scope.max_results() <= parent.max_results());
    assert_eq!(scope.since(), parent.since());
}

#[test]
fn explain_says_what_the_grant_allows_in_plain_words() {
    let node = Node::new();
    let mut spec = typical_spec();
    spec.limits.per_day = Some(100);
    let token = node.issue(&spec).token;
    let child = attenuate(
        token.expose_secret(),
        &node.root.public(),
        &Narrowing {
            expires: Some(now() + Duration::days(1)),
            ..Narrowing::default()
        },
    )
    .unwrap();
    let text = explain(&read(child.expose_secret(), &node.root.public()).unwrap()).join("\n");
    for expected in [
        "lets the app \"notes\"",
        "search and read the matching memories",
        "chat with the local model",
        "Only data from the sources \"telegram\" and \"whatsapp\".",
        "Only data from 2024-01-01 (inclusive) until 2025-01-01 (exclusive).",
        "Never data involving \"Bob\".",
        "Results never show the fields author.",
        "At most 20 results per call.",
        "Valid until 2025-07-01 12:00:00 UTC.",
        "At most 100 requests a day.",
        "narrowed by 1 further block",
        "check if time($t), $t < 2025-06-02T12:00:00Z",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn debug_output_never_holds_a_token() {
    let node = Node::new();
    let issued = node.issue(&typical_spec());
    let token = issued.token.expose_secret().to_owned();
    let read = read(&token, &node.root.public()).unwrap();
    for text in [
        format!("{issued:?}"),
        format!("{read:?}"),
        format!("{:?}", node.root),
    ] {
        assert!(!text.contains(&token[..40]), "{text}");
        assert!(!text.contains("Proof"), "{text}");
    }
}
