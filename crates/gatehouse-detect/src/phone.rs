//! Telephone numbering-plan checks: ITU-T E.164 country codes and NANP rules.

/// Whether the digits (after `+`/`00`) start with an assigned ITU-T E.164 country code.
pub(crate) fn valid_country_code(d: &[u8]) -> bool {
    let n = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + u32::from(x));
    if d.is_empty() {
        return false;
    }
    // One-digit zones.
    if d[0] == 1 || d[0] == 7 {
        return true;
    }
    if d.len() < 2 {
        return false;
    }
    let two = n(2);
    const TWO: &[u32] = &[
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55,
        56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];
    if TWO.contains(&two) {
        return true;
    }
    if d.len() < 3 {
        return false;
    }
    let three = n(3);
    match three {
        211 | 212 | 213 | 216 | 218 => true,
        220..=258 => three != 259,
        260..=269 => true,
        290 | 291 | 297 | 298 | 299 => true,
        350..=359 => true,
        370..=382 | 385 | 386 | 387 | 389 => true,
        420 | 421 | 423 => true,
        500..=509 => true,
        590..=599 => true,
        670 | 672..=692 => true,
        800 | 808 | 870 | 878 | 881 | 882 | 883 | 888 => true,
        850 | 852 | 853 | 855 | 856 | 880 | 886 => true,
        960..=968 | 970..=977 | 979 => true,
        992..=996 | 998 => true,
        _ => false,
    }
}

/// NANP: area code and exchange code are `[2-9]XX`, neither is an N11 service code, and 555-01XX
/// (reserved for fiction) is not a real line. `d` holds the ten national digits.
pub(crate) fn nanp_valid(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let area_ok = d[0] >= 2 && !(d[1] == 1 && d[2] == 1) && d[1] != 9;
    let exch_ok = d[3] >= 2 && !(d[4] == 1 && d[5] == 1);
    let fiction = d[3] == 5 && d[4] == 5 && d[5] == 5 && d[6] == 0 && d[7] == 1;
    area_ok && exch_ok && !fiction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert!(valid_country_code(&[4, 4, 2, 0]));
        assert!(valid_country_code(&[3, 5, 3, 1]));
        assert!(!valid_country_code(&[2, 8, 1]));
        assert!(!valid_country_code(&[9, 9, 9, 1]));
    }

    #[test]
    fn nanp() {
        assert!(nanp_valid(&[2, 1, 2, 4, 5, 6, 7, 8, 9, 0]));
        assert!(!nanp_valid(&[1, 1, 2, 4, 5, 6, 7, 8, 9, 0]));
        assert!(!nanp_valid(&[4, 1, 1, 4, 5, 6, 7, 8, 9, 0]));
        assert!(!nanp_valid(&[2, 1, 2, 5, 5, 5, 0, 1, 2, 3]));
    }
}
