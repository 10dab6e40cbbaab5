//! The layers the models are built from: [`Linear`], [`RmsNorm`], [`LayerNorm`], as burn
//! modules (so they move between devices, work under autodiff, and take burn's LoRA adapters).
//!
//! [`Linear`] keeps its weight either as an f32 `[d_in, d_out]` parameter (burn's layout,
//! multiplied through `burn::tensor::module::linear`) or as a frozen ggml-quantized
//! [`QuantMatrix`] (rows = outputs) straight from a GGUF file. A quantized layer multiplies with
//! the fused kernels of [`crate::quant`] on the CPU backend; on GPU devices it expands the
//! weight to f32 on the device once, at load, and uses burn's `linear`; under autodiff it
//! expands the weight at each call, so burn differentiates it with respect to the input (the
//! weight itself is frozen and gets no gradient).

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::quant::QuantMatrix;
use crate::weights::HostTensor;

/// A dense layer `y = x·W (+ b)` with `W: [d_in, d_out]`, stored as f32 or quantized.
#[derive(Module, Debug)]
pub struct Linear {
    /// `[d_in, d_out]`, for an f32 layer; `None` when the layer is quantized.
    pub weight: Option<Param<Tensor<2>>>,
    /// `[d_out]`, if any.
    pub bias: Option<Param<Tensor<1>>>,
    /// The frozen quantized weight `[d_out, d_in]`, for a quantized layer.
    #[module(skip)]
    quant: Option<Arc<QuantMatrix>>,
    /// A quantized layer's weight expanded once to f32 `[d_in, d_out]` on a GPU device, where
    /// the host kernels do not run: expanding and uploading it at every call made each token
    /// move the whole model (and the tied head's 113 MB) from the host.
    #[module(skip)]
    dense: Option<Tensor<2>>,
}

impl Linear {
    /// A layer from a weight stored PyTorch-style as `[d_out, d_in]` rows (what GGUF and
    /// safetensors hold), checking its shape.
    pub fn from_rows(
        weight: HostTensor,
        bias: Option<HostTensor>,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self> {
        let w = weight
            .transposed([d_out, d_in])?
            .into_tensor::<2>([d_in, d_out], device)?;
        let bias = bias
            .map(|b| b.into_tensor::<1>([d_out], device))
            .transpose()?
            .map(Param::from_tensor);
        Ok(Self {
            weight: Some(Param::from_tensor(w)),
            bias,
            quant: None,
            dense: None,
        })
    }

    /// A frozen quantized layer: `weight` holds `d_out` rows of `d_in` values.
    pub fn from_quant(
        weight: Arc<QuantMatrix>,
        bias: Option<HostTensor>,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self> {
        if (weight.cols(), weight.rows()) != (d_in, d_out) {
            return Err(Error::InvalidModel(format!(
                "quantized weight is [{}, {}], expected [{d_out}, {d_in}]",
                weight.rows(),
                weight.cols()
            )));
        }
        let bias = bias
            .map(|b| b.into_tensor::<1>([d_out], device))
            .transpose()?
            .map(Param::from_tensor);
        // Under autodiff the weight is expanded at each call (training needs it rarely and
        // holds no f32 copy); on a GPU once, here.
        let dense = (!device.is_autodiff() && !host_kernels_apply(device)).then(|| {
            Tensor::from_data(
                TensorData::new(weight.dequantize_transposed(), [d_in, d_out]),
                device,
            )
        });
        Ok(Self {
            weight: None,
            bias,
            quant: Some(weight),
            dense,
        })
    }

    /// The quantized weight, for a quantized layer.
    pub fn quantized(&self) -> Option<&Arc<QuantMatrix>> {
        self.quant.as_ref()
    }

    /// The weight as an f32 `[d_in, d_out]` tensor on `device` (expanded for a quantized
    /// layer).
    pub fn weight_f32(&self, device: &Device) -> Tensor<2> {
        match (&self.weight, &self.quant) {
            (Some(w), _) => w.val(),
            (None, Some(_)) if self.dense.as_ref().is_some_and(|d| d.device() == *device) => {
                self.dense.clone().expect("checked above")
            }
            (None, Some(q)) => Tensor::from_data(
                TensorData::new(q.dequantize_transposed(), [q.cols(), q.rows()]),
                device,
            ),
            (None, None) => Tensor::zeros([0, 0], device),
        }
    }

    /// `x·W (+ b)` over the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let bias = self.bias.as_ref().map(Param::val);
        let Some(q) = &self.quant else {
            let device = x.device();
            return burn::tensor::module::linear(x, self.weight_f32(&device), bias);
        };
        let device = x.device();
        if !host_kernels_apply(&device) {
            return burn::tensor::module::linear(x, self.weight_f32(&device), bias);
        }
        let dims = x.dims();
        let n = dims[..D - 1].iter().product::<usize>();
        let mut out_dims = dims;
        out_dims[D - 1] = q.rows();
        let input: Vec<f32> = match x.into_data().try_into_vec_as::<f32>() {
            Ok(v) => v,
            Err(_) => return Tensor::zeros(out_dims, &device),
        };
        let mut out = vec![0.0f32; n * q.rows()];
        if q.matmul(&input, n, &mut out).is_err() {
            // Only a shape mismatch (a bug in the caller) gets here; burn's own `linear` panics
            // in that case, and zeros are the closest non-panicking answer.
            return Tensor::zeros(out_dims, &device);
        }
        let y = Tensor::<D>::from_data(TensorData::new(out, out_dims), &device);
        match bias {
            Some(b) => y + b.unsqueeze(),
            None => y,
        }
    }

    /// `(d_in, d_out)`.
    pub fn dims(&self) -> (usize, usize) {
        match (&self.weight, &self.quant) {
            (Some(w), _) => {
                let [d_in, d_out] = w.shape().dims();
                (d_in, d_out)
            }
            (None, Some(q)) => (q.cols(), q.rows()),
            (None, None) => (0, 0),
        }
    }
}

/// Whether tensors on `device` can go through the host-side quantized kernels: burn's Flex CPU
/// backend without autodiff (its tensors live in host memory, so reading and rebuilding them is
/// a copy, and nothing needs a backward pass).
pub fn host_kernels_apply(device: &Device) -> bool {
    !device.is_autodiff() && *device == Device::flex()
}

/// Root-mean-square normalization with a learned scale (Llama).
#[derive(Module, Debug)]
pub struct RmsNorm {
    /// `[d]`.
    pub weight: Param<Tensor<1>>,
    /// Added to the mean square.
    pub eps: f64,
}

impl RmsNorm {
    /// A norm with the given scale.
    pub fn new(weight: HostTensor, d: usize, eps: f64, device: &Device) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(weight.into_tensor::<1>([d], device)?),
            eps,
        })
    }

    /// `x / sqrt(mean(x²) + eps) · weight` over the last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let rms = x
            .clone()
            .square()
            .mean_dim(D - 1)
            .add_scalar(self.eps)
            .sqrt();
        (x / rms) * self.weight.val().unsqueeze()
    }
}

/// Layer normalization with scale and shift (BERT).
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// `[d]`.
    pub gamma: Param<Tensor<1>>,
    /// `[d]`.
    pub beta: Param<Tensor<1>>,
    /// Added to the variance.
    pub eps: f64,
}

impl LayerNorm {
    /// A norm with the given scale and shift.
    pub fn new(
        gamma: HostTensor,
        beta: HostTensor,
        d: usize,
        eps: f64,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            gamma: Param::from_tensor(gamma.into_tensor::<1>([d], device)?),
            beta: Param::from_tensor(beta.into_tensor::<1>([d], device)?),
            eps,
        })
    }

    /// `(x - mean) / sqrt(var + eps) · gamma + beta` over the last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mean = x.clone().mean_dim(D - 1);
        let centered = x - mean;
        let var = centered.clone().square().mean_dim(D - 1);
        let normed = centered / var.add_scalar(self.eps).sqrt();
        normed * self.gamma.val().unsqueeze() + self.beta.val().unsqueeze()
    }
}

/// A float tensor from host values, checking the element count.
#[cfg(test)]
pub(crate) fn tensor_from_vec<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>> {
    let n: usize = shape.iter().product();
    if values.len() != n {
        return Err(Error::InvalidModel(format!(
            "expected {n} values for shape {shape:?}, found {}",
            values.len()
        )));
    }
    Ok(Tensor::from_data(
        burn::tensor::TensorData::new(values, shape),
        device,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(values: Vec<f32>, shape: Vec<usize>) -> HostTensor {
        HostTensor::new("t", values, shape).unwrap()
    }

    #[test]
    fn linear_multiplies_by_the_transposed_rows() {
        let device = Device::flex();
        // W rows (d_out = 2, d_in = 3): [1 2 3], [4 5 6]; bias [10, 20].
        let lin = Linear::from_rows(
            host(vec![1., 2., 3., 4., 5., 6.], vec![2, 3]),
            Some(host(vec![10., 20.], vec![2])),
            3,
            2,
            &device,
        )
        .unwrap();
        assert_eq!(lin.dims(), (3, 2));
        let x = Tensor::<2>::from_floats([[1.0, 0.0, -1.0]], &device);
        let y: Vec<f32> = lin.forward(x).into_data().try_to_vec().unwrap();
        assert_eq!(y, vec![10.0 - 2.0, 20.0 - 2.0]);
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let device = Device::flex();
        assert!(Linear::from_rows(host(vec![1.; 6], vec![2, 3]), None, 2, 2, &device).is_err());
        assert!(HostTensor::new("t", vec![1.; 5], vec![2, 3]).is_err());
    }

    #[test]
    fn norms_normalize() {
        let device = Device::flex();
        let rms = RmsNorm::new(host(vec![1.0, 2.0], vec![2]), 2, 0.0, &device).unwrap();
        let y: Vec<f32> = rms
            .forward(Tensor::<2>::from_floats([[3.0, 4.0]], &device))
            .into_data()
            .try_to_vec()
            .unwrap();
        let r = (12.5f32).sqrt();
        assert!((y[0] - 3.0 / r).abs() < 1e-5 && (y[1] - 8.0 / r).abs() < 1e-5);
        let ln = LayerNorm::new(
            host(vec![1.0, 1.0], vec![2]),
            host(vec![0.5, 0.5], vec![2]),
            2,
            0.0,
            &device,
        )
        .unwrap();
        let y: Vec<f32> = ln
            .forward(Tensor::<2>::from_floats([[1.0, 3.0]], &device))
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!((y[0] + 0.5).abs() < 1e-5 && (y[1] - 1.5).abs() < 1e-5);
    }

    #[test]
    fn linear_trains_under_autodiff() {
        let device = Device::flex().autodiff();
        let lin = Linear::from_rows(host(vec![1., 2.], vec![1, 2]), None, 2, 1, &device).unwrap();
        let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
        let loss = lin.forward(x).sum();
        let grads = loss.backward();
        let g: Vec<f32> = lin
            .weight
            .as_ref()
            .unwrap()
            .grad(&grads)
            .expect("weight has a gradient")
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(g, vec![3.0, 4.0]);
    }

    fn quantized_pair(ty: crate::quant::QuantType) -> (Linear, Linear) {
        let device = Device::flex();
        let (d_in, d_out) = (64, 5);
        let values: Vec<f32> = (0..d_in * d_out)
            .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 0.7)
            .collect();
        let q = Arc::new(QuantMatrix::quantize(ty, d_out, d_in, &values).unwrap());
        let bias = host(vec![0.1, -0.2, 0.3, 0.0, 1.0], vec![d_out]);
        let quant =
            Linear::from_quant(q.clone(), Some(bias.clone()), d_in, d_out, &device).unwrap();
        let f32_rows = host(q.dequantize(), vec![d_out, d_in]);
        let dense = Linear::from_rows(f32_rows, Some(bias), d_in, d_out, &device).unwrap();
        (quant, dense)
    }

    fn input(device: &Device) -> Tensor<3> {
        let v: Vec<f32> = (0..2 * 3 * 64)
            .map(|i| ((i % 13) as f32 - 6.0) / 7.0)
            .collect();
        Tensor::from_data(TensorData::new(v, [2, 3, 64]), device)
    }

    #[test]
    fn quantized_linear_matches_its_dequantized_f32_layer() {
        for ty in [
            crate::quant::QuantType::Q4_0,
            crate::quant::QuantType::Q4_1,
            crate::quant::QuantType::Q8_0,
        ] {
            let (quant, dense) = quantized_pair(ty);
            assert_eq!(quant.dims(), (64, 5));
            assert!(quant.quantized().is_some() && dense.quantized().is_none());
            let device = Device::flex();
            let a: Vec<f32> = quant
                .forward(input(&device))
                .into_data()
                .try_to_vec()
                .unwrap();
            let b: Vec<f32> = dense
                .forward(input(&device))
                .into_data()
                .try_to_vec()
                .unwrap();
            assert_eq!(a.len(), 30);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-4, "{ty:?}: {x} vs {y}");
            }
        }
        let device = Device::flex();
        let q = Arc::new(
            QuantMatrix::quantize(crate::quant::QuantType::Q8_0, 2, 32, &[0.5; 64]).unwrap(),
        );
        assert!(Linear::from_quant(q, None, 64, 1, &device).is_err());
    }

    #[test]
    fn input_gradients_through_a_quantized_linear_match_the_f32_path() {
        let device = Device::flex().autodiff();
        let (quant, dense) = quantized_pair(crate::quant::QuantType::Q4_1);
        let quant = quant.to_device(&device);
        let dense = dense.to_device(&device);
        let grad_of = |lin: &Linear| -> Vec<f32> {
            let x = input(&device).require_grad();
            // A non-linear loss so the gradient depends on the weight, not only on its sums.
            let loss = lin.forward(x.clone()).square().sum();
            let grads = loss.backward();
            x.grad(&grads)
                .expect("input gradient")
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        let a = grad_of(&quant);
        let b = grad_of(&dense);
        assert_eq!(a.len(), 2 * 3 * 64);
        assert!(a.iter().any(|v| v.abs() > 1e-3));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }
}
