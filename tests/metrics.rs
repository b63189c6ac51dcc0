//! Inception Score and Fréchet distance on known inputs.

use vdiff::eval::metrics::{frechet_distance, inception_score, softmax_rows};
use vdiff::noise::Noise;

#[test]
fn inception_score_of_known_tables() {
    // Confident and uniform over 10 classes: IS = number of classes.
    let confident: Vec<Vec<f64>> =
        (0..100).map(|i| (0..10).map(|j| f64::from(u8::from(i % 10 == j))).collect()).collect();
    assert!((inception_score(&confident) - 10.0).abs() < 1e-9);
    // Identical predictions: IS = 1, whatever they are.
    let same = vec![vec![0.1, 0.7, 0.2]; 50];
    assert!((inception_score(&same) - 1.0).abs() < 1e-12);
    // Confident but only 4 classes used: 4.
    let four: Vec<Vec<f64>> = (0..40).map(|i| (0..10).map(|j| f64::from(u8::from(i % 4 == j))).collect()).collect();
    assert!((inception_score(&four) - 4.0).abs() < 1e-9);
    let p = softmax_rows(&[0.0, 0.0, 1000.0, 0.0], 2);
    assert!((p[0][0] - 0.5).abs() < 1e-12 && (p[1][0] - 1.0).abs() < 1e-12 && p[1][1] < 1e-12);
}

fn gaussian(n: usize, d: usize, shift: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Noise::new(seed);
    (0..n)
        .map(|_| {
            rng.normals(d).into_iter().enumerate().map(|(j, x)| x as f64 * (1.0 + j as f64 * 0.1) + shift).collect()
        })
        .collect()
}

#[test]
fn frechet_distance_is_zero_on_itself_and_grows_with_a_shift() {
    let a = gaussian(400, 6, 0.0, 1);
    assert!(frechet_distance(&a, &a) < 1e-8, "{}", frechet_distance(&a, &a));
    let d1 = frechet_distance(&a, &gaussian(400, 6, 0.5, 2));
    let d2 = frechet_distance(&a, &gaussian(400, 6, 1.0, 3));
    let d3 = frechet_distance(&a, &gaussian(400, 6, 2.0, 4));
    assert!(d1 < d2 && d2 < d3, "{d1} {d2} {d3}");
    // A pure mean shift of s in every one of 6 dims adds about 6 s².
    assert!((d3 - 24.0).abs() < 3.0, "{d3}");
}
