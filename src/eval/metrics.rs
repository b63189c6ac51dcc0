//! Inception Score and Fréchet distance on plain `f64` tables (any classifier's outputs).

/// `exp(E_x KL(p(y|x) ‖ p(y)))` over rows of class probabilities.
pub fn inception_score(probs: &[Vec<f64>]) -> f64 {
    let n = probs.len() as f64;
    let k = probs.first().map_or(0, |p| p.len());
    let marginal: Vec<f64> = (0..k).map(|j| probs.iter().map(|p| p[j]).sum::<f64>() / n).collect();
    let kl: f64 = probs
        .iter()
        .map(|p| p.iter().zip(&marginal).filter(|(&q, _)| q > 0.0).map(|(&q, &m)| q * (q.ln() - m.ln())).sum::<f64>())
        .sum::<f64>()
        / n;
    kl.exp()
}

/// Within-group diversity: the mean Euclidean distance between two feature rows of the same
/// group, averaged over the groups with at least two rows. Near-copies score near zero.
pub fn mean_pairwise_distance(feats: &[Vec<f64>], groups: &[usize]) -> f64 {
    let mut by_group = std::collections::BTreeMap::<usize, Vec<&Vec<f64>>>::new();
    for (f, &g) in feats.iter().zip(groups) {
        by_group.entry(g).or_default().push(f);
    }
    let means: Vec<f64> = by_group
        .values()
        .filter(|rows| rows.len() >= 2)
        .map(|rows| {
            let mut sum = 0.0;
            for (i, a) in rows.iter().enumerate() {
                for b in &rows[i + 1..] {
                    sum += a.iter().zip(b.iter()).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
                }
            }
            sum / (rows.len() * (rows.len() - 1) / 2) as f64
        })
        .collect();
    means.iter().sum::<f64>() / means.len().max(1) as f64
}

/// Mean and covariance (divided by n − 1) of feature rows.
#[allow(clippy::needless_range_loop)] // index loops read as the formulas do
pub fn mean_cov(x: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = x.len();
    let d = x[0].len();
    let mu: Vec<f64> = (0..d).map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64).collect();
    let mut cov = vec![vec![0.0; d]; d];
    for r in x {
        for i in 0..d {
            let a = r[i] - mu[i];
            for j in i..d {
                cov[i][j] += a * (r[j] - mu[j]);
            }
        }
    }
    let denom = (n.max(2) - 1) as f64;
    for i in 0..d {
        for j in i..d {
            cov[i][j] /= denom;
            cov[j][i] = cov[i][j];
        }
    }
    (mu, cov)
}

/// Eigen-decomposition of a symmetric matrix (cyclic Jacobi): eigenvalues and column vectors.
#[allow(clippy::needless_range_loop)] // index loops read as the formulas do
fn sym_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (n, m, p) = (a.len(), b.len(), b[0].len());
    (0..n).map(|i| (0..p).map(|j| (0..m).map(|k| a[i][k] * b[k][j]).sum()).collect()).collect()
}

/// Symmetric PSD square root via eigen-decomposition (negative round-off clipped to 0).
fn sqrt_psd(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (w, v) = sym_eigen(a.to_vec());
    let n = a.len();
    (0..n).map(|i| (0..n).map(|j| (0..n).map(|k| v[i][k] * w[k].max(0.0).sqrt() * v[j][k]).sum()).collect()).collect()
}

/// Fréchet distance between Gaussians fitted to two feature sets:
/// `‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)`.
pub fn frechet_distance(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let (m1, s1) = mean_cov(a);
    let (m2, s2) = mean_cov(b);
    let r = sqrt_psd(&s1);
    let cross = sqrt_psd(&matmul(&matmul(&r, &s2), &r));
    let d2: f64 = m1.iter().zip(&m2).map(|(x, y)| (x - y).powi(2)).sum();
    let tr = |m: &[Vec<f64>]| (0..m.len()).map(|i| m[i][i]).sum::<f64>();
    (d2 + tr(&s1) + tr(&s2) - 2.0 * tr(&cross)).max(0.0)
}

/// Softmax of logits rows.
pub fn softmax_rows(logits: &[f32], k: usize) -> Vec<Vec<f64>> {
    logits
        .chunks_exact(k)
        .map(|r| {
            let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let e: Vec<f64> = r.iter().map(|&x| (x as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|x| x / s).collect()
        })
        .collect()
}
