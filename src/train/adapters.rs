//! What the loop trains: the [`Trainable`] adapters of the U-Net, the additional layer and the
//! guide, and the frozen networks a steering network trains on.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use crate::model::{ClassLayer, GuideNet, UNet};
use crate::noise::Noise;

/// The networks a steering network trains on, none of them trained: the unconditional U-Net
/// whose velocity it steers and, for distillation, the conditional U-Net whose velocity is
/// then the target instead of the data's `v`.
#[derive(Clone, Copy, Default)]
pub struct Frozen<'a> {
    pub unet: Option<&'a UNet>,
    pub teacher: Option<&'a UNet>,
}

impl<'a> Frozen<'a> {
    fn unet(&self) -> &'a UNet {
        self.unet.expect("a steering network trains on a frozen U-Net")
    }
}

/// A network the loop can train: it predicts `v̂` for noised images.
pub trait Trainable: Module + Clone {
    /// # Shapes
    /// `x_t`: `[B, 3, 32, 32]`, `log_snr`, `classes`: `[B]` → `[B, 3, 32, 32]`
    fn predict(
        &self,
        frozen: Frozen,
        x_t: Tensor<4>,
        log_snr: Tensor<1>,
        classes: Tensor<1, Int>,
        rng: Option<&mut Noise>,
    ) -> Tensor<4>;
}

impl Trainable for UNet {
    fn predict(
        &self,
        _: Frozen,
        x_t: Tensor<4>,
        ls: Tensor<1>,
        cls: Tensor<1, Int>,
        rng: Option<&mut Noise>,
    ) -> Tensor<4> {
        let cls = self.is_conditional().then_some(cls);
        self.forward_with_dropout(x_t, ls, cls, rng)
    }
}

impl Trainable for ClassLayer {
    /// The additional layer on the frozen U-Net's velocity (method §4): no gradient reaches the
    /// U-Net, which runs without autodiff.
    fn predict(
        &self,
        frozen: Frozen,
        x_t: Tensor<4>,
        ls: Tensor<1>,
        cls: Tensor<1, Int>,
        _: Option<&mut Noise>,
    ) -> Tensor<4> {
        self.forward(frozen_velocity(frozen.unet(), x_t, ls, None), cls)
    }
}

impl Trainable for GuideNet {
    fn predict(
        &self,
        frozen: Frozen,
        x_t: Tensor<4>,
        ls: Tensor<1>,
        cls: Tensor<1, Int>,
        _: Option<&mut Noise>,
    ) -> Tensor<4> {
        // The U-Net computes its features anyway; a guide that reads none ignores them.
        let (v, features) = frozen_features(frozen.unet(), x_t.clone(), ls.clone());
        self.forward(x_t, v, &features, ls, cls)
    }
}

/// The frozen unconditional U-Net's velocity and inner features, as [`frozen_velocity`].
fn frozen_features(unet: &UNet, x_t: Tensor<4>, ls: Tensor<1>) -> (Tensor<4>, Vec<Tensor<4>>) {
    let tracked = x_t.is_autodiff();
    let (v, features) = unet.forward_features(x_t.inner(), ls.inner(), None);
    if !tracked {
        return (v, features);
    }
    (v.autodiff(), features.into_iter().map(|f| f.autodiff()).collect())
}

/// A frozen network's velocity: it runs without autodiff, so no gradient reaches it; the result
/// joins the graph of `x_t` again.
pub(super) fn frozen_velocity(unet: &UNet, x_t: Tensor<4>, ls: Tensor<1>, cls: Option<Tensor<1, Int>>) -> Tensor<4> {
    let tracked = x_t.is_autodiff();
    let v = unet.forward(x_t.inner(), ls.inner(), cls.map(|c| c.inner()));
    if tracked {
        v.autodiff()
    } else {
        v
    }
}
