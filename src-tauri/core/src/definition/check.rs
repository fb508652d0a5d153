//! Semantic checks of a parsed definition: ranges, names, cross-field rules.

use std::path::Path;
use std::time::Duration;

use super::check_source::check_accounts;
use super::model::{
    PoolDefinition, Problem, MAX_JOB_DURATION, MAX_POOL_SIZE, MAX_QUEUE_TIMEOUT,
    MAX_SCALE_DOWN_AFTER, MIN_SCALE_DOWN_AFTER,
};
use super::parse::{excerpt, locate, MAX_MESSAGE_CHARS};

/// Semantic checks (ranges, names, cross-field rules); each problem is
/// located at its key ([`locate`]) and quotes at most excerpts ([`excerpt`]).
pub fn check(def: &PoolDefinition, text: &str, file: Option<&Path>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |field: &str, message: String| {
        let (line, column) = locate(text, field);
        out.push(Problem {
            file: file.map(Path::to_path_buf),
            line,
            column,
            field: Some(field.to_string()),
            message: excerpt(&message, MAX_MESSAGE_CHARS),
        });
    };
    check_identity(def, &mut bad);
    check_sizes(def, &mut bad);
    check_scaling(def, &mut bad);
    check_resources(def, &mut bad);
    check_durations(def, &mut bad);
    if let Some(source) = &def.accounts {
        check_accounts(source, &mut bad);
    }
    out
}

/// The name, image and tag.
fn check_identity(def: &PoolDefinition, bad: &mut impl FnMut(&str, String)) {
    if !valid_name(&def.name) {
        bad(
            "name",
            format!(
                "{:?} is not a valid pool name: use 1-63 lower-case letters, digits and '-', starting with a letter or digit",
                def.name
            ),
        );
    }
    if def.image.trim().is_empty() || def.image.chars().any(char::is_whitespace) {
        bad("image", "must be an image reference without spaces".into());
    } else if def
        .image
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'))
    {
        bad("image", "give the tag in `tag`, not in the image".into());
    }
    if def.tag.is_empty()
        || def.tag.len() > 128
        || !def
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        bad("tag", format!("{:?} is not a valid image tag", def.tag));
    }
}

/// Max size, pre-warm and the platform list.
fn check_sizes(def: &PoolDefinition, bad: &mut impl FnMut(&str, String)) {
    if !(1..=MAX_POOL_SIZE).contains(&def.max_size) {
        bad(
            "max_size",
            format!("must be from 1 to {MAX_POOL_SIZE}, got {}", def.max_size),
        );
    }
    if def.prewarm > def.max_size {
        bad(
            "prewarm",
            format!(
                "{} exceeds max_size {}: a pool cannot keep more idle slots than it may have",
                def.prewarm, def.max_size
            ),
        );
    }
    if let Some(platforms) = &def.platforms {
        if platforms.is_empty() {
            bad(
                "platforms",
                "is empty: omit it to use the global priority order".into(),
            );
        }
        let mut seen = Vec::new();
        for p in platforms {
            if seen.contains(p) {
                bad("platforms", format!("{p} is listed twice"));
            }
            seen.push(*p);
        }
    }
}

/// The auto-scaling policy: `min_idle <= max_idle <= max_size`, the idle
/// time within its bounds, and no fixed `prewarm` beside it (the two would
/// say different things about the same idle slots).
fn check_scaling(def: &PoolDefinition, bad: &mut impl FnMut(&str, String)) {
    let Some(s) = &def.scaling else {
        return;
    };
    if def.prewarm > 0 {
        bad(
            "prewarm",
            format!(
                "is {} but the pool has `scaling`: leave prewarm out and set scaling.min_idle (the idle slots always kept)",
                def.prewarm
            ),
        );
    }
    if s.min_idle > s.max_idle {
        bad(
            "scaling.min_idle",
            format!("{} exceeds scaling.max_idle {}", s.min_idle, s.max_idle),
        );
    }
    if s.max_idle > def.max_size {
        bad(
            "scaling.max_idle",
            format!(
                "{} exceeds max_size {}: a pool cannot keep more idle slots than it may have",
                s.max_idle, def.max_size
            ),
        );
    }
    if let Some(message) = out_of_range(
        s.scale_down_after.0,
        MIN_SCALE_DOWN_AFTER,
        MAX_SCALE_DOWN_AFTER,
    ) {
        bad("scaling.scale_down_after", message);
    }
}

/// Resource quantities.
fn check_resources(def: &PoolDefinition, bad: &mut impl FnMut(&str, String)) {
    for (field, value) in [
        ("resources.cpu", &def.resources.cpu),
        ("resources.memory", &def.resources.memory),
        ("resources.shm_size", &def.resources.shm_size),
    ] {
        if let Some(v) = value {
            if !valid_quantity(v) {
                bad(
                    field,
                    format!("{v:?} is not a quantity (e.g. 500m, 1, 512Mi, 2Gi)"),
                );
            }
        }
    }
}

/// Recovery and queue durations and counts.
fn check_durations(def: &PoolDefinition, bad: &mut impl FnMut(&str, String)) {
    let second = Duration::from_secs(1);
    for (field, value, min, max) in [
        (
            "recovery.interval",
            def.recovery.interval,
            second,
            MAX_JOB_DURATION,
        ),
        (
            "recovery.deploying_timeout",
            def.recovery.deploying_timeout,
            Duration::from_secs(10),
            MAX_JOB_DURATION,
        ),
        (
            "queue.timeout",
            def.queue.timeout,
            second,
            MAX_QUEUE_TIMEOUT,
        ),
    ] {
        if let Some(message) = out_of_range(value.0, min, max) {
            bad(field, message);
        }
    }
    if !(1..=10).contains(&def.recovery.max_attempts) {
        bad(
            "recovery.max_attempts",
            format!("must be from 1 to 10, got {}", def.recovery.max_attempts),
        );
    }
    if !(0..=1000).contains(&def.queue.priority) {
        bad(
            "queue.priority",
            format!("must be from 0 to 1000, got {}", def.queue.priority),
        );
    }
}

/// "must be from MIN to MAX, got V" when `value` is outside `min..=max`.
pub(super) fn out_of_range(value: Duration, min: Duration, max: Duration) -> Option<String> {
    (value < min || value > max).then(|| {
        format!(
            "must be from {} to {}, got {}",
            short_duration(min),
            short_duration(max),
            short_duration(value)
        )
    })
}

/// A duration in its largest whole unit of h, m, s, ms (`24h`, `90s`).
pub(super) fn short_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if !d.subsec_nanos().is_multiple_of(1_000_000) => {
            humantime::format_duration(d).to_string()
        }
        0 => "0s".into(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

pub(super) fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A pool's `resources` quantity: the one Kubernetes rule ([`crate::quantity`]).
pub(super) fn valid_quantity(q: &str) -> bool {
    crate::quantity::is_valid(q)
}
