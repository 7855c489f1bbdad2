//! Small helpers for numbers people read.

/// `1234567` as `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `+12%` or `-3%` from a relative change.
pub fn signed_percent(x: f64) -> String {
    format!("{}{:.0}%", if x >= 0.0 { "+" } else { "" }, x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
            (-4500, "-4,500"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn signed_percents() {
        assert_eq!(signed_percent(0.123), "+12%");
        assert_eq!(signed_percent(-0.456), "-46%");
    }
}
