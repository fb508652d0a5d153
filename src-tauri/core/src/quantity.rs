//! Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1.5Gi`), checked
//! the one way both places that take them do: a pool definition's
//! `resources` and the Kubernetes adapter's `K8S_*` defaults.

/// Suffixes Kubernetes accepts: binary (`Ki`..`Ei`), decimal (`m`, `k`..`E`)
/// or none. Binary ones first, so `Mi` is not read as `M` plus a stray `i`.
const SUFFIXES: [&str; 14] = [
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E", "",
];

/// Whether `q` is a positive quantity: a decimal number (digits, at most one
/// `.`, no sign or exponent) followed by one of the [`SUFFIXES`].
pub fn is_valid(q: &str) -> bool {
    SUFFIXES.iter().any(|s| {
        q.strip_suffix(s).is_some_and(|n| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                && n.chars().filter(|c| *c == '.').count() <= 1
                && n.parse::<f64>().is_ok_and(|v| v > 0.0)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn positive_numbers_with_a_known_suffix() {
        for ok in ["500m", "2", "0.5", "512Mi", "1Gi", "1.5G", "2Pi", "1E"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["", "0", "-1", "1e3", "1.2.3", "Mi", "12Qi", "1 Gi", "inf"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
