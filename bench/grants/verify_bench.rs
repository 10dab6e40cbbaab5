//! Grant verification cost: verifications per second and latency percentiles, for a typical
//! grant, an attenuated one (two blocks), and one bound to an app key (proof of possession).
//!
//! Run: `cargo run --release -p hearth-permissions --example verify_bench [ITERATIONS]`

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use hearth_permissions::pop::{body_sha256, proof_message};
use hearth_permissions::{
    AppKey, Field, GrantError, GrantId, GrantSpec, Ledger, Narrowing, Proof, Request,
    RequestFilters, Restrictions, Right, RootKey, Verifier, attenuate, issue,
};

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let now = Utc::now();
    let root = RootKey::generate();
    let verifier = Verifier::new(root.public()).expect("verifier");
    let spec = typical(now);
    let plain = issue(&root, &spec, GrantId::generate().expect("id"), now)
        .expect("issue")
        .token;
    let narrowed = attenuate(
        plain.expose_secret(),
        &root.public(),
        &Narrowing {
            rights: Some([Right::MemoriesSearch].into()),
            restrictions: Restrictions {
                sources: Some(["whatsapp".to_owned()].into()),
                max_results: Some(10),
                ..Restrictions::default()
            },
            expires: Some(now + chrono::Duration::hours(1)),
            ..Narrowing::default()
        },
    )
    .expect("attenuate");
    let app = SigningKey::from_bytes(&[9; 32]);
    let mut bound_spec = spec.clone();
    bound_spec.app_key = Some(AppKey::from_bytes(&app.verifying_key().to_bytes()).expect("key"));
    let bound = issue(&root, &bound_spec, GrantId::generate().expect("id"), now)
        .expect("issue")
        .token;

    println!(
        "grant verification, {iterations} iterations each (token sizes: {} / {} / {} bytes)",
        plain.expose_secret().len(),
        narrowed.expose_secret().len(),
        bound.expose_secret().len()
    );
    println!("| case | verifications/s | p50 µs | p99 µs | max µs |");
    println!("| --- | ---: | ---: | ---: | ---: |");

    let request = Request {
        app: "notes",
        right: Right::MemoriesSearch,
        filters: RequestFilters::default(),
        now,
        proof: None,
    };
    let mut ledger = Ledger::default();
    report(
        "typical grant (1 block)",
        measure(iterations, |_| {
            verifier
                .verify(plain.expose_secret(), &request, &mut ledger)
                .map(drop)
        }),
    );
    let narrowed_request = Request {
        filters: RequestFilters {
            sources: Some(["whatsapp".to_owned()].into()),
            max_results: Some(10),
            ..RequestFilters::default()
        },
        ..request.clone()
    };
    report(
        "attenuated (2 blocks)",
        measure(iterations, |_| {
            verifier
                .verify(narrowed.expose_secret(), &narrowed_request, &mut ledger)
                .map(drop)
        }),
    );
    let body = body_sha256(b"{\"query\":\"holiday\"}");
    let token = bound.expose_secret();
    let proofs: Vec<(String, [u8; 64])> = (0..WARM_UP + iterations)
        .map(|i| {
            let nonce = format!("bench-nonce-{i:010}");
            let message = proof_message(
                "POST",
                "/v1/memories/search",
                &body,
                token,
                now.timestamp(),
                &nonce,
            );
            let signature = app.sign(&message).to_bytes();
            (nonce, signature)
        })
        .collect();
    report(
        "with proof of possession",
        measure(iterations, |i| {
            let (nonce, signature) = &proofs[i];
            let request = Request {
                proof: Some(Proof {
                    method: "POST",
                    path: "/v1/memories/search",
                    body_sha256: body,
                    timestamp: now.timestamp(),
                    nonce,
                    signature: *signature,
                }),
                ..request.clone()
            };
            verifier.verify(token, &request, &mut ledger).map(drop)
        }),
    );
}

fn typical(now: DateTime<Utc>) -> GrantSpec {
    let mut spec = GrantSpec::new("notes", [Right::MemoriesSearch, Right::ModelChat]);
    let r = &mut spec.restrictions;
    r.sources = Some(["whatsapp".to_owned(), "telegram".to_owned()].into());
    r.since = Some(now - chrono::Duration::days(365));
    r.exclude_participants = ["Bob".to_owned()].into();
    r.redact = [Field::Author].into();
    r.max_results = Some(20);
    spec.limits.expires = Some(now + chrono::Duration::days(30));
    spec
}

/// Verifications before measuring.
const WARM_UP: usize = 500;

/// Runs `run(0..WARM_UP)` unmeasured, then times `run(WARM_UP..WARM_UP + iterations)`. Every
/// run must verify.
fn measure(
    iterations: usize,
    mut run: impl FnMut(usize) -> Result<(), GrantError>,
) -> Vec<Duration> {
    for i in 0..WARM_UP {
        if let Err(e) = run(i) {
            panic!("warm-up verification {i} failed: {e}");
        }
    }
    let mut times = Vec::with_capacity(iterations);
    for i in WARM_UP..WARM_UP + iterations {
        let start = Instant::now();
        let result = run(i);
        times.push(start.elapsed());
        if let Err(e) = result {
            panic!("verification {i} failed: {e}");
        }
    }
    times
}

fn report(case: &str, mut times: Vec<Duration>) {
    let total: Duration = times.iter().sum();
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1e6
    };
    println!(
        "| {case} | {:.0} | {:.0} | {:.0} | {:.0} |",
        times.len() as f64 / total.as_secs_f64(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
}
