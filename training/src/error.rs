//! The crate's one error type: everything that can go wrong reading a GGUF file (with offsets and
//! what was being read), loading a model, tokenizing, rendering a chat template or generating.

use std::path::PathBuf;

use crate::gguf::{GgmlType, MAX_DIMS};

/// Everything that can go wrong in the model runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (config.json, tokenizer.json, ...) is malformed or misses a field.
    #[error("bad JSON in {path}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model's hyperparameters or weights do not fit together (wrong shape, missing tensor,
    /// unsupported architecture, ...).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A model feature this runtime does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading safetensors weights failed.
    #[error("cannot load weights from {path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Building or running the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template failed to compile or render (including `raise_exception` calls).
    #[error("chat template: {0}")]
    Template(String),
    /// A generation or sampling parameter is out of range, or the input is empty.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The input is longer than the model's context.
    #[error("input of {tokens} tokens does not fit the model's context of {context} tokens")]
    ContextOverflow {
        /// Tokens needed.
        tokens: usize,
        /// The model's context length.
        context: usize,
    },
    /// The requested device is not available in this build or on this machine.
    #[error("device: {0}")]
    Device(String),
    /// The streaming callback asked to stop with an error.
    #[error("generation aborted: {0}")]
    Aborted(String),
    // --- GGUF files (the reader in `gguf`) ---
    /// The first four bytes are not `GGUF`.
    #[error("not a GGUF file: expected magic \"GGUF\" (47 47 55 46), found {found:02x?}")]
    BadMagic {
        /// The bytes found instead.
        found: [u8; 4],
    },
    /// A version other than 2 or 3.
    #[error("unsupported GGUF version {0} (only versions 2 and 3 are supported)")]
    UnsupportedVersion(u32),
    /// The version field only makes sense byte-swapped: a big-endian GGUF v3 file.
    #[error(
        "GGUF file is big-endian (version field reads {0:#010x}); only little-endian files are supported"
    )]
    BigEndian(u32),
    /// The input ended in the middle of something.
    #[error(
        "truncated at offset {offset} while reading {what}: needed {needed} bytes, {available} left"
    )]
    Truncated {
        /// Where the read started.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// How many bytes it needed.
        needed: u64,
        /// How many bytes were left.
        available: usize,
    },
    /// A count read from the file is beyond the reader's limits.
    #[error("{what} count {count} at offset {offset} is absurd (the limit is {max})")]
    TooMany {
        /// What is being counted.
        what: &'static str,
        /// The count read.
        count: u64,
        /// The limit.
        max: u64,
        /// Where the count was read.
        offset: usize,
    },
    /// A string length read from the file is beyond the reader's limits.
    #[error("{what} length {len} at offset {offset} is absurd (the limit is {max} bytes)")]
    TooLong {
        /// What kind of string.
        what: &'static str,
        /// The length read.
        len: u64,
        /// The limit.
        max: u64,
        /// Where the length was read.
        offset: usize,
    },
    /// A string is not valid UTF-8.
    #[error("{what} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// What kind of string.
        what: &'static str,
        /// Where its bytes start.
        offset: usize,
    },
    /// A bool byte other than 0 or 1.
    #[error("invalid bool byte {value:#04x} at offset {offset} (must be 0 or 1)")]
    InvalidBool {
        /// The byte.
        value: u8,
        /// Where it is.
        offset: usize,
    },
    /// A metadata value type id outside the GGUF spec.
    #[error("unknown metadata value type {type_id} at offset {offset}")]
    UnknownValueType {
        /// The id read.
        type_id: u32,
        /// Where it was read.
        offset: usize,
    },
    /// Arrays of arrays nested deeper than [`MAX_ARRAY_DEPTH`].
    #[error("metadata arrays nested more than {max} deep at offset {offset}")]
    NestingTooDeep {
        /// The limit.
        max: u32,
        /// Where the too-deep array starts.
        offset: usize,
    },
    /// A metadata key of length zero.
    #[error("empty metadata key")]
    EmptyKey,
    /// Two metadata entries with the same key.
    #[error("duplicate metadata key {0:?}")]
    DuplicateKey(String),
    /// An error inside one metadata entry, with the entry's position and (if read) its key.
    #[error("in metadata entry {index}{}: {inner}", describe_name(.key.as_deref()))]
    InMetadata {
        /// The entry's index.
        index: u64,
        /// Its key, if that much was read.
        key: Option<String>,
        /// What went wrong.
        inner: Box<Error>,
    },
    /// An error inside one tensor info, with the tensor's position and (if read) its name.
    #[error("in tensor info {index}{}: {inner}", describe_name(.name.as_deref()))]
    InTensorInfo {
        /// The tensor's index.
        index: u64,
        /// Its name, if that much was read.
        name: Option<String>,
        /// What went wrong.
        inner: Box<Error>,
    },
    /// `general.alignment` is zero or not a power of two.
    #[error("general.alignment = {0} is not a power of two")]
    BadAlignment(u32),
    /// A tensor with more than [`MAX_DIMS`] dimensions.
    #[error("tensor has {n_dims} dimensions (at most {MAX_DIMS} are supported)")]
    TooManyDims {
        /// The dimension count read.
        n_dims: u32,
    },
    /// A tensor dimension that does not fit in an `i64` (ggml stores them signed).
    #[error("tensor dimension {index} = {value} is out of range")]
    BadDimension {
        /// Which dimension.
        index: usize,
        /// Its value.
        value: u64,
    },
    /// The product of a tensor's dimensions, or its byte size, overflows.
    #[error("tensor shape {dims:?} is too large: its element or byte count overflows")]
    ElementCountOverflow {
        /// The dimensions.
        dims: Vec<u64>,
    },
    /// A ggml type id this reader does not know, so the tensor's size cannot be computed.
    #[error("unknown ggml tensor type id {type_id}")]
    UnknownTensorType {
        /// The id read.
        type_id: u32,
    },
    /// A row length that is not a whole number of quantization blocks.
    #[error("row length {ne0} is not a multiple of the {ty} block size {block_size}")]
    RowNotBlockAligned {
        /// `dims[0]`.
        ne0: u64,
        /// The tensor type.
        ty: GgmlType,
        /// Its block size in elements.
        block_size: usize,
    },
    /// Two tensors with the same name.
    #[error("duplicate tensor name {0:?}")]
    DuplicateTensor(String),
    /// A tensor whose data offset is not a multiple of the file's alignment.
    #[error("tensor {name:?} data offset {offset} is not a multiple of the alignment {alignment}")]
    MisalignedTensor {
        /// The tensor.
        name: String,
        /// Its offset within the data section.
        offset: u64,
        /// The file's alignment.
        alignment: u32,
    },
    /// A tensor whose bytes do not lie inside the data section.
    #[error(
        "tensor data out of bounds for tensor {name:?}: {size} bytes at offset {offset} of a \
         {data_len}-byte data section"
    )]
    TensorOutOfBounds {
        /// The tensor.
        name: String,
        /// Its offset within the data section.
        offset: u64,
        /// Its size in bytes.
        size: u64,
        /// The data section's size.
        data_len: usize,
    },
    /// Dequantization of this tensor type is not implemented.
    #[error("dequantizing {ty} is not supported{}", describe_tensor(.tensor.as_deref()))]
    UnsupportedType {
        /// The type.
        ty: GgmlType,
        /// The tensor, when known.
        tensor: Option<String>,
    },
    /// Block bytes and output length that do not match the type's block layout.
    #[error(
        "{ty} data of {src_len} bytes does not hold exactly {dst_len} values \
         ({block_size} values per {type_size}-byte block)"
    )]
    BlockSizeMismatch {
        /// The type.
        ty: GgmlType,
        /// The input length in bytes.
        src_len: usize,
        /// The output length in values.
        dst_len: usize,
        /// Values per block.
        block_size: usize,
        /// Bytes per block.
        type_size: usize,
    },
    /// A tensor too large to address on this platform.
    #[error("tensor {name:?} with {n_elements} elements is too large for this platform")]
    TensorTooLarge {
        /// The tensor.
        name: String,
        /// Its element count.
        n_elements: u64,
    },
    /// A metadata key that is not in the file.
    #[error("metadata key {0:?} is missing")]
    MissingKey(String),
    /// A metadata value of a different type than asked for.
    #[error("metadata key {key:?} holds {found}, expected {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// The type asked for.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// No tensor of that name.
    #[error("no tensor named {0:?}")]
    TensorNotFound(String),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn describe_name(name: Option<&str>) -> String {
    name.map(|n| format!(" ({n:?})")).unwrap_or_default()
}

fn describe_tensor(name: Option<&str>) -> String {
    name.map(|n| format!(" (tensor {n:?})")).unwrap_or_default()
}

impl Error {
    /// The innermost error, looking through [`Error::InMetadata`] and
    /// [`Error::InTensorInfo`] context.
    pub fn root_cause(&self) -> &Error {
        match self {
            Error::InMetadata { inner, .. } | Error::InTensorInfo { inner, .. } => {
                inner.root_cause()
            }
            other => other,
        }
    }
}
