//! Names real platforms accept, derived from a slot and its lease epoch.
//!
//! Every name is a pure function of its inputs, so a retried call (or
//! another instance) computes the same one: that is what makes a second
//! create of the same assignment collide (409, adopt) instead of starting a
//! second workload.

use crate::stable_hash::fnv1a;

/// `text` as a DNS-1123 label: lowercase `a-z0-9-`, starting with a letter,
/// ending with an alphanumeric, at most `max` characters. When anything was
/// lost (characters replaced or the name shortened) an 8-hex-digit hash of
/// the original is appended, so distinct inputs keep distinct names.
pub fn dns_label(text: &str, max: usize) -> String {
    debug_assert!(max >= 16, "room for a prefix and the hash");
    let mut clean: String = text
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_lowercase()) {
        clean.insert(0, 'x');
    }
    let lossless = clean == text && clean.len() <= max && !clean.contains("--");
    let mut out = if lossless {
        clean
    } else {
        let hash = format!("{:08x}", fnv1a(text.as_bytes()) as u32);
        let keep = max - hash.len() - 1;
        let mut head: String = clean.chars().take(keep).collect();
        while head.ends_with('-') {
            head.pop();
        }
        format!("{head}-{hash}")
    };
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The stable identity of a slot on a platform (`berth-<slot>`), a DNS-1123
/// label of at most 42 characters (leaving room for any epoch suffix:
/// `-e` and up to 19 digits).
pub fn slot_identity(slot_name: &str) -> String {
    dns_label(&format!("berth-{slot_name}"), 42)
}

/// The name of one assignment's workload: the slot identity and the lease
/// epoch (`berth-pool-zoom-001-e7`), at most 63 characters.
pub fn assignment_name(slot_name: &str, epoch: i64) -> String {
    format!("{}-e{epoch}", slot_identity(slot_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_dns_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }

    #[test]
    fn plain_slot_names_are_kept_as_they_are() {
        assert_eq!(
            assignment_name("pool-google-meet-003", 7),
            "berth-pool-google-meet-003-e7"
        );
    }

    #[test]
    fn awkward_or_long_names_become_distinct_dns_labels() {
        let long = "pool-".to_string() + &"a".repeat(200);
        let cases = [
            "Pool_Zoom.001",
            "9-starts-with-digit",
            long.as_str(),
            "trailing-",
            "",
        ];
        for name in cases {
            let n = assignment_name(name, i64::MAX);
            assert!(is_dns_label(&n), "{name:?} -> {n:?}");
        }
        let a = assignment_name(&(long.clone() + "x"), 1);
        let b = assignment_name(&(long + "y"), 1);
        assert_ne!(a, b, "shortened names keep a distinguishing hash");
        assert_ne!(
            slot_identity("Pool_Zoom"),
            slot_identity("pool-zoom"),
            "replaced characters keep a distinguishing hash"
        );
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(
            assignment_name("Pool_Zoom.001", 3),
            assignment_name("Pool_Zoom.001", 3)
        );
    }
}
