use std::path::PathBuf;
use std::time::Duration;

use super::check::{short_duration, valid_quantity};
use super::parse::{excerpt, locate, MAX_EXCERPT_CHARS};
use super::*;
use crate::meeting::MeetingPlatform;

#[test]
fn placeholders_skip_strings_and_casts() {
    assert_eq!(
        placeholders(
            "SELECT id::text FROM a WHERE s = :status AND n > :min AND x = ':nope' AND y = :status"
        ),
        vec!["status".to_string(), "min".to_string()]
    );
}

#[test]
fn pools_dir_prefers_the_variable_then_xdg_then_home() {
    use std::ffi::OsString;
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    };
    assert_eq!(
        pools_dir(env(&[("BERTH_POOLS_DIR", "/srv/pools"), ("HOME", "/h")])),
        PathBuf::from("/srv/pools")
    );
    assert_eq!(
        pools_dir(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
        PathBuf::from("/x/berth/pools")
    );
    assert_eq!(
        pools_dir(env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])),
        PathBuf::from("/h/.config/berth/pools")
    );
}

#[test]
fn quantities() {
    for ok in ["500m", "1", "2.5", "512Mi", "2Gi", "1G"] {
        assert!(valid_quantity(ok), "{ok}");
    }
    for bad in ["", "m", "1.2.3", "-1", "1 Gi", "1gb", "0"] {
        assert!(!valid_quantity(bad), "{bad}");
    }
}

#[test]
fn examples_are_valid_definitions() {
    for mp in MeetingPlatform::ALL {
        let def = parse(&example(*mp), None).expect("the example parses");
        assert_eq!(def.meeting_platform, *mp);
        assert_eq!(def.name, mp.as_str());
    }
}

#[test]
fn locate_follows_the_path_through_blocks() {
    let text = "accounts:\n  query:\n    parameters:\n      - name: status\n  # max_failures: 1\n  pool_config:\n    max_failures: 0\nname: Bad\nqueue:\n  priority: 5\n";
    // The top-level `name`, not the parameter's.
    assert_eq!(locate(text, "name"), (Some(8), Some(1)));
    assert_eq!(locate(text, "queue.priority"), (Some(10), Some(3)));
    assert_eq!(
        locate(text, "accounts.pool_config.max_failures"),
        (Some(7), Some(5))
    );
    // Not there: the deepest key that is.
    assert_eq!(locate(text, "accounts.query.select"), (Some(2), Some(3)));
    assert_eq!(locate(text, "missing"), (None, None));
    // Not even the first key: the last one, anywhere.
    assert_eq!(
        locate("name: a\n  priority: 1\n", "queue.priority"),
        (Some(2), Some(3))
    );
}

#[test]
fn excerpts_cut_quoted_values_and_long_messages() {
    let long = "k".repeat(5000);
    let shown = excerpt(
        &format!("unknown field `{long}`, expected one of a, b"),
        300,
    );
    assert_eq!(
        shown,
        format!(
            "unknown field `{}…`, expected one of a, b",
            "k".repeat(MAX_EXCERPT_CHARS)
        )
    );
    let shown = excerpt(&format!("{:?} is not valid", format!("a\"{long}")), 300);
    assert!(shown.starts_with("\"a\\\"kkk"), "{shown}");
    assert!(shown.ends_with("…\" is not valid"), "{shown}");
    assert_eq!(
        excerpt("bell\u{7} and \u{1b}[31m", 300),
        "bell\\u{7} and \\u{1b}[31m"
    );
    assert_eq!(excerpt(&"x ".repeat(400), 300).chars().count(), 301);
    assert_eq!(excerpt("short `quote` kept", 300), "short `quote` kept");
}

#[test]
fn short_durations_use_their_largest_whole_unit() {
    let d = |ms: u64| short_duration(Duration::from_millis(ms));
    assert_eq!(d(0), "0s");
    assert_eq!(d(86_400_000), "24h");
    assert_eq!(d(90_000), "90s");
    assert_eq!(d(600_000), "10m");
    assert_eq!(d(1_500), "1500ms");
    assert_eq!(short_duration(Duration::from_micros(500)), "500us");
}
