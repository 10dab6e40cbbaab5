//! Hostile requests: each must fail with the right error, and no Scope.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use biscuit_auth::builder::{Fact, Term};
use biscuit_auth::{Algorithm, BlockBuilder, KeyPair, PrivateKey};
use chrono::Duration;
use common::*;
use ed25519_dalek::{Signer, SigningKey};
use hearth_permissions::pop::{body_sha256, proof_message};
use hearth_permissions::{
    AppKey, GrantError, GrantSpec, Limits, Narrowing, Proof, QuotaLimit, RequestFilters, Right,
    attenuate,
};

#[test]
fn a_flipped_bit_anywhere_in_the_token_is_a_bad_signature() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let token = token.expose_secret();
    assert!(node.verify(token, &search()).is_ok());
    let bytes = URL_SAFE.decode(token).unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let flipped = URL_SAFE.encode(&flipped);
        assert_eq!(
            node.verify(&flipped, &search()),
            Err(GrantError::BadSignature),
            "bit {bit}"
        );
    }
    // and in the text itself
    for i in (0..token.len()).step_by(7) {
        let mut text = token.as_bytes().to_vec();
        text[i] ^= 0x01;
        let Ok(text) = String::from_utf8(text) else {
            continue;
        };
        assert_eq!(
            node.verify(&text, &search()),
            Err(GrantError::BadSignature),
            "char {i}"
        );
    }
}

#[test]
fn a_token_signed_by_another_key_is_a_bad_signature() {
    let mut node = Node::new();
    let other = Node::new();
    let token = other.issue(&typical_spec()).token;
    assert_eq!(
        node.verify(token.expose_secret(), &search()),
        Err(GrantError::BadSignature)
    );
}

#[test]
fn expired_and_not_yet_valid() {
    let mut node = Node::new();
    let mut spec = typical_spec();
    spec.limits.not_before = Some(now() - Duration::hours(1));
    spec.limits.expires = Some(now() + Duration::hours(1));
    let token = node.issue(&spec).token;
    let token = token.expose_secret();
    let mut late = search();
    late.now = now() + Duration::hours(1);
    assert_eq!(
        node.verify(token, &late),
        Err(GrantError::Expired(now() + Duration::hours(1)))
    );
    let mut early = search();
    early.now = now() - Duration::hours(2);
    assert_eq!(
        node.verify(token, &early),
        Err(GrantError::NotYetValid(now() - Duration::hours(1)))
    );
    assert!(node.verify(token, &search()).is_ok());
}

#[test]
fn an_attenuated_expiry_holds_even_when_the_grant_lives_longer() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let child = attenuate(
        token.expose_secret(),
        &node.root.public(),
        &Narrowing {
            expires: Some(now() - Duration::minutes(1)),
            ..Narrowing::default()
        },
    )
    .unwrap();
    assert!(matches!(
        node.verify(child.expose_secret(), &search()),
        Err(GrantError::CheckFailed { block: Some(1), .. })
    ));
}

#[test]
fn revoked_grants_and_everything_derived_from_them() {
    let mut node = Node::new();
    let issued = node.issue(&typical_spec());
    let parent = issued.token.expose_secret();
    let child = attenuate(
        parent,
        &node.root.public(),
        &Narrowing {
            rights: Some([Right::MemoriesSearch].into()),
            ..Narrowing::default()
        },
    )
    .unwrap();
    let grandchild = attenuate(
        child.expose_secret(),
        &node.root.public(),
        &Narrowing {
            restrictions: hearth_permissions::Restrictions {
                max_results: Some(5),
                ..Default::default()
            },
            ..Narrowing::default()
        },
    )
    .unwrap();
    let five = Request {
        filters: RequestFilters {
            max_results: Some(5),
            ..Default::default()
        },
        ..search()
    };
    for token in [parent, child.expose_secret(), grandchild.expose_secret()] {
        assert!(node.verify(token, &five).is_ok());
    }
    node.ledger
        .revocations
        .revoke_grant(issued.grant.id, issued.revocation_id.clone());
    for token in [parent, child.expose_secret(), grandchild.expose_secret()] {
        assert_eq!(node.verify(token, &five), Err(GrantError::Revoked));
    }
}

#[test]
fn revoking_a_derived_token_leaves_its_parent_valid() {
    let mut node = Node::new();
    let issued = node.issue(&typical_spec());
    let parent = issued.token.expose_secret();
    let child = attenuate(parent, &node.root.public(), &Narrowing::default()).unwrap();
    let read = hearth_permissions::read(child.expose_secret(), &node.root.public()).unwrap();
    let ids = read.revocation_ids();
    assert_eq!(ids[0], issued.revocation_id);
    node.ledger.revocations.revoke_id(ids[1].clone());
    assert_eq!(
        node.verify(child.expose_secret(), &search()),
        Err(GrantError::Revoked)
    );
    assert!(node.verify(parent, &search()).is_ok());
}

/// An attenuation block full of facts and rules that try to widen the grant.
fn widening_block() -> BlockBuilder {
    let mut block = BlockBuilder::new();
    for (name, terms) in [
        ("grant", vec![s("right"), s("records.export")]),
        ("grant", vec![s("source"), s("signal")]),
        ("grant", vec![s("since"), Term::Date(0)]),
        ("right", vec![s("records.export")]),
        ("source", vec![s("signal")]),
        ("data_from", vec![Term::Date(0)]),
        ("field", vec![s("author")]),
    ] {
        block = block.fact(Fact::new(name.to_owned(), terms)).unwrap();
    }
    block
        .code(
            r#"
            grant("right", $r) <- right($r);
            right("records.export") <- time($t);
            "#,
        )
        .unwrap()
}

fn s(v: &str) -> Term {
    Term::Str(v.to_owned())
}

#[test]
fn an_attenuation_block_cannot_widen_rights_sources_times_or_fields() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let biscuit =
        biscuit_auth::Biscuit::from_base64(token.expose_secret(), biscuit_public(&node.root))
            .unwrap();
    let widened = biscuit
        .append(widening_block())
        .unwrap()
        .to_base64()
        .unwrap();
    // The grant read back is the parent's, whatever the block says.
    let read = hearth_permissions::read(&widened, &node.root.public()).unwrap();
    assert_eq!(read.grant.spec.rights, typical_spec().rights);
    assert_eq!(
        read.grant.spec.restrictions.sources,
        typical_spec().restrictions.sources
    );
    // Each widening request fails on the grant's own checks (block 0).
    let wider_requests = [
        request(Right::RecordsExport),
        Request {
            filters: RequestFilters {
                sources: Some(set(&["signal"])),
                ..Default::default()
            },
            ..search()
        },
        Request {
            filters: RequestFilters {
                since: Some(at("2000-01-01T00:00:00Z")),
                ..Default::default()
            },
            ..search()
        },
        Request {
            filters: RequestFilters {
                fields: Some([hearth_permissions::Field::Author].into()),
                ..Default::default()
            },
            ..search()
        },
        Request {
            filters: RequestFilters {
                max_results: Some(1000),
                ..Default::default()
            },
            ..search()
        },
    ];
    for wider in &wider_requests {
        assert!(
            matches!(
                node.verify(&widened, wider),
                Err(GrantError::CheckFailed { block: Some(0), .. })
            ),
            "{wider:?}"
        );
    }
    // Within the grant, the widened token yields exactly the parent's scope.
    let parent_scope = node.verify(token.expose_secret(), &search()).unwrap();
    let child_scope = node.verify(&widened, &search()).unwrap();
    assert_eq!(child_scope, parent_scope);
}

use hearth_permissions::Request;

#[test]
fn a_narrowed_token_refuses_what_it_narrowed_away() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let child = attenuate(
        token.expose_secret(),
        &node.root.public(),
        &Narrowing {
            rights: Some([Right::MemoriesSearch].into()),
            restrictions: hearth_permissions::Restrictions {
                sources: Some(set(&["whatsapp"])),
                since: Some(at("2024-06-01T00:00:00Z")),
                ..Default::default()
            },
            ..Narrowing::default()
        },
    )
    .unwrap();
    let child = child.expose_secret();
    let failing = [
        // a right the child dropped
        request(Right::ModelChat),
        // the grant's default sources include telegram
        search(),
        Request {
            filters: RequestFilters {
                sources: Some(set(&["telegram"])),
                since: Some(at("2024-06-01T00:00:00Z")),
                ..Default::default()
            },
            ..search()
        },
        // earlier than the child allows, though within the parent
        Request {
            filters: RequestFilters {
                sources: Some(set(&["whatsapp"])),
                since: Some(at("2024-03-01T00:00:00Z")),
                ..Default::default()
            },
            ..search()
        },
    ];
    for request in &failing {
        assert!(
            matches!(
                node.verify(child, request),
                Err(GrantError::CheckFailed { block: Some(1), .. })
            ),
            "{request:?}"
        );
    }
    // A child "widening" beyond its parent still meets the parent's checks.
    let wide_child = attenuate(
        child,
        &node.root.public(),
        &Narrowing {
            restrictions: hearth_permissions::Restrictions {
                sources: Some(set(&["signal", "whatsapp"])),
                since: Some(at("1999-01-01T00:00:00Z")),
                ..Default::default()
            },
            ..Narrowing::default()
        },
    )
    .unwrap();
    let signal = Request {
        filters: RequestFilters {
            sources: Some(set(&["signal"])),
            since: Some(at("2024-06-01T00:00:00Z")),
            ..Default::default()
        },
        ..search()
    };
    assert!(matches!(
        node.verify(wide_child.expose_secret(), &signal),
        Err(GrantError::CheckFailed { .. })
    ));
    let ok = Request {
        filters: RequestFilters {
            sources: Some(set(&["whatsapp"])),
            since: Some(at("2024-06-01T00:00:00Z")),
            ..Default::default()
        },
        ..search()
    };
    let scope = node.verify(wide_child.expose_secret(), &ok).unwrap();
    assert_eq!(scope.sources(), Some(&set(&["whatsapp"])));
    assert_eq!(scope.since(), Some(at("2024-06-01T00:00:00Z")));
}

#[test]
fn wrong_audience() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let mut other = search();
    other.app = "notes-evil";
    assert_eq!(
        node.verify(token.expose_secret(), &other),
        Err(GrantError::WrongAudience)
    );
    other.app = "note";
    assert_eq!(
        node.verify(token.expose_secret(), &other),
        Err(GrantError::WrongAudience)
    );
}

struct Signed {
    path: &'static str,
    nonce: String,
    signature: [u8; 64],
    body: [u8; 32],
    timestamp: i64,
}

fn sign(key: &SigningKey, token: &str, path: &'static str, nonce: &str, timestamp: i64) -> Signed {
    let body = body_sha256(b"{\"query\":\"holiday\"}");
    let message = proof_message("POST", path, &body, token, timestamp, nonce);
    Signed {
        path,
        nonce: nonce.to_owned(),
        signature: key.sign(&message).to_bytes(),
        body,
        timestamp,
    }
}

fn with_proof<'a>(signed: &'a Signed) -> Request<'a> {
    Request {
        proof: Some(Proof {
            method: "POST",
            path: signed.path,
            body_sha256: signed.body,
            timestamp: signed.timestamp,
            nonce: &signed.nonce,
            signature: signed.signature,
        }),
        ..search()
    }
}

#[test]
fn proof_of_possession_missing_replayed_or_wrong() {
    let mut node = Node::new();
    let app_key = SigningKey::from_bytes(&[42; 32]);
    let thief_key = SigningKey::from_bytes(&[43; 32]);
    let mut spec = typical_spec();
    spec.app_key = Some(AppKey::from_bytes(&app_key.verifying_key().to_bytes()).unwrap());
    let token = node.issue(&spec).token;
    let token = token.expose_secret();
    let other_token = node.issue(&spec).token;
    let t = now().timestamp();

    assert_eq!(node.verify(token, &search()), Err(GrantError::ProofMissing));

    let good = sign(
        &app_key,
        token,
        "/v1/memories/search",
        "nonce-0000000001",
        t,
    );
    let scope = node.verify(token, &with_proof(&good)).unwrap();
    assert!(scope.proven());
    assert_eq!(
        node.verify(token, &with_proof(&good)),
        Err(GrantError::ProofReplayed)
    );

    let cases = [
        sign(
            &thief_key,
            token,
            "/v1/memories/search",
            "nonce-0000000002",
            t,
        ),
        sign(
            &app_key,
            other_token.expose_secret(),
            "/v1/memories/search",
            "nonce-0000000003",
            t,
        ),
        sign(
            &app_key,
            token,
            "/v1/memories/search",
            "nonce-0000000004",
            t - 3600,
        ),
        sign(&app_key, token, "/v1/memories/search", "short", t),
    ];
    for signed in &cases {
        assert!(
            matches!(
                node.verify(token, &with_proof(signed)),
                Err(GrantError::ProofInvalid(_))
            ),
            "{}",
            signed.nonce
        );
    }
    // The request altered after signing: another path.
    let signed = sign(
        &app_key,
        token,
        "/v1/memories/search",
        "nonce-0000000005",
        t,
    );
    let mut altered = with_proof(&signed);
    if let Some(proof) = &mut altered.proof {
        proof.path = "/v1/records/export";
    }
    assert!(matches!(
        node.verify(token, &altered),
        Err(GrantError::ProofInvalid(_))
    ));
    // A proof that failed verification did not burn its nonce.
    assert!(node.verify(token, &with_proof(&signed)).is_ok());
}

#[test]
fn over_quota_and_failed_requests_spend_nothing() {
    let mut node = Node::new();
    let mut spec = typical_spec();
    spec.limits = Limits {
        per_day: Some(2),
        expires: spec.limits.expires,
        ..Limits::default()
    };
    let token = node.issue(&spec).token;
    let token = token.expose_secret();
    for _ in 0..3 {
        assert!(node.verify(token, &request(Right::RecordsExport)).is_err());
    }
    assert!(node.verify(token, &search()).is_ok());
    assert!(node.verify(token, &search()).is_ok());
    assert!(matches!(
        node.verify(token, &search()),
        Err(GrantError::OverQuota {
            limit: QuotaLimit::PerDay(2),
            ..
        })
    ));
    // Derived tokens count against their grant.
    let child = attenuate(token, &node.root.public(), &Narrowing::default()).unwrap();
    assert!(matches!(
        node.verify(child.expose_secret(), &search()),
        Err(GrantError::OverQuota { .. })
    ));
}

#[test]
fn model_tokens_per_day() {
    let mut node = Node::new();
    let mut spec = typical_spec();
    spec.limits.tokens_per_day = Some(1000);
    let issued = node.issue(&spec);
    let token = issued.token.expose_secret();
    let scope = node.verify(token, &request(Right::ModelChat)).unwrap();
    assert_eq!(scope.model_tokens_left(), Some(1000));
    node.ledger
        .quotas
        .entry(issued.grant.id)
        .spend_tokens(now().timestamp(), 1000);
    assert!(matches!(
        node.verify(token, &request(Right::ModelChat)),
        Err(GrantError::OverQuota {
            limit: QuotaLimit::TokensPerDay(1000),
            ..
        })
    ));
}

#[test]
fn unknown_rights() {
    for bad in [
        "records.delete",
        "memories.*",
        "admin",
        "adapter.use(../x)",
        "",
    ] {
        assert!(
            matches!(bad.parse::<Right>(), Err(GrantError::UnknownRight(_))),
            "{bad}"
        );
    }
    // A token of this node whose authority names a right this node does not know (a newer
    // node's, say) is refused rather than half-understood.
    let mut node = Node::new();
    let secret = node.root.expose_secret_bytes();
    let private = PrivateKey::from_bytes(&secret[5..], Algorithm::Ed25519).unwrap();
    let keys = KeyPair::from(&private);
    let forged = biscuit_auth::Biscuit::builder()
        .code(
            r#"
            grant("version", 1);
            grant("id", "00112233445566778899aabbccddeeff");
            grant("app", "notes");
            grant("issued_at", 2025-01-01T00:00:00Z);
            grant("right", "records.delete");
            "#,
        )
        .unwrap()
        .build(&keys)
        .unwrap()
        .to_base64()
        .unwrap();
    assert_eq!(
        node.verify(&forged, &search()),
        Err(GrantError::UnknownRight("records.delete".into()))
    );
    // An attenuation naming an unknown right allows nothing.
    let token = node.issue(&typical_spec()).token;
    let biscuit =
        biscuit_auth::Biscuit::from_base64(token.expose_secret(), biscuit_public(&node.root))
            .unwrap();
    let narrowed = biscuit
        .append(
            BlockBuilder::new()
                .code(r#"check if right("records.delete");"#)
                .unwrap(),
        )
        .unwrap()
        .to_base64()
        .unwrap();
    assert!(matches!(
        node.verify(&narrowed, &search()),
        Err(GrantError::CheckFailed { block: Some(1), .. })
    ));
}

#[test]
fn filter_values_with_query_syntax_stay_opaque_literals() {
    let hostile = [
        "whatsapp OR 1=1",
        "text:* OR",
        "source:* OR text:*",
        "x\"), right(\"records.export",
        "whatsapp\" || true || \"",
        "*",
        "' OR ''='",
        "$s",
        "{rights}",
    ];
    let mut node = Node::new();
    let mut spec = GrantSpec::new("notes", [Right::MemoriesSearch]);
    spec.restrictions.sources = Some(set(&hostile));
    spec.restrictions.exclude_participants = set(&["Bob\") or true or (\"", "author:*"]);
    let token = node.issue(&spec).token;
    let token = token.expose_secret();
    // The grant's literal values come back as they went in.
    let scope = node.verify(token, &search()).unwrap();
    assert_eq!(scope.sources(), Some(&set(&hostile)));
    assert!(
        scope
            .exclude_participants()
            .contains("Bob\") or true or (\"")
    );
    // None of them matches anything but itself: the real source is refused.
    for source in ["whatsapp", "telegram", "text", ""] {
        let request = Request {
            filters: RequestFilters {
                sources: Some(set(&[source])),
                ..Default::default()
            },
            ..search()
        };
        assert!(node.verify(token, &request).is_err(), "{source}");
    }
    // Request values with query syntax against a plain grant are refused, not interpreted.
    let plain = node.issue(&typical_spec()).token;
    for source in hostile {
        let request = Request {
            filters: RequestFilters {
                sources: Some(set(&[source])),
                ..Default::default()
            },
            ..search()
        };
        assert!(
            matches!(
                node.verify(plain.expose_secret(), &request),
                Err(GrantError::CheckFailed { block: Some(0), .. })
            ),
            "{source}"
        );
    }
    // A request value that names an allowed source plus syntax is still one opaque value.
    let request = Request {
        filters: RequestFilters {
            sources: Some(set(&["whatsapp OR source:signal"])),
            ..Default::default()
        },
        ..search()
    };
    assert!(node.verify(plain.expose_secret(), &request).is_err());
}

#[test]
fn empty_or_nonsense_filters_are_refused() {
    let mut node = Node::new();
    let token = node.issue(&typical_spec()).token;
    let cases = [
        RequestFilters {
            sources: Some(set(&[])),
            ..Default::default()
        },
        RequestFilters {
            since: Some(at("2024-06-01T00:00:00Z")),
            until: Some(at("2024-05-01T00:00:00Z")),
            ..Default::default()
        },
        RequestFilters {
            sources: Some(set(&["what\u{1b}[2Jsapp"])),
            ..Default::default()
        },
    ];
    for filters in cases {
        let request = Request {
            filters,
            ..search()
        };
        assert!(matches!(
            node.verify(token.expose_secret(), &request),
            Err(GrantError::Invalid(_))
        ));
    }
}
