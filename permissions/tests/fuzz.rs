//! Arbitrary bytes as tokens: never a panic, never a Scope.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_is_never_a_grant(text in ".{0,600}") {
        let mut node = Node::new();
        prop_assert!(node.verify(&text, &search()).is_err());
        prop_assert!(hearth_permissions::read(&text, &node.root.public()).is_err());
    }

    #[test]
    fn arbitrary_bytes_as_base64_are_never_a_grant(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        let mut node = Node::new();
        let text = URL_SAFE.encode(&bytes);
        prop_assert!(node.verify(&text, &search()).is_err());
    }

    #[test]
    fn edited_tokens_are_never_a_grant(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut node = Node::new();
        let token = node.issue(&typical_spec()).token;
        let original = URL_SAFE.decode(token.expose_secret()).unwrap();
        let mut bytes = original.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        prop_assume!(bytes != original);
        let text = URL_SAFE.encode(&bytes);
        prop_assert!(node.verify(&text, &search()).is_err());
    }
}
