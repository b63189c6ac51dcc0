//! Value parsers for numeric flags that have a range beyond their type's: clap refuses a value
//! outside it with the flag's name and the range, before anything runs.

/// A count of at least 1 (batch sizes, images, steps, repetitions).
pub fn count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("must be a whole number of at least 1, got {s:?}")),
    }
}

/// A finite number above 0 (learning rates, minutes).
pub fn positive(s: &str) -> Result<f64, String> {
    number_where(s, |v| v > 0.0, "above 0")
}

/// A finite number from 0 to 1 (eta, noise levels).
pub fn unit(s: &str) -> Result<f64, String> {
    number_where(s, |v| (0.0..=1.0).contains(&v), "from 0 to 1")
}

/// A finite number from 0 up to but not including 1 (dropout, an EMA's decay).
pub fn below_one(s: &str) -> Result<f64, String> {
    number_where(s, |v| (0.0..1.0).contains(&v), "from 0 to below 1")
}

/// `s` as a finite number for which `ok` holds; else an error saying it must be `what`.
fn number_where(s: &str, ok: impl Fn(f64) -> bool, what: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && ok(v) => Ok(v),
        _ => Err(format!("must be a finite number {what}, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_and_not_a_number_are_refused() {
        for bad in ["0", "-1", "", "x", "1.5", "NaN"] {
            assert!(count(bad).is_err(), "{bad}");
        }
        for bad in ["0", "-1", "", "NaN", "inf", "-inf", "x"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        for bad in ["-0.1", "1.1", "NaN", "inf", ""] {
            assert!(unit(bad).is_err() && below_one(bad).is_err(), "{bad}");
        }
        assert!(below_one("1").is_err());
        assert_eq!(
            (count("3"), positive("2e-4"), unit("1"), below_one("0.999")),
            (Ok(3), Ok(2e-4), Ok(1.0), Ok(0.999))
        );
    }
}
