//! Named weights from a checkpoint, expanded to f32 on the host: GGUF (any type the reader
//! dequantizes) and Hugging Face safetensors (through `burn-store`, f32/f16/bf16).
//!
//! Shapes are PyTorch-style (outermost first): a GGUF tensor with ggml `dims = [576, 1536]`
//! comes out as `[1536, 576]`, the same shape the safetensors checkpoint of that model has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use burn_store::{ModuleStore, SafetensorsStore};

use crate::error::{Error, Result};
use crate::gguf::{Gguf, GgufFile};
use crate::quant::{QuantMatrix, QuantType};

/// A named tensor's f32 values, row-major, with its shape.
#[derive(Clone, Debug)]
pub struct HostTensor {
    name: String,
    values: Vec<f32>,
    shape: Vec<usize>,
}

impl HostTensor {
    /// A tensor, checking that `values` fills `shape`.
    pub fn new(name: impl Into<String>, values: Vec<f32>, shape: Vec<usize>) -> Result<Self> {
        let name = name.into();
        let n = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::InvalidModel(format!("{name}: shape {shape:?} overflows")))?;
        if n != values.len() {
            return Err(Error::InvalidModel(format!(
                "{name}: {} values for shape {shape:?}",
                values.len()
            )));
        }
        Ok(Self {
            name,
            values,
            shape,
        })
    }

    /// The tensor's name in the checkpoint.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The matrix `[rows, cols]` transposed to `[cols, rows]` (on the host, so the result is
    /// contiguous), or an error if the shape is not `[rows, cols]`.
    pub fn transposed(self, [rows, cols]: [usize; 2]) -> Result<Self> {
        if self.shape != [rows, cols] {
            return Err(Error::InvalidModel(format!(
                "tensor {} has shape {:?}, expected {:?}",
                self.name,
                self.shape,
                [rows, cols]
            )));
        }
        let mut out = vec![0.0f32; self.values.len()];
        for (r, row) in self.values.chunks_exact(cols.max(1)).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                out[c * rows + r] = v;
            }
        }
        Ok(Self {
            name: self.name,
            values: out,
            shape: vec![cols, rows],
        })
    }

    /// Moves the values to `device` as a tensor of `expected` shape, or fails naming the tensor.
    pub fn into_tensor<const D: usize>(
        self,
        expected: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        if self.shape != expected {
            return Err(Error::InvalidModel(format!(
                "tensor {} has shape {:?}, expected {expected:?}",
                self.name, self.shape
            )));
        }
        Ok(Tensor::from_data(
            TensorData::new(self.values, expected),
            device,
        ))
    }
}

/// A checkpoint that hands out tensors by name.
pub trait WeightSource {
    /// The tensor `name`, if the checkpoint has it.
    fn get(&mut self, name: &str) -> Result<Option<HostTensor>>;

    /// Whether the checkpoint has `name`.
    fn contains(&self, name: &str) -> bool;

    /// The matrix `name` in a block format the quantized kernels multiply directly
    /// ([`QuantMatrix`], rows outermost), if the checkpoint stores it so; `None` for anything
    /// else (then [`WeightSource::get`] expands it to f32).
    fn get_quant(&mut self, name: &str) -> Result<Option<QuantMatrix>> {
        let _ = name;
        Ok(None)
    }

    /// The tensor `name`, or an error naming it.
    fn require(&mut self, name: &str) -> Result<HostTensor> {
        self.get(name)?
            .ok_or_else(|| Error::InvalidModel(format!("missing tensor {name}")))
    }
}

/// Tensors of a parsed GGUF file, dequantized on request; quantized matrices
/// ([`WeightSource::get_quant`]) are copied out, or, given the mapped file they were parsed
/// from, kept in place.
#[derive(Debug)]
pub struct GgufWeights<'g, 'a> {
    gguf: &'g Gguf<'a>,
    file: Option<Arc<GgufFile>>,
}

impl<'g, 'a> GgufWeights<'g, 'a> {
    /// Weights from `gguf` (quantized matrices are copied).
    pub fn new(gguf: &'g Gguf<'a>) -> Self {
        Self { gguf, file: None }
    }

    /// Weights from `gguf`, parsed from `file`: quantized matrices stay in the map.
    pub fn mapped(gguf: &'g Gguf<'a>, file: Arc<GgufFile>) -> Self {
        Self {
            gguf,
            file: Some(file),
        }
    }
}

impl WeightSource for GgufWeights<'_, '_> {
    fn get(&mut self, name: &str) -> Result<Option<HostTensor>> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let shape = info
            .dims()
            .iter()
            .rev()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::InvalidModel(format!("{name}: dimension too large")))?;
        let values = self.gguf.dequantize(info)?;
        HostTensor::new(name, values, shape).map(Some)
    }

    fn contains(&self, name: &str) -> bool {
        self.gguf.tensor(name).is_some()
    }

    fn get_quant(&mut self, name: &str) -> Result<Option<QuantMatrix>> {
        let Some(info) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let Some(ty) = QuantType::from_ggml(info.ggml_type()) else {
            return Ok(None);
        };
        let &[cols, rows] = info.dims() else {
            return Ok(None);
        };
        let too_large = || Error::InvalidModel(format!("{name}: dimension too large"));
        let rows = usize::try_from(rows).map_err(|_| too_large())?;
        let cols = usize::try_from(cols).map_err(|_| too_large())?;
        let bytes = self.gguf.tensor_data(info)?;
        match &self.file {
            Some(file) => QuantMatrix::mapped(ty, rows, cols, file, bytes).map(Some),
            None => QuantMatrix::new(ty, rows, cols, bytes.to_vec()).map(Some),
        }
    }
}

/// Tensors of one or more `.safetensors` files (a sharded checkpoint), read with `burn-store`.
pub struct SafetensorsWeights {
    stores: Vec<(PathBuf, SafetensorsStore)>,
    index: HashMap<String, usize>,
}

impl std::fmt::Debug for SafetensorsWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsWeights")
            .field(
                "files",
                &self.stores.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("tensors", &self.index.len())
            .finish()
    }
}

impl SafetensorsWeights {
    /// Every `*.safetensors` file in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::InvalidModel(format!(
                "no .safetensors file in {}",
                dir.display()
            )));
        }
        Self::from_files(&files)
    }

    /// The given files.
    pub fn from_files(files: &[PathBuf]) -> Result<Self> {
        let mut stores = Vec::new();
        let mut index = HashMap::new();
        for path in files {
            if !path.is_file() {
                return Err(Error::io(
                    path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                ));
            }
            let mut store = SafetensorsStore::from_file(path.clone());
            let keys = store.keys().map_err(|e| Error::Weights {
                path: path.clone(),
                message: e.to_string(),
            })?;
            for key in keys {
                index.insert(key, stores.len());
            }
            stores.push((path.clone(), store));
        }
        Ok(Self { stores, index })
    }

    /// All tensor names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }
}

impl WeightSource for SafetensorsWeights {
    fn get(&mut self, name: &str) -> Result<Option<HostTensor>> {
        let Some(&i) = self.index.get(name) else {
            return Ok(None);
        };
        let Some((path, store)) = self.stores.get_mut(i) else {
            return Ok(None);
        };
        let weights_err = |message: String| Error::Weights {
            path: path.clone(),
            message,
        };
        let tensor = store
            .get_tensor(name)
            .map_err(|e| weights_err(e.to_string()))?
            .ok_or_else(|| weights_err(format!("tensor {name} vanished")))?;
        let shape: Vec<usize> = tensor.shape.iter().copied().collect();
        let dtype = tensor.dtype;
        let bytes = tensor.to_bytes().map_err(|e| weights_err(e.to_string()))?;
        let data = TensorData::try_from_bytes(bytes, shape.clone(), dtype)
            .map_err(|e| weights_err(format!("{name}: {e:?}")))?;
        if !dtype.is_float() {
            return Err(weights_err(format!(
                "{name}: {dtype:?} is not a float type"
            )));
        }
        let values = data
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| weights_err(format!("{name}: {e:?}")))?;
        HostTensor::new(name, values, shape).map(Some)
    }

    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}
