//! The networks of method §3–4.

pub mod class_layer;
pub mod conv;
pub mod unet;
pub mod upsample;

pub use class_layer::{ClassLayer, ClassLayerConfig};
pub use unet::{UNet, UNetConfig, NUM_CLASSES};
