//! Unit tests: a tiny GGUF writer builds files in memory; quantized blocks are packed by hand
//! the way ggml's `quantize_row_*` functions pack them, and expected values are computed from the
//! unpacked parameters with ggml's formulas, never through the decoder under test.

use super::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Test-only writer
// ---------------------------------------------------------------------------------------------

/// A metadata value to write.
#[derive(Clone, Debug)]
enum Val {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    Arr(ValueType, Vec<Val>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Val {
    fn ty(&self) -> ValueType {
        match self {
            Val::U8(_) => ValueType::U8,
            Val::I8(_) => ValueType::I8,
            Val::U16(_) => ValueType::U16,
            Val::I16(_) => ValueType::I16,
            Val::U32(_) => ValueType::U32,
            Val::I32(_) => ValueType::I32,
            Val::F32(_) => ValueType::F32,
            Val::Bool(_) => ValueType::Bool,
            Val::Str(_) => ValueType::String,
            Val::Arr(..) => ValueType::Array,
            Val::U64(_) => ValueType::U64,
            Val::I64(_) => ValueType::I64,
            Val::F64(_) => ValueType::F64,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Val::U8(v) => out.extend(v.to_le_bytes()),
            Val::I8(v) => out.extend(v.to_le_bytes()),
            Val::U16(v) => out.extend(v.to_le_bytes()),
            Val::I16(v) => out.extend(v.to_le_bytes()),
            Val::U32(v) => out.extend(v.to_le_bytes()),
            Val::I32(v) => out.extend(v.to_le_bytes()),
            Val::F32(v) => out.extend(v.to_le_bytes()),
            Val::Bool(v) => out.push(u8::from(*v)),
            Val::Str(s) => write_str(out, s),
            Val::Arr(elem, items) => {
                out.extend(elem.id().to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    item.write(out);
                }
            }
            Val::U64(v) => out.extend(v.to_le_bytes()),
            Val::I64(v) => out.extend(v.to_le_bytes()),
            Val::F64(v) => out.extend(v.to_le_bytes()),
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn strs(items: &[&str]) -> Val {
    Val::Arr(
        ValueType::String,
        items.iter().map(|s| Val::Str((*s).to_owned())).collect(),
    )
}

struct TestTensor {
    name: String,
    dims: Vec<u64>,
    type_id: u32,
    data: Vec<u8>,
}

/// Builds a GGUF file: header, metadata, tensor infos with offsets laid out at the alignment,
/// padding, then the tensor data (padded between tensors, not after the last one, so every
/// strict prefix of the file is invalid).
struct Builder {
    version: u32,
    kvs: Vec<(String, Val)>,
    tensors: Vec<TestTensor>,
}

impl Builder {
    fn new(version: u32) -> Self {
        Builder {
            version,
            kvs: Vec::new(),
            tensors: Vec::new(),
        }
    }

    fn kv(mut self, key: &str, val: Val) -> Self {
        self.kvs.push((key.to_owned(), val));
        self
    }

    fn tensor(self, name: &str, dims: &[u64], ty: GgmlType, data: Vec<u8>) -> Self {
        self.tensor_raw(name, dims, ty.id(), data)
    }

    fn tensor_raw(mut self, name: &str, dims: &[u64], type_id: u32, data: Vec<u8>) -> Self {
        self.tensors.push(TestTensor {
            name: name.to_owned(),
            dims: dims.to_vec(),
            type_id,
            data,
        });
        self
    }

    fn alignment(&self) -> usize {
        self.kvs
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("general.alignment", Val::U32(a)) => Some(*a as usize),
                _ => None,
            })
            .unwrap_or(32)
    }

    fn build(&self) -> Vec<u8> {
        let align = self.alignment();
        let mut out = Vec::new();
        out.extend(b"GGUF");
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.kvs.len() as u64).to_le_bytes());
        for (key, val) in &self.kvs {
            write_str(&mut out, key);
            out.extend(val.ty().id().to_le_bytes());
            val.write(&mut out);
        }
        let mut offset = 0usize;
        let mut offsets = Vec::new();
        for t in &self.tensors {
            write_str(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.type_id.to_le_bytes());
            out.extend((offset as u64).to_le_bytes());
            offsets.push(offset);
            offset = (offset + t.data.len()).next_multiple_of(align);
        }
        if !self.tensors.is_empty() {
            out.resize(out.len().next_multiple_of(align), 0);
        }
        let data_start = out.len();
        for (t, off) in self.tensors.iter().zip(offsets) {
            out.resize(data_start + off, 0);
            out.extend(&t.data);
        }
        out
    }
}

/// Exact f32 → f16 bits for values that f16 represents exactly (normal numbers and zero); an
/// independent inverse of `f16_to_f32` for building blocks.
fn f16_bits(x: f32) -> u16 {
    if x == 0.0 {
        return if x.is_sign_negative() { 0x8000 } else { 0 };
    }
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    assert!((1..31).contains(&exp), "{x} is not a normal f16");
    assert_eq!(bits & 0x1fff, 0, "{x} is not exactly representable as f16");
    sign | ((exp as u16) << 10) | ((bits >> 13) & 0x3ff) as u16
}

fn parse(bytes: &[u8]) -> Gguf<'_> {
    match Gguf::parse(bytes) {
        Ok(g) => g,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn parse_err(bytes: &[u8]) -> Error {
    match Gguf::parse(bytes) {
        Ok(_) => panic!("parse unexpectedly succeeded"),
        Err(e) => e,
    }
}

/// A small file exercising every metadata type and two tensors.
fn sample_builder(version: u32) -> Builder {
    let mut q4 = vec![0u8; 18 * 2];
    q4[0..2].copy_from_slice(&f16_bits(0.5).to_le_bytes());
    q4[18..20].copy_from_slice(&f16_bits(-2.0).to_le_bytes());
    for (i, b) in q4.iter_mut().enumerate() {
        if i % 18 >= 2 {
            *b = (i * 37 % 256) as u8;
        }
    }
    let f32s: Vec<u8> = [1.0f32, -2.5, 3.25, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    Builder::new(version)
        .kv("general.architecture", Val::Str("llama".into()))
        .kv("general.name", Val::Str("tiny ✓".into()))
        .kv("t.u8", Val::U8(200))
        .kv("t.i8", Val::I8(-100))
        .kv("t.u16", Val::U16(60_000))
        .kv("t.i16", Val::I16(-30_000))
        .kv("t.u32", Val::U32(4_000_000_000))
        .kv("t.i32", Val::I32(-2_000_000_000))
        .kv("t.f32", Val::F32(1.5e-5))
        .kv("t.bool", Val::Bool(true))
        .kv("t.u64", Val::U64(u64::MAX - 1))
        .kv("t.i64", Val::I64(i64::MIN + 1))
        .kv("t.f64", Val::F64(-1.0e300))
        .kv(
            "t.arr_i32",
            Val::Arr(ValueType::I32, vec![Val::I32(1), Val::I32(-2), Val::I32(3)]),
        )
        .kv(
            "t.nested",
            Val::Arr(
                ValueType::Array,
                vec![
                    Val::Arr(ValueType::U8, vec![Val::U8(1), Val::U8(2)]),
                    Val::Arr(ValueType::String, vec![Val::Str("x".into())]),
                    Val::Arr(ValueType::Bool, vec![]),
                ],
            ),
        )
        .kv("llama.block_count", Val::U32(2))
        .kv("llama.context_length", Val::U64(2048))
        .kv("llama.embedding_length", Val::I32(64))
        .kv("llama.attention.head_count", Val::U32(4))
        .kv("llama.rope.freq_base", Val::F32(10_000.0))
        .kv("llama.attention.layer_norm_rms_epsilon", Val::F32(1e-5))
        .kv("tokenizer.ggml.model", Val::Str("gpt2".into()))
        .kv("tokenizer.ggml.tokens", strs(&["<s>", "</s>", "a", "b"]))
        .kv(
            "tokenizer.ggml.token_type",
            Val::Arr(ValueType::I32, vec![Val::I32(3); 4]),
        )
        .kv("tokenizer.ggml.merges", strs(&["a b"]))
        .kv("tokenizer.ggml.bos_token_id", Val::U32(0))
        .kv("tokenizer.ggml.eos_token_id", Val::U32(1))
        .kv("tokenizer.ggml.add_bos_token", Val::Bool(false))
        .kv("tokenizer.chat_template", Val::Str("{{ messages }}".into()))
        .tensor("blk.0.q", &[32, 2], GgmlType::Q4_0, q4)
        .tensor("norm", &[4], GgmlType::F32, f32s)
}

// ---------------------------------------------------------------------------------------------
// Header and metadata
// ---------------------------------------------------------------------------------------------

#[test]
fn every_metadata_type_round_trips_in_v2_and_v3() {
    for version in [2, 3] {
        let bytes = sample_builder(version).build();
        let g = parse(&bytes);
        assert_eq!(g.version(), version);
        assert_eq!(g.get("t.u8"), Some(MetadataValue::U8(200)));
        assert_eq!(g.get("t.i8"), Some(MetadataValue::I8(-100)));
        assert_eq!(g.get("t.u16"), Some(MetadataValue::U16(60_000)));
        assert_eq!(g.get("t.i16"), Some(MetadataValue::I16(-30_000)));
        assert_eq!(g.get("t.u32"), Some(MetadataValue::U32(4_000_000_000)));
        assert_eq!(g.get("t.i32"), Some(MetadataValue::I32(-2_000_000_000)));
        assert_eq!(g.get("t.f32"), Some(MetadataValue::F32(1.5e-5)));
        assert_eq!(g.get("t.bool"), Some(MetadataValue::Bool(true)));
        assert_eq!(g.get("t.u64"), Some(MetadataValue::U64(u64::MAX - 1)));
        assert_eq!(g.get("t.i64"), Some(MetadataValue::I64(i64::MIN + 1)));
        assert_eq!(g.get("t.f64"), Some(MetadataValue::F64(-1.0e300)));
        assert_eq!(g.get_str("general.name").ok(), Some("tiny ✓"));
        assert_eq!(g.get("missing"), None);

        let arr = g.get_array("t.arr_i32").expect("array");
        assert_eq!(arr.elem_type(), ValueType::I32);
        assert_eq!(arr.to_i32s(), Some(vec![1, -2, 3]));
        assert_eq!(arr.to_u32s(), None);
        let items: Vec<_> = arr.iter().collect();
        assert_eq!(
            items,
            [
                MetadataValue::I32(1),
                MetadataValue::I32(-2),
                MetadataValue::I32(3)
            ]
        );

        // Metadata order is file order.
        let keys: Vec<&str> = g.metadata().map(|(k, _)| k).take(3).collect();
        assert_eq!(keys, ["general.architecture", "general.name", "t.u8"]);
    }
}

#[test]
fn nested_arrays_decode_lazily() {
    let bytes = sample_builder(3).build();
    let g = parse(&bytes);
    let outer = g.get_array("t.nested").expect("nested");
    assert_eq!(outer.elem_type(), ValueType::Array);
    assert_eq!(outer.len(), 3);
    let inner: Vec<MetadataArray<'_>> = outer.iter().filter_map(|v| v.as_array()).collect();
    assert_eq!(inner.len(), 3);
    let first: Vec<_> = inner[0].iter().collect();
    assert_eq!(first, [MetadataValue::U8(1), MetadataValue::U8(2)]);
    assert_eq!(inner[1].to_strs(), Some(vec!["x"]));
    assert!(inner[2].is_empty());
    assert_eq!(inner[2].elem_type(), ValueType::Bool);
    assert_eq!(
        g.get("t.nested").map(|v| v.type_description()).as_deref(),
        Some("array<array>")
    );
}

#[test]
fn typed_accessors_and_model_helpers() {
    let bytes = sample_builder(3).build();
    let g = parse(&bytes);
    assert_eq!(g.architecture().ok(), Some("llama"));
    assert_eq!(g.block_count().ok(), Some(2));
    // Integer accessors accept other widths when the value fits.
    assert_eq!(g.context_length().ok(), Some(2048));
    assert_eq!(g.embedding_length().ok(), Some(64));
    assert_eq!(g.head_count().ok(), Some(4));
    // head_count_kv is absent: falls back to head_count.
    assert_eq!(g.head_count_kv().ok(), Some(4));
    assert_eq!(g.rope_freq_base().ok(), Some(Some(10_000.0)));
    assert_eq!(g.rope_dimension_count().ok(), Some(None));
    assert_eq!(g.rms_norm_epsilon().ok(), Some(1e-5));
    assert_eq!(g.vocab_size().ok(), Some(4));
    assert_eq!(g.chat_template().ok(), Some(Some("{{ messages }}")));
    assert_eq!(g.get_u64("t.u64").ok(), Some(u64::MAX - 1));
    // f64 values round to the nearest f32; -1e300 is beyond f32's range.
    assert_eq!(g.get_f32("t.f64").ok(), Some(f32::NEG_INFINITY));
    assert_eq!(g.get_bool("t.bool").ok(), Some(true));

    // Values that do not fit, or have the wrong type, are errors naming the key.
    assert!(matches!(g.get_u32("t.i8"), Err(Error::WrongType { .. })));
    assert!(matches!(g.get_u32("t.u64"), Err(Error::WrongType { .. })));
    assert!(matches!(g.get_u32("t.f32"), Err(Error::WrongType { .. })));
    match g.get_str("t.u32") {
        Err(Error::WrongType {
            key,
            expected,
            found,
        }) => {
            assert_eq!(
                (key.as_str(), expected, found.as_str()),
                ("t.u32", "string", "u32")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(g.get_str("nope"), Err(Error::MissingKey(k)) if k == "nope"));
    assert!(matches!(g.opt_str("nope"), Ok(None)));
    assert!(matches!(
        g.get_str_array("t.arr_i32"),
        Err(Error::WrongType { .. })
    ));

    let tok = g.tokenizer().expect("tokenizer");
    assert_eq!(tok.model, "gpt2");
    assert_eq!(tok.pre, None);
    assert_eq!(tok.tokens, ["<s>", "</s>", "a", "b"]);
    assert_eq!(tok.token_types, Some(vec![3; 4]));
    assert_eq!(tok.merges, Some(vec!["a b"]));
    assert_eq!(tok.scores, None);
    assert_eq!((tok.bos_token_id, tok.eos_token_id), (Some(0), Some(1)));
    assert_eq!(tok.add_bos_token, Some(false));
    assert_eq!(tok.chat_template, Some("{{ messages }}"));
}

#[test]
fn tensor_infos_and_raw_data() {
    let bytes = sample_builder(3).build();
    let g = parse(&bytes);
    assert_eq!(g.alignment(), 32);
    assert_eq!(g.data_offset() % 32, 0);
    assert_eq!(g.tensors().len(), 2);
    let q = g.require_tensor("blk.0.q").expect("tensor");
    assert_eq!(q.dims(), [32, 2]);
    assert_eq!(q.ggml_type(), GgmlType::Q4_0);
    assert_eq!((q.n_elements(), q.n_bytes()), (64, 36));
    assert_eq!((q.row_len(), q.n_rows(), q.row_bytes()), (32, 2, 18));
    assert_eq!(q.offset(), 0);
    let norm = g.tensor("norm").expect("norm");
    assert_eq!(
        norm.offset(),
        64,
        "second tensor starts at the next multiple of 32"
    );
    let raw = g.tensor_data(q).expect("raw");
    assert_eq!(raw.len(), 36);
    assert_eq!(&raw[..2], f16_bits(0.5).to_le_bytes());
    assert_eq!(g.dequantize(norm).expect("f32"), [1.0, -2.5, 3.25, 0.0]);
    assert!(matches!(
        g.require_tensor("x"),
        Err(Error::TensorNotFound(_))
    ));
}

#[test]
fn custom_alignment_places_data_section() {
    let data: Vec<u8> = (0..8u8).flat_map(|i| f32::from(i).to_le_bytes()).collect();
    let bytes = Builder::new(3)
        .kv("general.alignment", Val::U32(256))
        .tensor("a", &[3], GgmlType::F32, data[..12].to_vec())
        .tensor("b", &[5], GgmlType::F32, data[12..].to_vec())
        .build();
    let g = parse(&bytes);
    assert_eq!(g.alignment(), 256);
    assert_eq!(g.data_offset(), 256);
    assert_eq!(g.tensor("b").map(TensorInfo::offset), Some(256));
    assert_eq!(
        g.dequantize(&g.tensors()[1]).expect("b"),
        [3.0, 4.0, 5.0, 6.0, 7.0]
    );

    // Patch the (first) alignment entry's value: the layout stays that of alignment 32.
    let good = Builder::new(3)
        .kv("general.alignment", Val::U32(32))
        .tensor("a", &[1], GgmlType::F32, vec![0; 4])
        .build();
    let value_at = 24 + 8 + "general.alignment".len() + 4;
    for bad in [0u32, 3, 48] {
        let mut bytes = good.clone();
        bytes[value_at..value_at + 4].copy_from_slice(&bad.to_le_bytes());
        assert!(matches!(parse_err(&bytes), Error::BadAlignment(a) if a == bad));
    }
    let bytes = Builder::new(3)
        .kv("general.alignment", Val::U64(32))
        .build();
    assert!(matches!(parse_err(&bytes), Error::WrongType { .. }));
}

#[test]
fn metadata_only_file_without_tensors() {
    let bytes = Builder::new(3)
        .kv("general.architecture", Val::Str("bert".into()))
        .build();
    let g = parse(&bytes);
    assert!(g.tensors().is_empty());
    assert!(g.data_section().is_empty());
    assert_eq!(g.architecture().ok(), Some("bert"));
    // An empty file body: header only.
    let header_only = Builder::new(2).build();
    let g = parse(&header_only);
    assert_eq!(g.metadata().len(), 0);
}

#[test]
fn header_errors() {
    assert!(matches!(
        parse_err(b""),
        Error::Truncated {
            offset: 0,
            what: "magic",
            ..
        }
    ));
    assert!(matches!(parse_err(b"GGML\x03\0\0\0"), Error::BadMagic { found } if &found == b"GGML"));
    let mut bytes = sample_builder(3).build();
    bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(parse_err(&bytes), Error::UnsupportedVersion(1)));
    bytes[4..8].copy_from_slice(&4u32.to_le_bytes());
    assert!(matches!(parse_err(&bytes), Error::UnsupportedVersion(4)));
    bytes[4..8].copy_from_slice(&3u32.to_be_bytes());
    assert!(matches!(parse_err(&bytes), Error::BigEndian(_)));
    let msg = parse_err(&bytes).to_string();
    assert!(msg.contains("big-endian"), "{msg}");
}

#[test]
fn absurd_counts_and_lengths_fail_fast() {
    // Tensor count beyond the cap.
    let mut bytes = Builder::new(3).build();
    bytes[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        parse_err(&bytes),
        Error::TooMany { what: "tensor", .. }
    ));
    // Metadata count within the cap but far more than the file can hold.
    let mut bytes = Builder::new(3).build();
    bytes[16..24].copy_from_slice(&1_000_000u64.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes),
        Error::Truncated {
            what: "metadata entries",
            ..
        }
    ));
    bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes),
        Error::TooMany {
            what: "metadata entry",
            ..
        }
    ));

    // A string length of u64::MAX.
    let mut bytes = Builder::new(3).kv("k", Val::Str("v".into())).build();
    let len_at = 24 + 8 + 1 + 4;
    bytes[len_at..len_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = parse_err(&bytes);
    assert!(matches!(err.root_cause(), Error::TooLong { .. }), "{err}");
    assert!(
        err.to_string().contains("\"k\""),
        "error names the key: {err}"
    );
    // A string length within the cap but past the end.
    bytes[len_at..len_at + 8].copy_from_slice(&1000u64.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::Truncated { .. }
    ));

    // An array claiming 2^27 strings in a tiny file.
    let mut bytes = Builder::new(3).kv("k", strs(&["a"])).build();
    let count_at = 24 + 8 + 1 + 4 + 4;
    bytes[count_at..count_at + 8].copy_from_slice(&(1u64 << 27).to_le_bytes());
    let err = parse_err(&bytes);
    assert!(
        matches!(
            err.root_cause(),
            Error::Truncated {
                what: "array elements",
                ..
            }
        ),
        "{err}"
    );
    bytes[count_at..count_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::TooMany { .. }
    ));

    // A key longer than the spec allows.
    let mut bytes = Builder::new(3).kv("k", Val::U8(1)).build();
    bytes[24..32].copy_from_slice(&70_000u64.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::TooLong {
            what: "metadata key",
            ..
        }
    ));
}

#[test]
fn malformed_metadata_values() {
    let bool_file = Builder::new(3).kv("b", Val::Bool(true)).build();
    let mut bytes = bool_file.clone();
    let value_at = 24 + 8 + 1 + 4;
    bytes[value_at] = 2;
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::InvalidBool { value: 2, offset } if *offset == value_at
    ));

    let mut bytes = Builder::new(3)
        .kv("b", Val::Arr(ValueType::Bool, vec![Val::Bool(false); 3]))
        .build();
    let last = bytes.len() - 1;
    bytes[last] = 7;
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::InvalidBool { value: 7, .. }
    ));

    let mut bytes = Builder::new(3).kv("s", Val::Str("ok".into())).build();
    let last = bytes.len() - 1;
    bytes[last] = 0xFF;
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::InvalidUtf8 { .. }
    ));

    let mut bytes = Builder::new(3).kv("u", Val::U8(1)).build();
    let type_at = 24 + 8 + 1;
    bytes[type_at..type_at + 4].copy_from_slice(&13u32.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes).root_cause(),
        Error::UnknownValueType { type_id: 13, .. }
    ));

    let bytes = Builder::new(3).kv("", Val::U8(1)).build();
    assert!(matches!(parse_err(&bytes).root_cause(), Error::EmptyKey));

    let bytes = Builder::new(3)
        .kv("a", Val::U8(1))
        .kv("a", Val::U8(2))
        .build();
    assert!(matches!(parse_err(&bytes), Error::DuplicateKey(k) if k == "a"));

    // Nesting: MAX_ARRAY_DEPTH levels parse, one more does not.
    let nest = |levels: u32| {
        let mut v = Val::Arr(ValueType::U8, vec![Val::U8(9)]);
        for _ in 1..levels {
            v = Val::Arr(ValueType::Array, vec![v]);
        }
        Builder::new(3).kv("n", v).build()
    };
    parse(&nest(MAX_ARRAY_DEPTH));
    assert!(matches!(
        parse_err(&nest(MAX_ARRAY_DEPTH + 1)).root_cause(),
        Error::NestingTooDeep { .. }
    ));
}

#[test]
fn malformed_tensor_infos() {
    let f32x4 = vec![0u8; 16];
    let err = |b: Builder| parse_err(&b.build());

    let e = err(Builder::new(3).tensor("t", &[1, 1, 1, 1, 4], GgmlType::F32, f32x4.clone()));
    assert!(
        matches!(e.root_cause(), Error::TooManyDims { n_dims: 5 }),
        "{e}"
    );
    assert!(
        e.to_string().contains("\"t\""),
        "error names the tensor: {e}"
    );

    let e = err(Builder::new(3).tensor("t", &[u64::MAX], GgmlType::F32, f32x4.clone()));
    assert!(
        matches!(e.root_cause(), Error::BadDimension { index: 0, .. }),
        "{e}"
    );

    let e = err(Builder::new(3).tensor("t", &[1 << 40, 1 << 40], GgmlType::F32, f32x4.clone()));
    assert!(
        matches!(e.root_cause(), Error::ElementCountOverflow { .. }),
        "{e}"
    );
    // A zero dimension makes the element count 0, but the row count still overflows.
    let e = err(Builder::new(3).tensor("t", &[0, 1 << 40, 1 << 40], GgmlType::F32, vec![]));
    assert!(
        matches!(e.root_cause(), Error::ElementCountOverflow { .. }),
        "{e}"
    );

    let e = err(Builder::new(3).tensor_raw("t", &[4], 4, f32x4.clone()));
    assert!(
        matches!(e.root_cause(), Error::UnknownTensorType { type_id: 4 }),
        "{e}"
    );

    let e = err(Builder::new(3).tensor("t", &[16], GgmlType::Q4_0, vec![0; 18]));
    assert!(
        matches!(e.root_cause(), Error::RowNotBlockAligned { ne0: 16, .. }),
        "{e}"
    );

    let e = err(Builder::new(3)
        .tensor("t", &[4], GgmlType::F32, f32x4.clone())
        .tensor("t", &[4], GgmlType::F32, f32x4.clone()));
    assert!(matches!(e, Error::DuplicateTensor(n) if n == "t"));

    // Data declared larger than what the file holds.
    let e = err(Builder::new(3).tensor("big", &[1024], GgmlType::F32, f32x4.clone()));
    match e {
        Error::TensorOutOfBounds {
            name,
            offset: 0,
            size: 4096,
            data_len: 16,
        } => {
            assert_eq!(name, "big");
        }
        other => panic!("unexpected {other}"),
    }
    let msg = err(Builder::new(3).tensor("big", &[1024], GgmlType::F32, f32x4.clone())).to_string();
    assert!(msg.contains("out of bounds for tensor \"big\""), "{msg}");

    // An offset that is not a multiple of the alignment.
    let mut bytes = Builder::new(3)
        .tensor("t", &[4], GgmlType::F32, f32x4.clone())
        .build();
    let offset_at = 24 + 8 + 1 + 4 + 8 + 4;
    bytes[offset_at..offset_at + 8].copy_from_slice(&4u64.to_le_bytes());
    assert!(matches!(
        parse_err(&bytes),
        Error::MisalignedTensor { offset: 4, .. }
    ));
    // An offset that overflows when the size is added.
    bytes[offset_at..offset_at + 8].copy_from_slice(&(u64::MAX - 31).to_le_bytes());
    assert!(matches!(parse_err(&bytes), Error::TensorOutOfBounds { .. }));

    // A zero-element tensor is fine; so is a zero-dimension (scalar) one.
    let g_bytes = Builder::new(3)
        .tensor("empty", &[0, 7], GgmlType::Q4_K, vec![])
        .tensor("scalar", &[], GgmlType::F32, 2.5f32.to_le_bytes().to_vec())
        .build();
    let g = parse(&g_bytes);
    assert_eq!(
        g.dequantize(&g.tensors()[0]).expect("empty"),
        Vec::<f32>::new()
    );
    assert_eq!(g.dequantize(&g.tensors()[1]).expect("scalar"), [2.5]);
}

#[test]
fn every_strict_prefix_is_an_error() {
    for version in [2, 3] {
        let bytes = sample_builder(version).build();
        parse(&bytes);
        for n in 0..bytes.len() {
            match Gguf::parse(&bytes[..n]) {
                Ok(_) => panic!("prefix of {n} of {} bytes parsed", bytes.len()),
                Err(e) => assert!(
                    matches!(
                        e.root_cause(),
                        Error::Truncated { .. } | Error::TensorOutOfBounds { .. }
                    ),
                    "prefix {n}: unexpected {e}"
                ),
            }
        }
    }
}

#[test]
fn unsupported_types_keep_raw_data() {
    let bytes = Builder::new(3)
        .tensor("k", &[256], GgmlType::Q3_K, vec![0; 110])
        .build();
    let g = parse(&bytes);
    let t = &g.tensors()[0];
    assert_eq!(g.tensor_data(t).map(<[u8]>::len).ok(), Some(110));
    let e = g.dequantize(t).expect_err("Q3_K is not supported");
    assert!(
        matches!(&e, Error::UnsupportedType { ty: GgmlType::Q3_K, tensor: Some(n) } if n == "k")
    );
    assert!(e.to_string().contains("Q3_K"), "{e}");
}

#[test]
fn gguf_file_opens_via_mmap() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("hearth-gguf-unit-{}.gguf", std::process::id()));
    std::fs::write(&path, sample_builder(3).build()).expect("write");
    let file = GgufFile::open(&path).expect("open");
    assert_eq!(file.path(), path);
    let g = file.parse().expect("parse");
    assert_eq!(g.architecture().ok(), Some("llama"));
    drop(g);
    drop(file);
    std::fs::write(&path, b"").expect("write empty");
    let empty = GgufFile::open(&path).and_then(|f| f.parse().map(|_| ()));
    assert!(empty.is_err(), "an empty file is an error");
    std::fs::remove_file(&path).expect("cleanup");
    assert!(matches!(GgufFile::open(&path), Err(Error::Io { .. })));
}

// ---------------------------------------------------------------------------------------------
// Scalar conversions
// ---------------------------------------------------------------------------------------------

#[test]
fn f16_and_bf16_conversions() {
    let cases: [(u16, f32); 10] = [
        (0x0000, 0.0),
        (0x3C00, 1.0),
        (0xC000, -2.0),
        (0x3555, 1365.0 / 4096.0),
        (0x7BFF, 65504.0),
        (0x0400, 1.0 / 16384.0),         // smallest normal, 2^-14
        (0x0001, 1.0 / 16_777_216.0),    // smallest subnormal, 2^-24
        (0x03FF, 1023.0 / 16_777_216.0), // largest subnormal, 1023 · 2^-24
        (0x7C00, f32::INFINITY),
        (0xFC00, f32::NEG_INFINITY),
    ];
    for (bits, want) in cases {
        assert_eq!(f16_to_f32(bits), want, "{bits:#06x}");
    }
    assert!(f16_to_f32(0x8000).is_sign_negative() && f16_to_f32(0x8000) == 0.0);
    assert!(f16_to_f32(0x7E00).is_nan());
    // Exhaustive: every finite f16 round-trips through the writer's independent encoder.
    for bits in 0..=u16::MAX {
        let v = f16_to_f32(bits);
        let exp = (bits >> 10) & 0x1f;
        if exp != 0 && exp != 0x1f {
            assert_eq!(f16_bits(v), bits);
        }
    }
    assert_eq!(bf16_to_f32(0x3F80), 1.0);
    assert_eq!(bf16_to_f32(0xC040), -3.0);
    assert_eq!(bf16_to_f32(0x4049), 3.140_625);
}

#[test]
fn block_layout_constants_match_ggml() {
    // From ggml-common.h's static_asserts.
    let expect = [
        (GgmlType::Q4_0, 32, 2 + 16),
        (GgmlType::Q4_1, 32, 4 + 16),
        (GgmlType::Q5_0, 32, 2 + 4 + 16),
        (GgmlType::Q5_1, 32, 4 + 4 + 16),
        (GgmlType::Q8_0, 32, 2 + 32),
        (GgmlType::Q4_K, 256, 4 + 12 + 128),
        (GgmlType::Q5_K, 256, 4 + 12 + 128 + 32),
        (GgmlType::Q6_K, 256, 2 + 16 + 3 * 256 / 4),
        (GgmlType::F32, 1, 4),
        (GgmlType::F16, 1, 2),
        (GgmlType::BF16, 1, 2),
    ];
    for (ty, block, size) in expect {
        assert_eq!((ty.block_size(), ty.type_size()), (block, size), "{ty}");
        assert!(ty.can_dequantize());
    }
    for ty in GgmlType::ALL {
        assert_eq!(GgmlType::from_id(ty.id()), Some(ty));
    }
    for removed in [4, 5, 31, 32, 33, 36, 37, 38, 42, u32::MAX] {
        assert_eq!(GgmlType::from_id(removed), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Dequantization, one test per type
// ---------------------------------------------------------------------------------------------

/// Puts blocks into a one-tensor file of `values` elements, parses it and dequantizes.
fn dequantize_via_file(ty: GgmlType, values: u64, blocks: Vec<u8>) -> Vec<f32> {
    let bytes = Builder::new(3).tensor("w", &[values], ty, blocks).build();
    let g = parse(&bytes);
    let t = g.require_tensor("w").expect("w");
    assert_eq!(t.n_elements(), values);
    let out = g.dequantize(t).expect("dequantize");
    assert_eq!(out.len() as u64, values);
    out
}

fn assert_exact(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(g.to_bits() == w.to_bits(), "value {i}: got {g}, want {w}");
    }
}

/// Deterministic quant values in `0..range`, different for each block.
fn levels(n: usize, range: u32, seed: u32) -> Vec<u32> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed * 97) >> 7) % range)
        .collect()
}

#[test]
fn dequantize_plain_types() {
    let vals = [1.0f32, -0.5, 3.0e38, f32::MIN_POSITIVE, -0.0, 42.125];
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_exact(&dequantize_via_file(GgmlType::F32, 6, bytes), &vals);

    let halves = [1.0f32, -2.0, 0.5, 65504.0, -0.000_061_035_156, 0.0];
    let bytes: Vec<u8> = halves
        .iter()
        .flat_map(|v| f16_bits(*v).to_le_bytes())
        .collect();
    assert_exact(&dequantize_via_file(GgmlType::F16, 6, bytes), &halves);

    let bf = [1.0f32, -3.0, 3.140_625, 1.0e30_f32, 0.0];
    let bytes: Vec<u8> = bf
        .iter()
        .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
        .collect();
    let want: Vec<f32> = bf
        .iter()
        .map(|v| f32::from_bits(v.to_bits() & 0xFFFF_0000))
        .collect();
    assert_exact(&dequantize_via_file(GgmlType::BF16, 5, bytes), &want);
}

#[test]
fn dequantize_q4_0() {
    let scales = [0.5f32, -1.25, 0.0078125];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &d) in scales.iter().enumerate() {
        let l = levels(32, 16, b as u32);
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend((0..16).map(|j| (l[j] | (l[j + 16] << 4)) as u8));
        want.extend(l.iter().map(|&q| d * (q as f32 - 8.0)));
    }
    assert_exact(&dequantize_via_file(GgmlType::Q4_0, 96, blocks), &want);
}

#[test]
fn dequantize_q4_1() {
    let params = [(0.25f32, -1.5f32), (-0.125, 4.0)];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &(d, m)) in params.iter().enumerate() {
        let l = levels(32, 16, b as u32 + 5);
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend(f16_bits(m).to_le_bytes());
        blocks.extend((0..16).map(|j| (l[j] | (l[j + 16] << 4)) as u8));
        want.extend(l.iter().map(|&q| d * q as f32 + m));
    }
    assert_exact(&dequantize_via_file(GgmlType::Q4_1, 64, blocks), &want);
}

/// Packs 32 five-bit levels as ggml's `quantize_row_q5_*` does: low nibbles in `qs`, fifth bits
/// in the `qh` word (bit j for value j, bit j + 16 for value j + 16).
fn pack_q5(l: &[u32]) -> ([u8; 4], Vec<u8>) {
    let mut qh = 0u32;
    let mut qs = Vec::new();
    for j in 0..16 {
        qs.push(((l[j] & 0xF) | ((l[j + 16] & 0xF) << 4)) as u8);
        qh |= ((l[j] >> 4) & 1) << j;
        qh |= ((l[j + 16] >> 4) & 1) << (j + 16);
    }
    (qh.to_le_bytes(), qs)
}

#[test]
fn dequantize_q5_0() {
    let scales = [0.5f32, -0.0625];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &d) in scales.iter().enumerate() {
        let l = levels(32, 32, b as u32 + 11);
        assert!(l.iter().any(|&q| q >= 16) && l.iter().any(|&q| q < 16));
        let (qh, qs) = pack_q5(&l);
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend(qh);
        blocks.extend(qs);
        want.extend(l.iter().map(|&q| d * (q as f32 - 16.0)));
    }
    assert_exact(&dequantize_via_file(GgmlType::Q5_0, 64, blocks), &want);
}

#[test]
fn dequantize_q5_1() {
    let params = [(0.125f32, -2.0f32), (1.0, 0.5)];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &(d, m)) in params.iter().enumerate() {
        let l = levels(32, 32, b as u32 + 3);
        let (qh, qs) = pack_q5(&l);
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend(f16_bits(m).to_le_bytes());
        blocks.extend(qh);
        blocks.extend(qs);
        want.extend(l.iter().map(|&q| d * q as f32 + m));
    }
    assert_exact(&dequantize_via_file(GgmlType::Q5_1, 64, blocks), &want);
}

#[test]
fn dequantize_q8_0() {
    let scales = [0.5f32, -0.001_953_125];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &d) in scales.iter().enumerate() {
        let q: Vec<i8> = (0..32)
            .map(|i| (i * 8 + b as i32 * 3 - 128) as i8)
            .collect();
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend(q.iter().map(|v| v.to_le_bytes()[0]));
        want.extend(q.iter().map(|&v| d * f32::from(v)));
    }
    assert!(want.contains(&(-128.0 * 0.5)), "covers the i8 minimum");
    assert_exact(&dequantize_via_file(GgmlType::Q8_0, 64, blocks), &want);
}

/// Packs eight 6-bit scales and mins into 12 bytes exactly as ggml's `quantize_row_q4_K_ref`
/// does (the encoder side, independent of the decoder's `get_scale_min_k4`).
fn pack_k_scales(sc: [u8; 8], m: [u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..8 {
        if j < 4 {
            s[j] = sc[j];
            s[j + 4] = m[j];
        } else {
            s[j + 4] = (sc[j] & 0xF) | ((m[j] & 0xF) << 4);
            s[j - 4] |= (sc[j] >> 4) << 6;
            s[j] |= (m[j] >> 4) << 6;
        }
    }
    s
}

/// Sub-block scales and mins using the full 6-bit range, so the packed high bits matter.
const K_SC: [u8; 8] = [1, 63, 17, 32, 48, 5, 63, 33];
const K_M: [u8; 8] = [0, 7, 63, 40, 16, 59, 1, 32];

#[test]
fn dequantize_q4_k() {
    let params = [(0.5f32, 0.25f32), (-0.015625, 2.0)];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &(d, dmin)) in params.iter().enumerate() {
        let (sc, m) = if b == 0 { (K_SC, K_M) } else { (K_M, K_SC) };
        let l = levels(256, 16, b as u32 + 21);
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend(f16_bits(dmin).to_le_bytes());
        blocks.extend(pack_k_scales(sc, m));
        // quantize_row_q4_K_ref: q[l] = L[j + l] | (L[j + l + 32] << 4) per 64 values.
        for j in (0..256).step_by(64) {
            blocks.extend((0..32).map(|i| (l[j + i] | (l[j + i + 32] << 4)) as u8));
        }
        want.extend(l.iter().enumerate().map(|(i, &q)| {
            let s = i / 32;
            (d * f32::from(sc[s])) * q as f32 - dmin * f32::from(m[s])
        }));
    }
    assert_exact(&dequantize_via_file(GgmlType::Q4_K, 512, blocks), &want);
}

#[test]
fn dequantize_q5_k() {
    let params = [(0.25f32, 0.5f32), (1.0, -0.125)];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &(d, dmin)) in params.iter().enumerate() {
        let (sc, m) = if b == 0 { (K_SC, K_M) } else { (K_M, K_SC) };
        let l = levels(256, 32, b as u32 + 40);
        blocks.extend(f16_bits(d).to_le_bytes());
        blocks.extend(f16_bits(dmin).to_le_bytes());
        blocks.extend(pack_k_scales(sc, m));
        // quantize_row_q5_K_ref: fifth bits in qh with masks m1 = 1, m2 = 2 shifted left by 2
        // for each 64 values; low nibbles in ql like Q4_K.
        let mut qh = [0u8; 32];
        let mut ql = Vec::new();
        let (mut m1, mut m2) = (1u8, 2u8);
        for n in (0..256).step_by(64) {
            for j in 0..32 {
                let mut l1 = l[n + j];
                if l1 > 15 {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                let mut l2 = l[n + j + 32];
                if l2 > 15 {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql.push((l1 | (l2 << 4)) as u8);
            }
            m1 <<= 2;
            m2 <<= 2;
        }
        blocks.extend(qh);
        blocks.extend(ql);
        want.extend(l.iter().enumerate().map(|(i, &q)| {
            let s = i / 32;
            (d * f32::from(sc[s])) * q as f32 - dmin * f32::from(m[s])
        }));
    }
    assert_exact(&dequantize_via_file(GgmlType::Q5_K, 512, blocks), &want);
}

#[test]
fn dequantize_q6_k() {
    let ds = [0.5f32, -0.0078125];
    let mut blocks = Vec::new();
    let mut want = Vec::new();
    for (b, &d) in ds.iter().enumerate() {
        let scales: Vec<i8> = (0..16)
            .map(|i| [-128i8, 127, -1, 0, 5, -37, 64, 100][(i + b) % 8])
            .collect();
        let l = levels(256, 64, b as u32 + 7);
        // quantize_row_q6_K_ref packing.
        let mut ql = [0u8; 128];
        let mut qh = [0u8; 64];
        for (half, j) in (0..256).step_by(128).enumerate() {
            for i in 0..32 {
                let q1 = l[j + i] & 0xF;
                let q2 = l[j + i + 32] & 0xF;
                let q3 = l[j + i + 64] & 0xF;
                let q4 = l[j + i + 96] & 0xF;
                ql[64 * half + i] = (q1 | (q3 << 4)) as u8;
                ql[64 * half + i + 32] = (q2 | (q4 << 4)) as u8;
                qh[32 * half + i] = ((l[j + i] >> 4)
                    | ((l[j + i + 32] >> 4) << 2)
                    | ((l[j + i + 64] >> 4) << 4)
                    | ((l[j + i + 96] >> 4) << 6)) as u8;
            }
        }
        blocks.extend(ql);
        blocks.extend(qh);
        blocks.extend(scales.iter().map(|s| s.to_le_bytes()[0]));
        blocks.extend(f16_bits(d).to_le_bytes());
        want.extend(
            l.iter()
                .enumerate()
                .map(|(i, &q)| d * f32::from(scales[i / 16]) * (q as f32 - 32.0)),
        );
    }
    assert_exact(&dequantize_via_file(GgmlType::Q6_K, 512, blocks), &want);
}

#[test]
fn dequantize_blocks_checks_sizes() {
    let mut out = [0.0f32; 32];
    assert!(matches!(
        dequantize_blocks(GgmlType::Q4_0, &[0; 17], &mut out),
        Err(Error::BlockSizeMismatch { .. })
    ));
    assert!(matches!(
        dequantize_blocks(GgmlType::Q4_0, &[0; 36], &mut out),
        Err(Error::BlockSizeMismatch { .. })
    ));
    assert!(dequantize_blocks(GgmlType::Q4_0, &[0; 18], &mut out).is_ok());
    assert!(matches!(
        dequantize_blocks(GgmlType::IQ2_XXS, &[0; 66], &mut [0.0; 256]),
        Err(Error::UnsupportedType {
            ty: GgmlType::IQ2_XXS,
            tensor: None
        })
    ));
}

// ---------------------------------------------------------------------------------------------
// Property tests: hostile input never panics
// ---------------------------------------------------------------------------------------------

/// Parses and, on success, dequantizes everything, touching every accessor path.
fn exercise(bytes: &[u8]) {
    if let Ok(g) = Gguf::parse(bytes) {
        for (_, v) in g.metadata() {
            if let Some(a) = v.as_array() {
                let _ = a.iter().count();
                let _ = (a.to_strs(), a.to_u32s(), a.to_i32s(), a.to_f32s());
            }
        }
        let _ = g.tokenizer();
        let _ = (
            g.block_count(),
            g.head_count_kv(),
            g.rope_freq_base(),
            g.vocab_size(),
        );
        for t in g.tensors() {
            let _ = (
                t.dims(),
                t.row_len(),
                t.n_rows(),
                t.row_bytes(),
                g.tensor_data(t),
            );
            if let Ok(values) = g.dequantize(t) {
                assert_eq!(values.len() as u64, t.n_elements());
            }
        }
    }
}

fn sample_file() -> Vec<u8> {
    sample_builder(3)
        .tensor("k4", &[256], GgmlType::Q4_K, vec![0x5A; 144])
        .tensor("k6", &[256], GgmlType::Q6_K, vec![0xA5; 210])
        .build()
}

proptest! {
    // 256 cases by default; set PROPTEST_CASES for a longer soak.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
        // Also behind a valid header, so the fuzzing reaches the metadata parser.
        let mut framed = b"GGUF\x03\0\0\0".to_vec();
        framed.extend(&bytes);
        exercise(&framed);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        words in prop::collection::vec(
            (any::<prop::sample::Index>(),
             prop_oneof![Just(0u64), Just(1), Just(u64::MAX), Just(1 << 32), Just(1 << 62), any::<u64>()]),
            0..3),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = sample_file();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Overwrite 8-byte words with edge values: these hit counts, lengths, dims and offsets.
        for (at, value) in words {
            let i = at.index(bytes.len() - 8);
            bytes[i..i + 8].copy_from_slice(&value.to_le_bytes());
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        exercise(&bytes);
    }

    #[test]
    fn dequantize_blocks_never_panics(
        ty in prop::sample::select(GgmlType::ALL.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..1200),
        n in 0usize..2000,
    ) {
        let mut out = vec![0.0f32; n];
        let _ = dequantize_blocks(ty, &bytes, &mut out);
        // And with exactly matching sizes, so the block decoders run on random bytes.
        let blocks = bytes.len() / ty.type_size();
        let mut out = vec![0.0f32; blocks * ty.block_size()];
        let res = dequantize_blocks(ty, &bytes[..blocks * ty.type_size()], &mut out);
        prop_assert_eq!(res.is_ok(), ty.can_dequantize());
    }
}
