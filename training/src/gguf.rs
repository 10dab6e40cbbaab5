//! A zero-copy reader for GGUF model files (versions 2 and 3), with f32 dequantization of the
//! common ggml tensor types.
//!
//! # The format
//!
//! A GGUF file is little-endian throughout and laid out as:
//!
//! ```text
//! magic            4 bytes  "GGUF"
//! version          u32      2 or 3 (v1 used u32 counts and lengths; v3 only added big-endian files)
//! tensor_count     u64
//! metadata_count   u64
//! metadata         metadata_count × { key: string, value_type: u32, value }
//! tensor infos     tensor_count × { name: string, n_dims: u32, dims: n_dims × u64,
//!                                    ggml_type: u32, offset: u64 }
//! padding          up to the next multiple of `general.alignment` (default 32)
//! tensor data      each tensor at `data_start + offset`, offsets multiples of the alignment
//! ```
//!
//! A `string` is a u64 byte length followed by UTF-8 bytes (no terminator). A metadata value is
//! one of u8, i8, u16, i16, u32, i32, f32, bool (one byte, 0 or 1), string, u64, i64, f64, or an
//! array: an element type (u32), a u64 element count, then the elements back to back. Arrays may
//! hold arrays. `dims[0]` is the innermost (contiguous) dimension, so a matrix with `dims = [576,
//! 1536]` has 1536 rows of 576 values, and quantization blocks never straddle rows.
//!
//! # Invariants
//!
//! The bytes are untrusted: [`Gguf::parse`] never panics, never reads out of bounds, and uses
//! checked arithmetic for every offset, length and element count. Any problem is a [`Error`]
//! that names what was being read and where. Counts and lengths read from the file are capped
//! (see the `MAX_*` constants) and checked against the bytes actually left *before* anything is
//! allocated, so a hostile header cannot make the reader allocate more than a small multiple of
//! the file's own size.
//!
//! Once [`Gguf::parse`] succeeds, every tensor's byte range has been checked to lie inside the
//! data section, every string is valid UTF-8, and every metadata array has been walked once, so
//! the accessors are cheap and infallible apart from "missing key" / "wrong type".
//!
//! Nothing is copied: strings, metadata arrays and tensor bytes all borrow from the input slice,
//! which is normally a read-only memory map ([`GgufFile`]). Quantized tensors stay available as
//! raw ggml blocks ([`Gguf::tensor_data`]) for kernels that work on them directly;
//! [`Gguf::dequantize`] expands one to f32 using the block layouts of ggml's `ggml-common.h` and
//! the reference `dequantize_row_*` functions in `ggml-quants.c`.

mod dequant;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

pub use crate::error::Error;

pub use dequant::{bf16_to_f32, dequantize_blocks, f16_to_f32};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// The data alignment used when a file has no `general.alignment` key.
pub const DEFAULT_ALIGNMENT: u32 = 32;
/// The most tensors a file may declare. Real models have at most tens of thousands.
pub const MAX_TENSORS: u64 = 1 << 20;
/// The most metadata entries a file may declare.
pub const MAX_METADATA_ENTRIES: u64 = 1 << 20;
/// The longest metadata key, in bytes (the GGUF spec's limit).
pub const MAX_KEY_LEN: u64 = 65_535;
/// The longest tensor name, in bytes. ggml itself allows 63; this is generous on purpose.
pub const MAX_TENSOR_NAME_LEN: u64 = 65_535;
/// The longest string value, in bytes (chat templates are tens of kilobytes at most).
pub const MAX_STRING_LEN: u64 = 1 << 28;
/// The most elements one metadata array may hold (vocabularies are a few hundred thousand).
pub const MAX_ARRAY_LEN: u64 = 1 << 28;
/// How deeply metadata arrays may nest; bounds the parser's recursion.
pub const MAX_ARRAY_DEPTH: u32 = 8;
/// The most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;

/// The smallest possible encoded metadata entry: key length, value type, a one-byte value. (Keys
/// must not be empty, but that is reported as such rather than as truncation.)
const MIN_METADATA_ENTRY_LEN: u64 = 8 + 4 + 1;
/// The smallest possible encoded tensor info: name length, `n_dims`, type, offset.
const MIN_TENSOR_INFO_LEN: u64 = 8 + 4 + 4 + 8;

/// The type of a tensor's elements: a plain number type or a ggml block quantization.
///
/// Variant names follow ggml's `GGML_TYPE_*` names so they can be matched against its sources.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half float.
    F16,
    /// 32 × 4-bit, one f16 scale: `d * (q - 8)`.
    Q4_0,
    /// 32 × 4-bit, f16 scale and min: `d * q + m`.
    Q4_1,
    /// 32 × 5-bit, one f16 scale: `d * (q - 16)`.
    Q5_0,
    /// 32 × 5-bit, f16 scale and min: `d * q + m`.
    Q5_1,
    /// 32 × i8, one f16 scale: `d * q`.
    Q8_0,
    /// 32 × i8 with scale and sum (an intermediate format).
    Q8_1,
    /// K-quant, 2-bit.
    Q2_K,
    /// K-quant, 3-bit.
    Q3_K,
    /// K-quant, 256 × 4-bit in 8 sub-blocks with 6-bit scales and mins.
    Q4_K,
    /// K-quant, 256 × 5-bit in 8 sub-blocks with 6-bit scales and mins.
    Q5_K,
    /// K-quant, 256 × 6-bit in 16 sub-blocks with 8-bit scales.
    Q6_K,
    /// K-quant, 8-bit (an intermediate format).
    Q8_K,
    /// i-quant.
    IQ2_XXS,
    /// i-quant.
    IQ2_XS,
    /// i-quant.
    IQ3_XXS,
    /// i-quant.
    IQ1_S,
    /// i-quant, non-linear 4-bit.
    IQ4_NL,
    /// i-quant.
    IQ3_S,
    /// i-quant.
    IQ2_S,
    /// i-quant.
    IQ4_XS,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
    /// i-quant.
    IQ1_M,
    /// bfloat16.
    BF16,
    /// Ternary quant.
    TQ1_0,
    /// Ternary quant.
    TQ2_0,
    /// Microscaling FP4.
    MXFP4,
    /// NVIDIA FP4.
    NVFP4,
    /// 1-bit quant.
    Q1_0,
}

impl GgmlType {
    /// Every known type, in id order.
    pub const ALL: [GgmlType; 34] = [
        Self::F32,
        Self::F16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q8_1,
        Self::Q2_K,
        Self::Q3_K,
        Self::Q4_K,
        Self::Q5_K,
        Self::Q6_K,
        Self::Q8_K,
        Self::IQ2_XXS,
        Self::IQ2_XS,
        Self::IQ3_XXS,
        Self::IQ1_S,
        Self::IQ4_NL,
        Self::IQ3_S,
        Self::IQ2_S,
        Self::IQ4_XS,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::I64,
        Self::F64,
        Self::IQ1_M,
        Self::BF16,
        Self::TQ1_0,
        Self::TQ2_0,
        Self::MXFP4,
        Self::NVFP4,
        Self::Q1_0,
    ];

    /// `(ggml type id, name, values per block, bytes per block)`, from ggml's type traits.
    /// Ids 4, 5, 31–33 and 36–38 belonged to types ggml has since removed.
    const fn traits(self) -> (u32, &'static str, usize, usize) {
        match self {
            Self::F32 => (0, "F32", 1, 4),
            Self::F16 => (1, "F16", 1, 2),
            Self::Q4_0 => (2, "Q4_0", 32, 18),
            Self::Q4_1 => (3, "Q4_1", 32, 20),
            Self::Q5_0 => (6, "Q5_0", 32, 22),
            Self::Q5_1 => (7, "Q5_1", 32, 24),
            Self::Q8_0 => (8, "Q8_0", 32, 34),
            Self::Q8_1 => (9, "Q8_1", 32, 36),
            Self::Q2_K => (10, "Q2_K", 256, 84),
            Self::Q3_K => (11, "Q3_K", 256, 110),
            Self::Q4_K => (12, "Q4_K", 256, 144),
            Self::Q5_K => (13, "Q5_K", 256, 176),
            Self::Q6_K => (14, "Q6_K", 256, 210),
            Self::Q8_K => (15, "Q8_K", 256, 292),
            Self::IQ2_XXS => (16, "IQ2_XXS", 256, 66),
            Self::IQ2_XS => (17, "IQ2_XS", 256, 74),
            Self::IQ3_XXS => (18, "IQ3_XXS", 256, 98),
            Self::IQ1_S => (19, "IQ1_S", 256, 50),
            Self::IQ4_NL => (20, "IQ4_NL", 32, 18),
            Self::IQ3_S => (21, "IQ3_S", 256, 110),
            Self::IQ2_S => (22, "IQ2_S", 256, 82),
            Self::IQ4_XS => (23, "IQ4_XS", 256, 136),
            Self::I8 => (24, "I8", 1, 1),
            Self::I16 => (25, "I16", 1, 2),
            Self::I32 => (26, "I32", 1, 4),
            Self::I64 => (27, "I64", 1, 8),
            Self::F64 => (28, "F64", 1, 8),
            Self::IQ1_M => (29, "IQ1_M", 256, 56),
            Self::BF16 => (30, "BF16", 1, 2),
            Self::TQ1_0 => (34, "TQ1_0", 256, 54),
            Self::TQ2_0 => (35, "TQ2_0", 256, 66),
            Self::MXFP4 => (39, "MXFP4", 32, 17),
            Self::NVFP4 => (40, "NVFP4", 64, 36),
            Self::Q1_0 => (41, "Q1_0", 128, 18),
        }
    }

    /// The type with this ggml id, if known.
    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// ggml's numeric id for the type, as stored in GGUF tensor infos.
    pub const fn id(self) -> u32 {
        self.traits().0
    }

    /// ggml's name for the type, e.g. `"Q4_K"`.
    pub const fn name(self) -> &'static str {
        self.traits().1
    }

    /// How many values one block holds (1 for plain number types).
    pub const fn block_size(self) -> usize {
        self.traits().2
    }

    /// How many bytes one block takes.
    pub const fn type_size(self) -> usize {
        self.traits().3
    }

    /// Whether values are stored in multi-value quantization blocks.
    pub const fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    /// Whether [`dequantize_blocks`] supports the type.
    pub const fn can_dequantize(self) -> bool {
        matches!(
            self,
            Self::F32
                | Self::F16
                | Self::BF16
                | Self::Q4_0
                | Self::Q4_1
                | Self::Q5_0
                | Self::Q5_1
                | Self::Q8_0
                | Self::Q4_K
                | Self::Q5_K
                | Self::Q6_K
        )
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a metadata value, with its GGUF id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// id 0
    U8,
    /// id 1
    I8,
    /// id 2
    U16,
    /// id 3
    I16,
    /// id 4
    U32,
    /// id 5
    I32,
    /// id 6
    F32,
    /// id 7: one byte, 0 or 1
    Bool,
    /// id 8: u64 length and UTF-8 bytes
    String,
    /// id 9: element type, u64 count, elements
    Array,
    /// id 10
    U64,
    /// id 11
    I64,
    /// id 12
    F64,
}

impl ValueType {
    /// The type with this GGUF id, if any.
    pub const fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::String,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => return None,
        })
    }

    /// The GGUF id of the type.
    pub const fn id(self) -> u32 {
        match self {
            Self::U8 => 0,
            Self::I8 => 1,
            Self::U16 => 2,
            Self::I16 => 3,
            Self::U32 => 4,
            Self::I32 => 5,
            Self::F32 => 6,
            Self::Bool => 7,
            Self::String => 8,
            Self::Array => 9,
            Self::U64 => 10,
            Self::I64 => 11,
            Self::F64 => 12,
        }
    }

    /// The encoded size of one value, for fixed-size types.
    pub const fn fixed_size(self) -> Option<u64> {
        match self {
            Self::U8 | Self::I8 | Self::Bool => Some(1),
            Self::U16 | Self::I16 => Some(2),
            Self::U32 | Self::I32 | Self::F32 => Some(4),
            Self::U64 | Self::I64 | Self::F64 => Some(8),
            Self::String | Self::Array => None,
        }
    }

    /// The smallest possible encoded size of one value: a string's length prefix, an array's
    /// element type and count.
    const fn min_size(self) -> u64 {
        match self.fixed_size() {
            Some(n) => n,
            None => match self {
                Self::Array => 12,
                _ => 8,
            },
        }
    }

    /// A lower-case name, e.g. `"u32"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::F32 => "f32",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Array => "array",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F64 => "f64",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One metadata value, borrowing strings and arrays from the file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetadataValue<'a> {
    /// u8
    U8(u8),
    /// i8
    I8(i8),
    /// u16
    U16(u16),
    /// i16
    I16(i16),
    /// u32
    U32(u32),
    /// i32
    I32(i32),
    /// f32
    F32(f32),
    /// bool
    Bool(bool),
    /// string
    String(&'a str),
    /// array (possibly of arrays)
    Array(MetadataArray<'a>),
    /// u64
    U64(u64),
    /// i64
    I64(i64),
    /// f64
    F64(f64),
}

impl<'a> MetadataValue<'a> {
    /// The value's type.
    pub const fn value_type(&self) -> ValueType {
        match self {
            Self::U8(_) => ValueType::U8,
            Self::I8(_) => ValueType::I8,
            Self::U16(_) => ValueType::U16,
            Self::I16(_) => ValueType::I16,
            Self::U32(_) => ValueType::U32,
            Self::I32(_) => ValueType::I32,
            Self::F32(_) => ValueType::F32,
            Self::Bool(_) => ValueType::Bool,
            Self::String(_) => ValueType::String,
            Self::Array(_) => ValueType::Array,
            Self::U64(_) => ValueType::U64,
            Self::I64(_) => ValueType::I64,
            Self::F64(_) => ValueType::F64,
        }
    }

    /// A description of the type for messages, e.g. `"array<string>"`.
    pub fn type_description(&self) -> String {
        match self {
            Self::Array(a) => format!("array<{}>", a.elem_type()),
            other => other.value_type().name().to_owned(),
        }
    }

    /// The value as an `i128` if it is any integer type (lossless for all of them).
    fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Self::U8(v) => v.into(),
            Self::I8(v) => v.into(),
            Self::U16(v) => v.into(),
            Self::I16(v) => v.into(),
            Self::U32(v) => v.into(),
            Self::I32(v) => v.into(),
            Self::U64(v) => v.into(),
            Self::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as a `u32`, if it is an integer of any width whose value fits. Converters
    /// disagree on integer widths (`context_length` appears as u32, u64 and i32), so this is
    /// deliberately lenient about the type but strict about the value.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_integer().and_then(|v| u32::try_from(v).ok())
    }

    /// The value as a `u64`, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_integer().and_then(|v| u64::try_from(v).ok())
    }

    /// The value as an `i64`, if it is an integer of any width whose value fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_integer().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as an `f32`, if it is an f32, or an f64 (rounded to the nearest f32).
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Self::F32(v) => Some(v),
            // Rounding is the point: the model code works in f32.
            #[allow(clippy::cast_possible_truncation)]
            Self::F64(v) => Some(v as f32),
            _ => None,
        }
    }

    /// The value as an `f64`, if it is an f32 or f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a bool, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an array, if it is one.
    pub fn as_array(&self) -> Option<MetadataArray<'a>> {
        match *self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// A metadata array: its element type, its length, and its encoded elements, which were
/// validated when the file was parsed and are decoded on demand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetadataArray<'a> {
    elem_type: ValueType,
    len: usize,
    /// The encoded elements (without the element type and count).
    raw: &'a [u8],
    /// The nesting depth of the elements, so nested arrays re-parse under the same limit.
    depth: u32,
}

impl<'a> MetadataArray<'a> {
    /// The type of the elements.
    pub const fn elem_type(&self) -> ValueType {
        self.elem_type
    }

    /// The number of elements.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoded elements, little-endian and back to back.
    pub const fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The elements, decoded one by one.
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter {
            cursor: Cursor::new(self.raw),
            elem_type: self.elem_type,
            remaining: self.len,
            depth: self.depth,
        }
    }

    /// The elements as strings, if this is an array of strings.
    pub fn to_strs(&self) -> Option<Vec<&'a str>> {
        (self.elem_type == ValueType::String)
            .then(|| self.iter().filter_map(|v| v.as_str()).collect())
    }

    /// The elements, if this is an array of u32.
    pub fn to_u32s(&self) -> Option<Vec<u32>> {
        (self.elem_type == ValueType::U32).then(|| self.fixed::<4, _>(u32::from_le_bytes))
    }

    /// The elements, if this is an array of i32.
    pub fn to_i32s(&self) -> Option<Vec<i32>> {
        (self.elem_type == ValueType::I32).then(|| self.fixed::<4, _>(i32::from_le_bytes))
    }

    /// The elements, if this is an array of f32.
    pub fn to_f32s(&self) -> Option<Vec<f32>> {
        (self.elem_type == ValueType::F32).then(|| self.fixed::<4, _>(f32::from_le_bytes))
    }

    /// Decodes fixed-size elements straight from the raw bytes (no per-element parsing).
    fn fixed<const N: usize, T>(&self, decode: impl Fn([u8; N]) -> T) -> Vec<T> {
        self.raw
            .as_chunks::<N>()
            .0
            .iter()
            .map(|b| decode(*b))
            .collect()
    }
}

impl<'a> IntoIterator for MetadataArray<'a> {
    type Item = MetadataValue<'a>;
    type IntoIter = ArrayIter<'a>;

    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`MetadataArray`]'s elements.
#[derive(Clone, Debug)]
pub struct ArrayIter<'a> {
    cursor: Cursor<'a>,
    elem_type: ValueType,
    remaining: usize,
    depth: u32,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = MetadataValue<'a>;

    fn next(&mut self) -> Option<MetadataValue<'a>> {
        if self.remaining == 0 {
            return None;
        }
        // The bytes were validated by `Gguf::parse`, so this cannot fail; if it somehow did,
        // ending the iteration early is the only non-panicking answer.
        match self.cursor.value(self.elem_type, self.depth) {
            Ok(v) => {
                self.remaining -= 1;
                Some(v)
            }
            Err(_) => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

/// Where one tensor lives and what it holds. Only [`Gguf::parse`] creates these, after checking
/// that the tensor's bytes lie inside the data section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo<'a> {
    name: &'a str,
    dims: [u64; MAX_DIMS],
    n_dims: usize,
    ggml_type: GgmlType,
    offset: u64,
    n_elements: u64,
    n_bytes: u64,
    n_rows: u64,
    row_bytes: u64,
}

impl<'a> TensorInfo<'a> {
    /// The tensor's name, e.g. `"blk.0.attn_q.weight"`.
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// The dimensions, innermost (contiguous) first.
    pub fn dims(&self) -> &[u64] {
        self.dims.get(..self.n_dims).unwrap_or(&self.dims)
    }

    /// The element type.
    pub const fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// The byte offset of the tensor's data within the data section.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of elements (the product of the dimensions).
    pub const fn n_elements(&self) -> u64 {
        self.n_elements
    }

    /// The size of the tensor's data in bytes.
    pub const fn n_bytes(&self) -> u64 {
        self.n_bytes
    }

    /// The length of one row (`dims[0]`), always a whole number of blocks.
    pub const fn row_len(&self) -> u64 {
        if self.n_dims == 0 { 1 } else { self.dims[0] }
    }

    /// The number of rows (the product of all dimensions but the first).
    pub const fn n_rows(&self) -> u64 {
        self.n_rows
    }

    /// The size of one row in bytes.
    pub const fn row_bytes(&self) -> u64 {
        self.row_bytes
    }
}

/// The tokenizer description stored under `tokenizer.*`.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenizerMetadata<'a> {
    /// `tokenizer.ggml.model`: `"gpt2"` (byte-level BPE), `"llama"` (SentencePiece), `"bert"`…
    pub model: &'a str,
    /// `tokenizer.ggml.pre`: the pre-tokenizer variant (e.g. `"smollm"`), if given.
    pub pre: Option<&'a str>,
    /// `tokenizer.ggml.tokens`: the vocabulary, indexed by token id.
    pub tokens: Vec<&'a str>,
    /// `tokenizer.ggml.scores`, if given (SentencePiece models).
    pub scores: Option<Vec<f32>>,
    /// `tokenizer.ggml.token_type`, if given (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte).
    pub token_types: Option<Vec<i32>>,
    /// `tokenizer.ggml.merges`, if given (BPE models), as `"left right"` strings.
    pub merges: Option<Vec<&'a str>>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos_token_id: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos_token_id: Option<u32>,
    /// `tokenizer.ggml.unknown_token_id`.
    pub unknown_token_id: Option<u32>,
    /// `tokenizer.ggml.padding_token_id`.
    pub padding_token_id: Option<u32>,
    /// `tokenizer.ggml.add_bos_token`.
    pub add_bos_token: Option<bool>,
    /// `tokenizer.ggml.add_eos_token`.
    pub add_eos_token: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix`.
    pub add_space_prefix: Option<bool>,
    /// `tokenizer.chat_template`: a Jinja template, if given.
    pub chat_template: Option<&'a str>,
}

/// A parsed GGUF file, borrowing everything from the bytes it was parsed from.
#[derive(Clone, Debug)]
pub struct Gguf<'a> {
    version: u32,
    alignment: u32,
    metadata: Vec<(&'a str, MetadataValue<'a>)>,
    key_index: HashMap<&'a str, usize>,
    tensors: Vec<TensorInfo<'a>>,
    tensor_index: HashMap<&'a str, usize>,
    data_offset: usize,
    data: &'a [u8],
}

impl<'a> Gguf<'a> {
    /// Parses a whole GGUF file held in memory (normally a memory map; see [`GgufFile`]).
    ///
    /// Checks the header, every metadata entry and tensor info, the alignment, and that every
    /// tensor's bytes lie inside the data section. Tensor data itself is not read.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut c = Cursor::new(bytes);

        let magic: [u8; 4] = c.array("magic")?;
        if magic != GGUF_MAGIC {
            return Err(Error::BadMagic { found: magic });
        }
        let version = c.u32("version")?;
        match version {
            2 | 3 => {}
            // ggml's trick: a byte-swapped small version has its low 16 bits clear.
            v if v & 0xFFFF == 0 && (1..=3).contains(&v.swap_bytes()) => {
                return Err(Error::BigEndian(v));
            }
            v => return Err(Error::UnsupportedVersion(v)),
        }

        let n_tensors = c.count("tensor", MAX_TENSORS)?;
        let n_kv = c.count("metadata entry", MAX_METADATA_ENTRIES)?;
        // Fail fast (and before allocating) when the declared entries cannot possibly fit.
        c.ensure(
            n_kv.saturating_mul(MIN_METADATA_ENTRY_LEN),
            "metadata entries",
        )?;

        let capacity = usize::try_from(n_kv.min(1024)).unwrap_or(1024);
        let mut metadata = Vec::with_capacity(capacity);
        let mut key_index = HashMap::with_capacity(capacity);
        for index in 0..n_kv {
            let in_entry = |key: Option<&str>, e: Error| Error::InMetadata {
                index,
                key: key.map(str::to_owned),
                inner: Box::new(e),
            };
            let key = c
                .string(MAX_KEY_LEN, "metadata key")
                .map_err(|e| in_entry(None, e))?;
            if key.is_empty() {
                return Err(in_entry(None, Error::EmptyKey));
            }
            let value = c
                .value_type("metadata value type")
                .and_then(|ty| c.value(ty, 0))
                .map_err(|e| in_entry(Some(key), e))?;
            if key_index.insert(key, metadata.len()).is_some() {
                return Err(Error::DuplicateKey(key.to_owned()));
            }
            metadata.push((key, value));
        }

        let alignment = match key_index
            .get("general.alignment")
            .and_then(|&i| metadata.get(i))
        {
            None => DEFAULT_ALIGNMENT,
            Some((_, MetadataValue::U32(a))) => *a,
            Some((key, other)) => {
                return Err(Error::WrongType {
                    key: (*key).to_owned(),
                    expected: "u32",
                    found: other.type_description(),
                });
            }
        };
        if !alignment.is_power_of_two() {
            return Err(Error::BadAlignment(alignment));
        }

        c.ensure(
            n_tensors.saturating_mul(MIN_TENSOR_INFO_LEN),
            "tensor infos",
        )?;
        let capacity = usize::try_from(n_tensors.min(1024)).unwrap_or(1024);
        let mut tensors: Vec<TensorInfo<'a>> = Vec::with_capacity(capacity);
        let mut tensor_index = HashMap::with_capacity(capacity);
        for index in 0..n_tensors {
            let in_info = |name: Option<&str>, e: Error| Error::InTensorInfo {
                index,
                name: name.map(str::to_owned),
                inner: Box::new(e),
            };
            let name = c
                .string(MAX_TENSOR_NAME_LEN, "tensor name")
                .map_err(|e| in_info(None, e))?;
            let info = c.tensor_info(name).map_err(|e| in_info(Some(name), e))?;
            if tensor_index.insert(name, tensors.len()).is_some() {
                return Err(Error::DuplicateTensor(name.to_owned()));
            }
            tensors.push(info);
        }

        // The data section starts at the next multiple of the alignment. A file without tensors
        // may end before that point; one with tensors must not.
        let info_end = c.pos;
        let align = usize::try_from(alignment).map_err(|_| Error::BadAlignment(alignment))?;
        let data_offset = info_end
            .checked_next_multiple_of(align)
            .ok_or(Error::BadAlignment(alignment))?;
        let data = match bytes.get(data_offset..) {
            Some(data) => data,
            None if tensors.is_empty() => &[],
            None => {
                return Err(Error::Truncated {
                    offset: info_end,
                    what: "padding before the tensor data",
                    needed: u64::try_from(data_offset.saturating_sub(info_end)).unwrap_or(u64::MAX),
                    available: bytes.len().saturating_sub(info_end),
                });
            }
        };

        for t in &tensors {
            if !t.offset.is_multiple_of(u64::from(alignment)) {
                return Err(Error::MisalignedTensor {
                    name: t.name.to_owned(),
                    offset: t.offset,
                    alignment,
                });
            }
            let in_bounds = t
                .offset
                .checked_add(t.n_bytes)
                .is_some_and(|end| end <= data.len() as u64);
            if !in_bounds {
                return Err(Error::TensorOutOfBounds {
                    name: t.name.to_owned(),
                    offset: t.offset,
                    size: t.n_bytes,
                    data_len: data.len(),
                });
            }
        }

        Ok(Gguf {
            version,
            alignment,
            metadata,
            key_index,
            tensors,
            tensor_index,
            data_offset,
            data,
        })
    }

    /// The GGUF version (2 or 3).
    pub const fn version(&self) -> u32 {
        self.version
    }

    /// The data alignment: `general.alignment`, or 32.
    pub const fn alignment(&self) -> u32 {
        self.alignment
    }

    /// The absolute file offset where the tensor data section starts.
    pub const fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// The tensor data section.
    pub const fn data_section(&self) -> &'a [u8] {
        self.data
    }

    /// All metadata entries, in file order.
    pub fn metadata(&self) -> impl ExactSizeIterator<Item = (&'a str, MetadataValue<'a>)> + '_ {
        self.metadata.iter().copied()
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<MetadataValue<'a>> {
        let &i = self.key_index.get(key)?;
        self.metadata.get(i).map(|&(_, v)| v)
    }

    fn typed<T>(
        &self,
        key: &str,
        expected: &'static str,
        convert: impl Fn(&MetadataValue<'a>) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        convert(&value).map(Some).ok_or_else(|| Error::WrongType {
            key: key.to_owned(),
            expected,
            found: value.type_description(),
        })
    }

    fn required<T>(&self, key: &str, value: Result<Option<T>, Error>) -> Result<T, Error> {
        value?.ok_or_else(|| Error::MissingKey(key.to_owned()))
    }

    /// The string under `key`; `Ok(None)` if absent, an error if it is not a string.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        self.typed(key, "string", MetadataValue::as_str)
    }

    /// The integer under `key` as a u32 (see [`MetadataValue::as_u32`]); `Ok(None)` if absent.
    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, Error> {
        self.typed(key, "an integer that fits in u32", MetadataValue::as_u32)
    }

    /// The integer under `key` as a u64 (see [`MetadataValue::as_u64`]); `Ok(None)` if absent.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, Error> {
        self.typed(key, "a non-negative integer", MetadataValue::as_u64)
    }

    /// The float under `key` as an f32 (see [`MetadataValue::as_f32`]); `Ok(None)` if absent.
    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>, Error> {
        self.typed(key, "f32", MetadataValue::as_f32)
    }

    /// The bool under `key`; `Ok(None)` if absent.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, Error> {
        self.typed(key, "bool", MetadataValue::as_bool)
    }

    /// The array under `key`; `Ok(None)` if absent.
    pub fn opt_array(&self, key: &str) -> Result<Option<MetadataArray<'a>>, Error> {
        self.typed(key, "array", MetadataValue::as_array)
    }

    /// The string under `key`.
    pub fn get_str(&self, key: &str) -> Result<&'a str, Error> {
        self.required(key, self.opt_str(key))
    }

    /// The integer under `key` as a u32 (see [`MetadataValue::as_u32`]).
    pub fn get_u32(&self, key: &str) -> Result<u32, Error> {
        self.required(key, self.opt_u32(key))
    }

    /// The integer under `key` as a u64 (see [`MetadataValue::as_u64`]).
    pub fn get_u64(&self, key: &str) -> Result<u64, Error> {
        self.required(key, self.opt_u64(key))
    }

    /// The float under `key` as an f32 (see [`MetadataValue::as_f32`]).
    pub fn get_f32(&self, key: &str) -> Result<f32, Error> {
        self.required(key, self.opt_f32(key))
    }

    /// The bool under `key`.
    pub fn get_bool(&self, key: &str) -> Result<bool, Error> {
        self.required(key, self.opt_bool(key))
    }

    /// The array under `key`.
    pub fn get_array(&self, key: &str) -> Result<MetadataArray<'a>, Error> {
        self.required(key, self.opt_array(key))
    }

    /// The array of strings under `key`.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&'a str>, Error> {
        self.opt_str_array(key)?
            .ok_or_else(|| Error::MissingKey(key.to_owned()))
    }

    fn opt_str_array(&self, key: &str) -> Result<Option<Vec<&'a str>>, Error> {
        self.typed(key, "array<string>", |v| v.as_array()?.to_strs())
    }

    fn opt_typed_array<T>(
        &self,
        key: &str,
        expected: &'static str,
        convert: impl Fn(&MetadataArray<'a>) -> Option<Vec<T>>,
    ) -> Result<Option<Vec<T>>, Error> {
        self.typed(key, expected, |v| convert(&v.as_array()?))
    }

    /// `general.architecture`, e.g. `"llama"`: the prefix of the model's hyperparameter keys.
    pub fn architecture(&self) -> Result<&'a str, Error> {
        self.get_str("general.architecture")
    }

    /// `"{architecture}.{suffix}"`, e.g. `arch_key("block_count")` → `"llama.block_count"`.
    pub fn arch_key(&self, suffix: &str) -> Result<String, Error> {
        Ok(format!("{}.{suffix}", self.architecture()?))
    }

    fn arch_u32(&self, suffix: &str) -> Result<u32, Error> {
        self.get_u32(&self.arch_key(suffix)?)
    }

    /// `{arch}.context_length`: the context the model was trained for.
    pub fn context_length(&self) -> Result<u32, Error> {
        self.arch_u32("context_length")
    }

    /// `{arch}.embedding_length`: the hidden size.
    pub fn embedding_length(&self) -> Result<u32, Error> {
        self.arch_u32("embedding_length")
    }

    /// `{arch}.block_count`: the number of transformer blocks.
    pub fn block_count(&self) -> Result<u32, Error> {
        self.arch_u32("block_count")
    }

    /// `{arch}.feed_forward_length`: the MLP's inner size.
    pub fn feed_forward_length(&self) -> Result<u32, Error> {
        self.arch_u32("feed_forward_length")
    }

    /// `{arch}.attention.head_count`: the number of query heads.
    pub fn head_count(&self) -> Result<u32, Error> {
        self.arch_u32("attention.head_count")
    }

    /// `{arch}.attention.head_count_kv`: the number of key/value heads. Like llama.cpp, falls
    /// back to [`Gguf::head_count`] when absent (plain multi-head attention).
    pub fn head_count_kv(&self) -> Result<u32, Error> {
        match self.opt_u32(&self.arch_key("attention.head_count_kv")?)? {
            Some(n) => Ok(n),
            None => self.head_count(),
        }
    }

    /// `{arch}.rope.freq_base`, if present (llama.cpp assumes 10000 when it is not).
    pub fn rope_freq_base(&self) -> Result<Option<f32>, Error> {
        self.opt_f32(&self.arch_key("rope.freq_base")?)
    }

    /// `{arch}.rope.dimension_count`, if present (otherwise the full head dimension rotates).
    pub fn rope_dimension_count(&self) -> Result<Option<u32>, Error> {
        self.opt_u32(&self.arch_key("rope.dimension_count")?)
    }

    /// `{arch}.attention.layer_norm_rms_epsilon`: the RMSNorm epsilon.
    pub fn rms_norm_epsilon(&self) -> Result<f32, Error> {
        self.get_f32(&self.arch_key("attention.layer_norm_rms_epsilon")?)
    }

    /// The vocabulary size: the length of `tokenizer.ggml.tokens`.
    pub fn vocab_size(&self) -> Result<usize, Error> {
        let tokens = self.get_array("tokenizer.ggml.tokens")?;
        if tokens.elem_type() != ValueType::String {
            return Err(Error::WrongType {
                key: "tokenizer.ggml.tokens".to_owned(),
                expected: "array<string>",
                found: format!("array<{}>", tokens.elem_type()),
            });
        }
        Ok(tokens.len())
    }

    /// `tokenizer.chat_template`, if present.
    pub fn chat_template(&self) -> Result<Option<&'a str>, Error> {
        self.opt_str("tokenizer.chat_template")
    }

    /// Everything under `tokenizer.*`. `tokenizer.ggml.model` and `tokenizer.ggml.tokens` are
    /// required; the rest is optional but must have the right type when present.
    pub fn tokenizer(&self) -> Result<TokenizerMetadata<'a>, Error> {
        const P: &str = "tokenizer.ggml.";
        let key = |s: &str| format!("{P}{s}");
        Ok(TokenizerMetadata {
            model: self.get_str(&key("model"))?,
            pre: self.opt_str(&key("pre"))?,
            tokens: self.get_str_array(&key("tokens"))?,
            scores: self.opt_typed_array(&key("scores"), "array<f32>", MetadataArray::to_f32s)?,
            token_types: self.opt_typed_array(
                &key("token_type"),
                "array<i32>",
                MetadataArray::to_i32s,
            )?,
            merges: self.opt_str_array(&key("merges"))?,
            bos_token_id: self.opt_u32(&key("bos_token_id"))?,
            eos_token_id: self.opt_u32(&key("eos_token_id"))?,
            unknown_token_id: self.opt_u32(&key("unknown_token_id"))?,
            padding_token_id: self.opt_u32(&key("padding_token_id"))?,
            add_bos_token: self.opt_bool(&key("add_bos_token"))?,
            add_eos_token: self.opt_bool(&key("add_eos_token"))?,
            add_space_prefix: self.opt_bool(&key("add_space_prefix"))?,
            chat_template: self.chat_template()?,
        })
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo<'a>] {
        &self.tensors
    }

    /// The tensor named `name`, if any.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo<'a>> {
        let &i = self.tensor_index.get(name)?;
        self.tensors.get(i)
    }

    /// The tensor named `name`, or [`Error::TensorNotFound`].
    pub fn require_tensor(&self, name: &str) -> Result<&TensorInfo<'a>, Error> {
        self.tensor(name)
            .ok_or_else(|| Error::TensorNotFound(name.to_owned()))
    }

    /// The tensor's raw bytes: little-endian values, or ggml blocks for quantized types.
    ///
    /// Always succeeds for infos from this file; an info from another file is bounds-checked
    /// against this one's data section.
    pub fn tensor_data(&self, info: &TensorInfo<'_>) -> Result<&'a [u8], Error> {
        let out_of_bounds = || Error::TensorOutOfBounds {
            name: info.name.to_owned(),
            offset: info.offset,
            size: info.n_bytes,
            data_len: self.data.len(),
        };
        let start = usize::try_from(info.offset).map_err(|_| out_of_bounds())?;
        let len = usize::try_from(info.n_bytes).map_err(|_| out_of_bounds())?;
        let end = start.checked_add(len).ok_or_else(out_of_bounds)?;
        self.data.get(start..end).ok_or_else(out_of_bounds)
    }

    /// The tensor expanded to f32, in storage order (`dims[0]` fastest).
    pub fn dequantize(&self, info: &TensorInfo<'_>) -> Result<Vec<f32>, Error> {
        let n = usize::try_from(info.n_elements).map_err(|_| Error::TensorTooLarge {
            name: info.name.to_owned(),
            n_elements: info.n_elements,
        })?;
        // Check the type and the bounds before allocating: the output is then at most
        // 256/type_size values per byte actually present in this file.
        if !info.ggml_type.can_dequantize() {
            return Err(Error::UnsupportedType {
                ty: info.ggml_type,
                tensor: Some(info.name.to_owned()),
            });
        }
        self.tensor_data(info)?;
        let mut out = vec![0.0; n];
        self.dequantize_into(info, &mut out)?;
        Ok(out)
    }

    /// Like [`Gguf::dequantize`], into a caller-provided buffer of exactly
    /// [`TensorInfo::n_elements`] values.
    pub fn dequantize_into(&self, info: &TensorInfo<'_>, out: &mut [f32]) -> Result<(), Error> {
        let src = self.tensor_data(info)?;
        dequantize_blocks(info.ggml_type, src, out).map_err(|e| match e {
            Error::UnsupportedType { ty, .. } => Error::UnsupportedType {
                ty,
                tensor: Some(info.name.to_owned()),
            },
            other => other,
        })
    }
}

/// A GGUF file mapped read-only into memory. Parse it with [`GgufFile::parse`]; the parsed
/// [`Gguf`] borrows from the map, so nothing is copied.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    map: memmap2::Mmap,
}

impl GgufFile {
    /// Opens and memory-maps the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        // SAFETY: the file is opened read-only and the map is never written through. The
        // contents are treated as untrusted bytes: every read is bounds-checked against the
        // map's length, so arbitrary contents give errors or garbage values, never an
        // out-of-bounds access. The remaining hazard of any file-backed map is another process
        // truncating or rewriting the file while it is mapped (SIGBUS, or bytes changing under
        // a borrowed slice); model files are written once and then only read, which is the
        // accepted contract for mapped model weights.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Ok(GgufFile { path, map })
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Parses the mapped bytes (see [`Gguf::parse`]).
    pub fn parse(&self) -> Result<Gguf<'_>, Error> {
        Gguf::parse(&self.map)
    }
}

/// A bounds-checked little-endian reader over untrusted bytes. `pos <= buf.len()` always holds.
#[derive(Clone, Debug)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    const fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Errors unless at least `n` bytes are left; reads nothing.
    fn ensure(&self, n: u64, what: &'static str) -> Result<(), Error> {
        if n > self.remaining() as u64 {
            return Err(Error::Truncated {
                offset: self.pos,
                what,
                needed: n,
                available: self.remaining(),
            });
        }
        Ok(())
    }

    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], Error> {
        let truncated = || Error::Truncated {
            offset: self.pos,
            what,
            needed: n,
            available: self.remaining(),
        };
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .ok_or_else(truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let at = self.pos;
        let bytes = self.take(N as u64, what)?;
        bytes.first_chunk::<N>().copied().ok_or(Error::Truncated {
            offset: at,
            what,
            needed: N as u64,
            available: bytes.len(),
        })
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        self.array::<1>(what).map(u8::from_le_bytes)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Reads a u64 count and checks it against `max`.
    fn count(&mut self, what: &'static str, max: u64) -> Result<u64, Error> {
        let offset = self.pos;
        let count = self.u64(what)?;
        if count > max {
            return Err(Error::TooMany {
                what,
                count,
                max,
                offset,
            });
        }
        Ok(count)
    }

    fn string(&mut self, max: u64, what: &'static str) -> Result<&'a str, Error> {
        let offset = self.pos;
        let len = self.u64(what)?;
        if len > max {
            return Err(Error::TooLong {
                what,
                len,
                max,
                offset,
            });
        }
        let start = self.pos;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|_| Error::InvalidUtf8 {
            what,
            offset: start,
        })
    }

    fn value_type(&mut self, what: &'static str) -> Result<ValueType, Error> {
        let offset = self.pos;
        let type_id = self.u32(what)?;
        ValueType::from_id(type_id).ok_or(Error::UnknownValueType { type_id, offset })
    }

    fn value(&mut self, ty: ValueType, depth: u32) -> Result<MetadataValue<'a>, Error> {
        Ok(match ty {
            ValueType::U8 => MetadataValue::U8(self.u8("u8 value")?),
            ValueType::I8 => MetadataValue::I8(self.array("i8 value").map(i8::from_le_bytes)?),
            ValueType::U16 => MetadataValue::U16(self.array("u16 value").map(u16::from_le_bytes)?),
            ValueType::I16 => MetadataValue::I16(self.array("i16 value").map(i16::from_le_bytes)?),
            ValueType::U32 => MetadataValue::U32(self.u32("u32 value")?),
            ValueType::I32 => MetadataValue::I32(self.array("i32 value").map(i32::from_le_bytes)?),
            ValueType::F32 => MetadataValue::F32(self.array("f32 value").map(f32::from_le_bytes)?),
            ValueType::U64 => MetadataValue::U64(self.u64("u64 value")?),
            ValueType::I64 => MetadataValue::I64(self.array("i64 value").map(i64::from_le_bytes)?),
            ValueType::F64 => MetadataValue::F64(self.array("f64 value").map(f64::from_le_bytes)?),
            ValueType::Bool => {
                let offset = self.pos;
                match self.u8("bool value")? {
                    0 => MetadataValue::Bool(false),
                    1 => MetadataValue::Bool(true),
                    value => return Err(Error::InvalidBool { value, offset }),
                }
            }
            ValueType::String => {
                MetadataValue::String(self.string(MAX_STRING_LEN, "string value")?)
            }
            ValueType::Array => MetadataValue::Array(self.metadata_array(depth)?),
        })
    }

    /// Reads and validates an array's element type, count and elements, returning a view of
    /// the encoded elements for on-demand decoding.
    fn metadata_array(&mut self, depth: u32) -> Result<MetadataArray<'a>, Error> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(Error::NestingTooDeep {
                max: MAX_ARRAY_DEPTH,
                offset: self.pos,
            });
        }
        let elem_type = self.value_type("array element type")?;
        let len = self.count("array element", MAX_ARRAY_LEN)?;
        let start = self.pos;
        // Even the smallest elements need this many bytes; checking first keeps a hostile
        // count from driving a long loop (or a huge read) before the end of input is noticed.
        self.ensure(len.saturating_mul(elem_type.min_size()), "array elements")?;
        match elem_type.fixed_size() {
            Some(size) => {
                let bytes = self.take(len.saturating_mul(size), "array elements")?;
                if elem_type == ValueType::Bool
                    && let Some(i) = bytes.iter().position(|&b| b > 1)
                {
                    return Err(Error::InvalidBool {
                        value: bytes.get(i).copied().unwrap_or_default(),
                        offset: start.saturating_add(i),
                    });
                }
            }
            None => {
                for _ in 0..len {
                    self.value(elem_type, depth.saturating_add(1))?;
                }
            }
        }
        Ok(MetadataArray {
            elem_type,
            len: usize::try_from(len).map_err(|_| Error::TooMany {
                what: "array element",
                count: len,
                max: MAX_ARRAY_LEN,
                offset: start,
            })?,
            raw: self.buf.get(start..self.pos).unwrap_or_default(),
            depth: depth.saturating_add(1),
        })
    }

    /// Reads the rest of a tensor info (after its name) and checks its shape and type.
    fn tensor_info(&mut self, name: &'a str) -> Result<TensorInfo<'a>, Error> {
        let n_dims = self.u32("tensor dimension count")?;
        let n_dims_usize = usize::try_from(n_dims).unwrap_or(usize::MAX);
        if n_dims_usize > MAX_DIMS {
            return Err(Error::TooManyDims { n_dims });
        }
        let mut dims = [1u64; MAX_DIMS];
        for (index, dim) in dims.iter_mut().enumerate().take(n_dims_usize) {
            let value = self.u64("tensor dimension")?;
            // ggml stores dimensions as i64; anything larger cannot be a real shape.
            if i64::try_from(value).is_err() {
                return Err(Error::BadDimension { index, value });
            }
            *dim = value;
        }
        let type_id = self.u32("tensor type")?;
        let ggml_type = GgmlType::from_id(type_id).ok_or(Error::UnknownTensorType { type_id })?;
        let offset = self.u64("tensor data offset")?;

        let shape = dims.get(..n_dims_usize).unwrap_or(&dims);
        let overflow = || Error::ElementCountOverflow {
            dims: shape.to_vec(),
        };
        let n_elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(overflow)?;
        let block = ggml_type.block_size() as u64;
        let ne0 = shape.first().copied().unwrap_or(1);
        if !ne0.is_multiple_of(block) {
            return Err(Error::RowNotBlockAligned {
                ne0,
                ty: ggml_type,
                block_size: ggml_type.block_size(),
            });
        }
        // ne0 is a multiple of the block size, so the element count is too.
        let type_size = ggml_type.type_size() as u64;
        let n_bytes = (n_elements / block)
            .checked_mul(type_size)
            .ok_or_else(overflow)?;
        // Row count and size are checked separately: with a zero dimension the element count
        // is 0 however large the other dimensions are.
        let n_rows = shape
            .iter()
            .skip(1)
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(overflow)?;
        let row_bytes = (ne0 / block).checked_mul(type_size).ok_or_else(overflow)?;
        Ok(TensorInfo {
            name,
            dims,
            n_dims: n_dims_usize,
            ggml_type,
            offset,
            n_elements,
            n_bytes,
            n_rows,
            row_bytes,
        })
    }
}
