//! Exponential moving average of a module's weights (Burn has none built in): a visitor
//! collects the trained parameters in traversal order, a mapper blends them into the EMA copy,
//! which has the same structure and so the same order.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().inner().detach();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

struct Blend {
    new: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let new = self.new.next().expect("EMA and model have the same parameters");
        let decay = self.decay;
        param.map(|e| {
            let dims = e.dims();
            e * decay + new.reshape(dims) * (1.0 - decay)
        })
    }
}

/// `ema ← decay·ema + (1 − decay)·model`, parameter by parameter.
pub fn update<M: Module>(ema: M, model: &M, decay: f64) -> M {
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    ema.map(&mut Blend { new: c.0.into_iter(), decay })
}

/// The decay used at `step`: `min(decay, (1 + step) / (10 + step))`, so that the average is
/// not dominated by the random initial weights in short (CPU) runs; the notebook's own warm-up
/// (0.95 for the first epochs) serves the same purpose.
pub fn warmup_decay(decay: f64, step: usize) -> f64 {
    decay.min((1.0 + step as f64) / (10.0 + step as f64))
}
