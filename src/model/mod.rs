//! The networks of method §3–4, and the guide (a steering network beyond the paper).

pub mod class_layer;
pub mod conv;
pub mod guide;
pub mod unet;
pub mod upsample;

pub use class_layer::{ClassLayer, ClassLayerConfig};
pub use guide::{GuideNet, GuideNetConfig};
pub use unet::{UNet, UNetConfig, NUM_CLASSES};
