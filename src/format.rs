//! How vibe writes the numbers people read: counts, money in the brand's currency, percentages,
//! percentage points, multiples and p-values. The terminal, Slack and the HTML report all write
//! them through here, so each number reads the same everywhere.

/// `1234567` as `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count: `1,234`.
pub fn count(n: u64) -> String {
    thousands(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A count with its noun: `1 row`, `2,000 rows`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// A real number of people or things, rounded to a whole one: `2,070`.
pub fn whole(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    thousands(x.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// The symbol amounts in a currency are written with; the code itself where there is no
/// common one (`SEK`).
pub fn currency_symbol(code: &str) -> &str {
    match code {
        "USD" | "CAD" | "AUD" | "NZD" | "MXN" | "SGD" | "HKD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" | "CNY" => "¥",
        "INR" => "₹",
        "BRL" => "R$",
        other => other,
    }
}

/// The symbol and amount, with a space after a symbol that is letters (`CHF 12.00`,
/// `SEK 12.00`) and none after a sign (`$12.00`).
fn with_symbol(symbol: &str, amount: &str, negative: bool) -> String {
    let sign = if negative { "-" } else { "" };
    let symbol = symbol.trim_end();
    let space = if symbol.chars().last().is_some_and(char::is_alphabetic) {
        " "
    } else {
        ""
    };
    format!("{sign}{symbol}{space}{amount}")
}

/// An amount with its cents: `$317.40`, `€1,234.50`.
pub fn money(amount: f64, symbol: &str) -> String {
    if !amount.is_finite() {
        return "–".into();
    }
    let cents = (amount.abs() * 100.0).round();
    let whole_part = (cents / 100.0).trunc();
    let frac = cents - whole_part * 100.0;
    let amount_text = format!(
        "{}.{:02}",
        thousands(whole_part.min(i64::MAX as f64) as i64),
        frac as u8
    );
    with_symbol(symbol, &amount_text, amount < 0.0 && cents > 0.0)
}

/// An amount in minor units, in whole currency: `$12,345`.
pub fn money_whole(cents: i64, symbol: &str) -> String {
    let units = (cents.unsigned_abs() + 50) / 100;
    with_symbol(
        symbol,
        &thousands(i64::try_from(units).unwrap_or(i64::MAX)),
        cents < 0 && units > 0,
    )
}

/// A share or rate: `5.16%` from 0.05162; two decimals, so small rates stay readable.
pub fn percent(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let text = format!("{:.2}%", x * 100.0);
    if text == "-0.00%" {
        "0.00%".into()
    } else {
        text
    }
}

/// A relative change: `+12.4%`, `-3.0%`, `0.0%` (never `-0.0%`), from 0.124.
pub fn signed_percent(x: f64) -> String {
    signed(x * 100.0, 1, "%")
}

/// A difference of rates in percentage points: `+0.52 pp` from 0.0052.
pub fn points(x: f64) -> String {
    signed(x * 100.0, 2, " pp")
}

/// `x` with `decimals` decimals and a sign, where a value that rounds to zero has none.
fn signed(x: f64, decimals: usize, unit: &str) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let text = format!("{x:.decimals$}");
    let zero = text
        .trim_start_matches('-')
        .bytes()
        .all(|b| b == b'0' || b == b'.');
    if zero {
        format!("{}{unit}", text.trim_start_matches('-'))
    } else if x > 0.0 {
        format!("+{text}{unit}")
    } else {
        format!("{text}{unit}")
    }
}

/// A multiple with three significant digits: `0.72x`, `4.39x`, `33.9x`, `120x`.
pub fn multiple(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.abs() >= 99.95 {
        format!("{}x", whole(x))
    } else if x.abs() >= 9.995 {
        format!("{x:.1}x")
    } else {
        format!("{x:.2}x")
    }
}

/// A p-value: `0.0430`, or `< 0.0001` below what four decimals can show.
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// A measured value with four significant digits and separators: `1,234`, `15.20`, `0.05162`.
pub fn number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { "–".into() };
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    if digits == 0 {
        return whole(x);
    }
    format!("{x:.digits$}")
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
            (i64::MIN, "-9,223,372,036,854,775,808"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn counts_and_nouns() {
        for (n, want) in [
            (0, "0 rows"),
            (1, "1 row"),
            (2, "2 rows"),
            (120000, "120,000 rows"),
        ] {
            assert_eq!(counted(n, "row", "rows"), want);
        }
        assert_eq!(count(u64::MAX), "9,223,372,036,854,775,807");
        assert_eq!(whole(2070.4), "2,070");
        assert_eq!(whole(f64::NAN), "–");
    }

    #[test]
    fn money_in_the_brands_currency() {
        for (x, sym, want) in [
            (317.4, "$", "$317.40"),
            (1234.5, "€", "€1,234.50"),
            (0.004, "$", "$0.00"),
            (-0.004, "$", "$0.00"),
            (-12.5, "£", "-£12.50"),
            (12.0, "CHF ", "CHF 12.00"),
            (12.0, "SEK", "SEK 12.00"),
            (1e7, "¥", "¥10,000,000.00"),
            (f64::NAN, "$", "–"),
        ] {
            assert_eq!(money(x, sym), want, "{x} {sym}");
        }
        for (c, sym, want) in [
            (1_234_567, "$", "$12,346"),
            (49, "$", "$0"),
            (-250_000, "€", "-€2,500"),
            (100, "SEK", "SEK 1"),
        ] {
            assert_eq!(money_whole(c, sym), want, "{c} {sym}");
        }
    }

    #[test]
    fn percentages_points_and_multiples() {
        for (x, want) in [
            (0.05162, "5.16%"),
            (0.0, "0.00%"),
            (-0.00001, "0.00%"),
            (1.0, "100.00%"),
        ] {
            assert_eq!(percent(x), want, "{x}");
        }
        for (x, want) in [
            (0.124, "+12.4%"),
            (-0.456, "-45.6%"),
            (-0.0004, "0.0%"),
            (0.0004, "0.0%"),
            (0.0, "0.0%"),
            (-1.0, "-100.0%"),
            (f64::INFINITY, "–"),
        ] {
            assert_eq!(signed_percent(x), want, "{x}");
        }
        for (x, want) in [
            (0.0052, "+0.52 pp"),
            (-0.0394, "-3.94 pp"),
            (-0.00001, "0.00 pp"),
        ] {
            assert_eq!(points(x), want, "{x}");
        }
        for (x, want) in [
            (33.94, "33.9x"),
            (2.5, "2.50x"),
            (0.724, "0.72x"),
            (9.996, "10.0x"),
            (120.4, "120x"),
            (1234.0, "1,234x"),
        ] {
            assert_eq!(multiple(x), want, "{x}");
        }
    }

    #[test]
    fn p_values_and_measured_numbers() {
        for (p, want) in [
            (0.043, "0.0430"),
            (0.00001, "< 0.0001"),
            (0.0, "< 0.0001"),
            (0.0001, "0.0001"),
            (1.0, "1.0000"),
        ] {
            assert_eq!(p_value(p), want, "{p}");
        }
        for (x, want) in [
            (0.05162, "0.05162"),
            (15.2, "15.20"),
            (1234.0, "1,234"),
            (120000.0, "120,000"),
            (0.0, "0"),
            (-2.5, "-2.500"),
        ] {
            assert_eq!(number(x), want, "{x}");
        }
    }
}
