use std::time::Duration;

/// Parses a lifetime as operators write it: a whole number and one unit, `30d`, `12h`, `90m`,
/// `45s`. Anything else (no unit, other units, overflow, non-ASCII) is `None`.
pub fn parse_lifetime(s: &str) -> Option<Duration> {
    if !s.is_ascii() {
        return None;
    }
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "d" => n.checked_mul(86_400)?,
        "h" => n.checked_mul(3_600)?,
        "m" => n.checked_mul(60)?,
        "s" => n,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_garbage() {
        assert_eq!(
            parse_lifetime("30d"),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_lifetime("0s"), Some(Duration::ZERO));
        for bad in [
            "",
            "d",
            "30",
            "30w",
            "-1h",
            "5é",
            "é",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_lifetime(bad), None, "{bad}");
        }
    }
}
