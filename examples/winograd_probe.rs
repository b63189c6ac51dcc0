//! Probe behind docs/results.md ("The crate's own 3×3 convolutions"): Winograd F(2×2, 3×3) written with Burn tensor ops
//! against `Conv2d::forward` on Flex, on the U-Net's convolution shapes, with the batched matmul at
//! its heart timed alone. `RAYON_NUM_THREADS=1 cargo run --release --example winograd_probe`
use std::time::Instant;
use vdiff::burn::nn::conv::Conv2dConfig;
use vdiff::burn::nn::PaddingConfig2d;
use vdiff::burn::tensor::ops::PadMode;
use vdiff::burn::tensor::{Device, Tensor, TensorData};

const BT: [[f32; 4]; 4] = [[1., 0., -1., 0.], [0., 1., 1., 0.], [0., -1., 1., 0.], [0., 1., 0., -1.]];
const G: [[f32; 3]; 4] = [[1., 0., 0.], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0., 0., 1.]];
const AT: [[f32; 4]; 2] = [[1., 1., 1., 0.], [0., 1., -1., -1.]];

/// U[k*4+l, co, ci] = (G g G^T)[k, l]
fn transform_weight(w: &[f32], co: usize, ci: usize, device: &Device) -> Tensor<3> {
    let mut u = vec![0f32; 16 * co * ci];
    for o in 0..co {
        for i in 0..ci {
            let g = &w[(o * ci + i) * 9..(o * ci + i) * 9 + 9];
            for k in 0..4 {
                for l in 0..4 {
                    let mut s = 0.0;
                    for a in 0..3 {
                        for b in 0..3 {
                            s += G[k][a] * g[a * 3 + b] * G[l][b];
                        }
                    }
                    u[((k * 4 + l) * co + o) * ci + i] = s;
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(u, [16, co, ci]), device)
}

fn winograd(x: Tensor<4>, u: &Tensor<3>, bias: &Tensor<1>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let co = u.dims()[1];
    let (th, tw) = (h / 2, w / 2);
    let xp = x.pad([(0, 0), (0, 0), (1, 3), (1, 3)], PadMode::Constant(0.0));
    // d[i][j]: [b, c, th, tw] = xp[.., i + 2*ty, j + 2*tx]
    let rows: Vec<Tensor<4>> = (0..4)
        .map(|i| xp.clone().narrow(2, i, h).reshape([b, c, th, 2, w + 4]).narrow(3, 0, 1).reshape([b, c, th, w + 4]))
        .collect();
    let d: Vec<Vec<Tensor<4>>> = rows
        .iter()
        .map(|r| {
            (0..4)
                .map(|j| r.clone().narrow(3, j, w).reshape([b, c, th, tw, 2]).narrow(4, 0, 1).reshape([b, c, th, tw]))
                .collect()
        })
        .collect();
    // V[k][l] = sum_ij BT[k][i] BT[l][j] d[i][j]; first the rows: E[k][j] = sum_i BT[k][i] d[i][j]
    let comb = |coef: &[f32; 4], ts: &[Tensor<4>]| -> Tensor<4> {
        let mut acc: Option<Tensor<4>> = None;
        for (q, t) in coef.iter().zip(ts) {
            if *q == 0.0 {
                continue;
            }
            let t = if *q == 1.0 { t.clone() } else { t.clone().neg() };
            acc = Some(match acc {
                None => t,
                Some(a) => a + t,
            });
        }
        acc.unwrap()
    };
    let e: Vec<Vec<Tensor<4>>> = (0..4)
        .map(|k| {
            (0..4)
                .map(|j| comb(&BT[k], &[d[0][j].clone(), d[1][j].clone(), d[2][j].clone(), d[3][j].clone()]))
                .collect()
        })
        .collect();
    let mut v = Vec::with_capacity(16);
    for ek in &e {
        for bt in &BT {
            v.push(comb(bt, ek));
        }
    }
    // [16, b, c, th, tw] -> [16, c, b*th*tw]
    let v: Tensor<5> = Tensor::stack(v, 0);
    let v = v.permute([0, 2, 1, 3, 4]).reshape([16, c, b * th * tw]);
    let m = u.clone().matmul(v); // [16, co, b*th*tw]
    let m: Vec<Tensor<3>> = (0..16).map(|kl| m.clone().narrow(0, kl, 1).reshape([1, co, b * th * tw])).collect();
    // Y[a][bb] = sum_kl AT[a][k] AT[bb][l] M[kl]
    let mut ys = Vec::new();
    for at_a in &AT {
        for at_b in &AT {
            let mut acc: Option<Tensor<3>> = None;
            for k in 0..4 {
                for l in 0..4 {
                    let q = at_a[k] * at_b[l];
                    if q == 0.0 {
                        continue;
                    }
                    let t = if q == 1.0 { m[k * 4 + l].clone() } else { m[k * 4 + l].clone().neg() };
                    acc = Some(match acc {
                        None => t,
                        Some(s) => s + t,
                    });
                }
            }
            ys.push(acc.unwrap());
        }
    }
    // [4(a,bb), co, b, th, tw] -> [b, co, th, a, tw, bb]
    let y: Tensor<3> = Tensor::cat(ys, 0);
    let y: Tensor<6> = y.reshape([2, 2, co, b, th, tw]);
    let y = y.permute([3, 2, 4, 0, 5, 1]).reshape([b, co, h, w]);
    y + bias.clone().reshape([1, co, 1, 1])
}

fn main() {
    let device = Device::flex();
    for &(bsz, ci, co, hw) in &[(10, 32, 32, 32), (10, 64, 64, 16), (10, 128, 128, 8), (100, 32, 32, 32)] {
        let conv =
            Conv2dConfig::new([ci, co], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        let wv: Vec<f32> = conv.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let bias = conv.bias.as_ref().unwrap().val();
        let u = transform_weight(&wv, co, ci, &device);
        let x = Tensor::<4>::random([bsz, ci, hw, hw], vdiff::burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let a: Vec<f32> = conv.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let bw: Vec<f32> = winograd(x.clone(), &u, &bias).into_data().try_to_vec::<f32>().unwrap();
        let err = a.iter().zip(&bw).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        let time = |f: &dyn Fn() -> Vec<f32>| {
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let td = time(&|| conv.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap());
        let tw = time(&|| winograd(x.clone(), &u, &bias).into_data().try_to_vec::<f32>().unwrap());
        let v = Tensor::<3>::random(
            [16, ci, bsz * hw * hw / 4],
            vdiff::burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let tm = time(&|| u.clone().matmul(v.clone()).into_data().try_to_vec::<f32>().unwrap());
        println!(
            "B={bsz} {ci}->{co} {hw}x{hw}: direct {:.2} ms, winograd {:.2} ms ({:.2}x; its batched matmul alone {:.2} ms), max |diff| {err:.2e}",
            td * 1e3,
            tw * 1e3,
            td / tw,
            tm * 1e3
        );
    }
}
