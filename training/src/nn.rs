//! The layers the models are built from: [`Linear`], [`RmsNorm`], [`LayerNorm`], as burn
//! modules (so they move between devices, work under autodiff, and take burn's LoRA adapters).
//!
//! [`Linear`] keeps its weight as `[d_in, d_out]` (burn's layout) and multiplies through
//! `burn::tensor::module::linear`, which already routes a burn-quantized weight to the quantized
//! matmul. It is the one place a later issue changes to hold ggml-quantized blocks or to add a
//! low-rank delta per request.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::error::Result;
use crate::weights::HostTensor;

/// A dense layer `y = x·W (+ b)` with `W: [d_in, d_out]`.
#[derive(Module, Debug)]
pub struct Linear {
    /// `[d_in, d_out]`.
    pub weight: Param<Tensor<2>>,
    /// `[d_out]`, if any.
    pub bias: Option<Param<Tensor<1>>>,
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
            weight: Param::from_tensor(w),
            bias,
        })
    }

    /// `x·W (+ b)` over the last dimension of `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        burn::tensor::module::linear(x, self.weight.val(), self.bias.as_ref().map(Param::val))
    }

    /// `(d_in, d_out)`.
    pub fn dims(&self) -> (usize, usize) {
        let [d_in, d_out] = self.weight.shape().dims();
        (d_in, d_out)
    }
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
    use crate::error::Error;
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
            .grad(&grads)
            .expect("weight has a gradient")
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(g, vec![3.0, 4.0]);
    }
}
