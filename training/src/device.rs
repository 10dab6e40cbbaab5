//! Choosing where tensors live: burn 0.22 picks the backend at run time through its [`Device`].
//!
//! The CPU (burn's pure-Rust Flex backend, SIMD and rayon) is always built and is the default.
//! With the `cuda` cargo feature, `cuda` / `cuda:N` selects an NVIDIA GPU through burn's CUDA
//! backend; with the `vulkan` feature, `vulkan` / `vulkan:N` selects a discrete GPU through burn's
//! wgpu backend pinned to Vulkan (any vendor's GPU, and a build that needs nothing but crates.io:
//! the CUDA backend's build script downloads an LLVM bundle). The choice comes from the caller
//! or from the `HEARTH_DEVICE` environment variable.

use std::fmt;
use std::str::FromStr;

pub use burn::tensor::Device;

use crate::error::{Error, Result};

/// The environment variable read by [`DeviceChoice::from_env`].
pub const DEVICE_ENV: &str = "HEARTH_DEVICE";

/// Which backend and device to run a model on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// burn's Flex CPU backend.
    #[default]
    Cpu,
    /// burn's CUDA backend on the GPU with this index (needs the `cuda` feature).
    Cuda(usize),
    /// burn's wgpu backend on Vulkan, on the discrete GPU with this index (needs the `vulkan`
    /// feature).
    Vulkan(usize),
}

impl DeviceChoice {
    /// `HEARTH_DEVICE` if set (`cpu`, `cuda`, `cuda:N`), else the CPU.
    pub fn from_env() -> Result<Self> {
        match std::env::var(DEVICE_ENV) {
            Ok(v) if !v.trim().is_empty() => v.parse(),
            _ => Ok(Self::Cpu),
        }
    }

    /// The burn device, or an error when this build lacks the backend.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            Self::Cuda(index) => Ok(Device::cuda(index)),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda(_) => Err(Error::Device(
                "this build has no CUDA backend: rebuild with `--features cuda`".into(),
            )),
            #[cfg(feature = "vulkan")]
            Self::Vulkan(index) => Ok(Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(index))),
            #[cfg(not(feature = "vulkan"))]
            Self::Vulkan(_) => Err(Error::Device(
                "this build has no Vulkan backend: rebuild with `--features vulkan`".into(),
            )),
        }
    }

    /// Whether the backend is the CPU.
    pub fn is_cpu(self) -> bool {
        self == Self::Cpu
    }
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            "vulkan" => Ok(Self::Vulkan(0)),
            _ => {
                let indexed = |prefix: &str| s.strip_prefix(prefix).and_then(|n| n.parse().ok());
                indexed("cuda:")
                    .map(Self::Cuda)
                    .or_else(|| indexed("vulkan:").map(Self::Vulkan))
                    .ok_or_else(|| {
                        Error::Device(format!(
                            "unknown device {s:?} (use cpu, cuda, cuda:N, vulkan or vulkan:N)"
                        ))
                    })
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
            Self::Vulkan(i) => write!(f, "vulkan:{i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!(
            "CUDA".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(0)
        );
        assert_eq!(
            "cuda:1".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(1)
        );
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cuda(2).to_string(), "cuda:2");
        assert_eq!(
            "vulkan:1".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Vulkan(1)
        );
        assert_eq!(DeviceChoice::Vulkan(0).to_string(), "vulkan:0");
        assert!("vulkan:x".parse::<DeviceChoice>().is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_an_error() {
        assert!(DeviceChoice::Cuda(0).device().is_err());
        assert!(DeviceChoice::Cpu.device().is_ok());
    }
}
