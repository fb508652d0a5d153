//! Configuration from the environment: reference 004's validation rules and
//! every error path of `EnvConfig::parse`, which is pure (it takes a lookup),
//! so each test hands it its own variables and nothing else.
//!
//! Every error is checked on its code, on the variable it names and on the
//! message text a person reads.

use berth_core::config::{EnvConfig, PlatformConfig, Setting};
use berth_core::meeting::{MeetingPlatform, PlatformKind};
use berth_core::{Error, ErrorCode};
use std::collections::HashMap;

use PlatformKind::{Aws, Coolify, K8s, Local};

const PROD: bool = false;
const DEV: bool = true;

fn parse(vars: &[(&str, &str)], dev: bool) -> berth_core::Result<EnvConfig> {
    let env: HashMap<&str, &str> = vars.iter().copied().collect();
    EnvConfig::parse(&|k| env.get(k).map(|v| v.to_string()), dev)
}

fn ok(vars: &[(&str, &str)], dev: bool) -> EnvConfig {
    parse(vars, dev).unwrap_or_else(|e| {
        panic!(
            "expected {vars:?} (dev={dev}) to be valid, got: {e} [{}]",
            e.code()
        )
    })
}

fn err(vars: &[(&str, &str)], dev: bool) -> Error {
    match parse(vars, dev) {
        Ok(config) => panic!("expected {vars:?} (dev={dev}) to be refused, got {config:#?}"),
        Err(e) => e,
    }
}

/// The error has `code`, names `var` as the variable at fault, shows it in
/// its text, and its text contains every one of `words`.
fn assert_config_error(e: &Error, code: ErrorCode, var: &str, words: &[&str]) {
    assert_eq!(e.code(), code, "wrong code for: {e}");
    match e {
        Error::Config { variable, .. } => assert_eq!(variable, var, "wrong variable named by: {e}"),
        other => panic!("expected a configuration error naming {var}, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains(var), "message does not name {var}: {text}");
    for word in words {
        assert!(
            text.contains(word),
            "message does not mention {word:?}: {text}"
        );
    }
}

fn kinds(platforms: &[PlatformConfig]) -> Vec<PlatformKind> {
    platforms.iter().map(|p| p.kind).collect()
}

fn platform(config: &EnvConfig, kind: PlatformKind) -> &PlatformConfig {
    config
        .platforms
        .iter()
        .find(|p| p.kind == kind)
        .unwrap_or_else(|| panic!("{kind} missing from {:?}", kinds(&config.platforms)))
}

fn pinned<T>(value: T, var: &str) -> Setting<T> {
    Setting {
        value,
        pinned_by: Some(var.to_string()),
    }
}

fn default<T>(value: T) -> Setting<T> {
    Setting {
        value,
        pinned_by: None,
    }
}

fn pool(config: &EnvConfig, mp: MeetingPlatform) -> (u32, u32) {
    let p = config
        .pools
        .iter()
        .find(|p| p.meeting_platform == mp)
        .unwrap_or_else(|| panic!("no pool sizing for {mp}"));
    (p.max_size, p.prewarm_count)
}

/// The reference's example, limits only.
const EXAMPLE: &[(&str, &str)] = &[
    ("PLATFORM_PRIORITY", "k8s,aws,coolify"),
    ("K8S_BOT_LIMIT", "30"),
    ("AWS_BOT_LIMIT", "100"),
    ("COOLIFY_BOT_LIMIT", "50"),
];

fn example_with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut vars: Vec<(&str, &str)> = EXAMPLE.to_vec();
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k, v));
    }
    vars
}

// ---- Rule 1: PLATFORM_PRIORITY is required and must not be empty ----------

#[test]
fn rule1_missing_platform_priority_is_config_missing_naming_it() {
    let e = err(&[("K8S_BOT_LIMIT", "30")], PROD);
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "PLATFORM_PRIORITY",
        &["required"],
    );
    assert_eq!(e.code().as_str(), "config_missing");
}

#[test]
fn rule1_missing_platform_priority_without_any_variable_is_config_missing() {
    let e = err(&[], PROD);
    assert_config_error(&e, ErrorCode::ConfigMissing, "PLATFORM_PRIORITY", &[]);
}

#[test]
fn rule1_empty_platform_priority_is_refused() {
    let e = err(&[("PLATFORM_PRIORITY", ""), ("K8S_BOT_LIMIT", "30")], PROD);
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "PLATFORM_PRIORITY",
        &["empty"],
    );
}

#[test]
fn rule1_blank_platform_priority_is_refused_as_empty() {
    let e = err(
        &[("PLATFORM_PRIORITY", "  \t "), ("K8S_BOT_LIMIT", "30")],
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "PLATFORM_PRIORITY",
        &["empty"],
    );
}

#[test]
fn empty_entry_in_platform_priority_is_refused() {
    for raw in ["k8s,,aws", "k8s, ,aws", "k8s,aws,", ",k8s", " , "] {
        let e = err(
            &[
                ("PLATFORM_PRIORITY", raw),
                ("K8S_BOT_LIMIT", "30"),
                ("AWS_BOT_LIMIT", "30"),
            ],
            PROD,
        );
        assert_config_error(
            &e,
            ErrorCode::ConfigInvalid,
            "PLATFORM_PRIORITY",
            &["empty"],
        );
    }
}

#[test]
fn whitespace_around_entries_is_trimmed() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "  aws ,\tk8s  "),
            ("K8S_BOT_LIMIT", "30"),
            ("AWS_BOT_LIMIT", "20"),
        ],
        PROD,
    );
    assert_eq!(c.priority, pinned(vec![Aws, K8s], "PLATFORM_PRIORITY"));
    assert_eq!(kinds(&c.platforms), vec![Aws, K8s]);
}

#[test]
fn platform_names_are_case_insensitive() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "K8S,Aws"),
            ("K8S_BOT_LIMIT", "30"),
            ("AWS_BOT_LIMIT", "20"),
        ],
        PROD,
    );
    assert_eq!(c.priority.value, vec![K8s, Aws]);
}

#[test]
fn unknown_platform_is_refused_naming_it() {
    let e = err(
        &[("PLATFORM_PRIORITY", "k8s,gcp"), ("K8S_BOT_LIMIT", "30")],
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "PLATFORM_PRIORITY",
        &["unknown platform", "gcp"],
    );
}

#[test]
fn duplicate_platform_is_refused() {
    for raw in ["k8s,aws,k8s", "k8s,K8S"] {
        let e = err(
            &[
                ("PLATFORM_PRIORITY", raw),
                ("K8S_BOT_LIMIT", "30"),
                ("AWS_BOT_LIMIT", "30"),
            ],
            PROD,
        );
        assert_config_error(
            &e,
            ErrorCode::ConfigInvalid,
            "PLATFORM_PRIORITY",
            &["twice"],
        );
    }
}

// ---- Rule 2: at least one listed platform has a *_BOT_LIMIT ---------------

#[test]
fn rule2_no_listed_platform_with_a_limit_is_refused_naming_the_limits() {
    let e = err(&[("PLATFORM_PRIORITY", "k8s,aws")], PROD);
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "PLATFORM_PRIORITY",
        &["K8S_BOT_LIMIT", "AWS_BOT_LIMIT"],
    );
    assert!(
        !e.to_string().contains("COOLIFY_BOT_LIMIT"),
        "names an unlisted platform: {e}"
    );
}

#[test]
fn rule2_a_limit_on_an_unlisted_platform_does_not_count() {
    let e = err(
        &[("PLATFORM_PRIORITY", "k8s"), ("COOLIFY_BOT_LIMIT", "50")],
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "PLATFORM_PRIORITY",
        &["K8S_BOT_LIMIT"],
    );
}

#[test]
fn rule2_one_limited_platform_is_enough() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "k8s,aws,coolify"),
            ("AWS_BOT_LIMIT", "7"),
        ],
        PROD,
    );
    assert_eq!(kinds(&c.platforms), vec![Aws]);
    assert_eq!(platform(&c, Aws).bot_limit, pinned(7, "AWS_BOT_LIMIT"));
}

// ---- Rule 3: `local` is not allowed outside development mode ---------------

#[test]
fn rule3_local_is_refused_outside_development_mode() {
    for raw in ["local", "k8s,local", "LOCAL"] {
        let e = err(
            &[
                ("PLATFORM_PRIORITY", raw),
                ("K8S_BOT_LIMIT", "30"),
                ("LOCAL_BOT_LIMIT", "5"),
            ],
            PROD,
        );
        assert_config_error(
            &e,
            ErrorCode::PlatformRefused,
            "PLATFORM_PRIORITY",
            &["local"],
        );
        assert_eq!(e.code().as_str(), "platform_refused");
    }
}

#[test]
fn rule3_local_is_allowed_in_development_mode() {
    let c = ok(
        &[("PLATFORM_PRIORITY", "local"), ("LOCAL_BOT_LIMIT", "5")],
        DEV,
    );
    assert_eq!(c.priority, pinned(vec![Local], "PLATFORM_PRIORITY"));
    assert_eq!(kinds(&c.platforms), vec![Local]);
    assert_eq!(platform(&c, Local).bot_limit, pinned(5, "LOCAL_BOT_LIMIT"));
}

#[test]
fn rule3_local_in_development_mode_has_a_default_limit() {
    let c = ok(&[("PLATFORM_PRIORITY", "k8s,local")], DEV);
    assert_eq!(kinds(&c.platforms), vec![K8s, Local]);
    let local = platform(&c, Local);
    assert!(local.bot_limit.value >= 1);
    assert_eq!(local.bot_limit.pinned_by, None);
}

// ---- Rule 4: platforms without a limit are skipped with a warning ----------

#[test]
fn rule4_listed_platform_without_limit_is_skipped_with_a_warning() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "k8s,aws,coolify"),
            ("K8S_BOT_LIMIT", "30"),
            ("COOLIFY_BOT_LIMIT", "50"),
        ],
        PROD,
    );
    assert_eq!(
        kinds(&c.platforms),
        vec![K8s, Coolify],
        "aws is skipped, the others remain in order"
    );
    assert_eq!(
        c.priority.value,
        vec![K8s, Aws, Coolify],
        "the declared priority is kept as given"
    );
    let warning = c
        .warnings
        .iter()
        .find(|w| w.contains("AWS_BOT_LIMIT"))
        .unwrap_or_else(|| panic!("no warning about AWS_BOT_LIMIT in {:?}", c.warnings));
    assert!(
        warning.contains("aws") && warning.contains("skipped"),
        "{warning}"
    );
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}

#[test]
fn rule4_a_skipped_platform_with_a_timeout_is_still_skipped() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "k8s,aws"),
            ("K8S_BOT_LIMIT", "30"),
            ("AWS_QUEUE_TIMEOUT_MS", "1000"),
        ],
        PROD,
    );
    assert_eq!(kinds(&c.platforms), vec![K8s]);
    assert!(
        c.warnings.iter().any(|w| w.contains("AWS_BOT_LIMIT")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn a_fully_limited_configuration_has_no_warnings() {
    let c = ok(EXAMPLE, PROD);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

// ---- Limits: whole numbers from 1 to 100000, naming the variable -----------

#[test]
fn bad_bot_limits_are_refused_naming_the_exact_variable() {
    for (var, value) in [
        ("AWS_BOT_LIMIT", "abc"),
        ("AWS_BOT_LIMIT", "0"),
        ("AWS_BOT_LIMIT", "-1"),
        ("AWS_BOT_LIMIT", "1.5"),
        ("AWS_BOT_LIMIT", "100001"),
        ("AWS_BOT_LIMIT", "99999999999999999999999"),
        ("AWS_BOT_LIMIT", ""),
        ("AWS_BOT_LIMIT", "  "),
        ("K8S_BOT_LIMIT", "ten"),
        ("COOLIFY_BOT_LIMIT", "0"),
    ] {
        let e = err(&example_with(&[(var, value)]), PROD);
        assert_config_error(&e, ErrorCode::ConfigInvalid, var, &[]);
        assert!(
            e.to_string().contains("100000"),
            "message states the range: {e}"
        );
    }
}

#[test]
fn non_numeric_limit_message_shows_the_value() {
    let e = err(&example_with(&[("AWS_BOT_LIMIT", "lots")]), PROD);
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "AWS_BOT_LIMIT",
        &["whole number", "lots"],
    );
}

#[test]
fn bot_limit_bounds_are_inclusive_and_values_are_trimmed() {
    let c = ok(
        &example_with(&[
            ("K8S_BOT_LIMIT", "1"),
            ("AWS_BOT_LIMIT", "100000"),
            ("COOLIFY_BOT_LIMIT", " 42 "),
        ]),
        PROD,
    );
    assert_eq!(platform(&c, K8s).bot_limit, pinned(1, "K8S_BOT_LIMIT"));
    assert_eq!(
        platform(&c, Aws).bot_limit,
        pinned(100_000, "AWS_BOT_LIMIT")
    );
    assert_eq!(
        platform(&c, Coolify).bot_limit,
        pinned(42, "COOLIFY_BOT_LIMIT")
    );
}

// ---- Queue timeouts ---------------------------------------------------------

#[test]
fn bad_platform_queue_timeouts_are_refused_naming_the_exact_variable() {
    for (var, value) in [
        ("K8S_QUEUE_TIMEOUT_MS", "soon"),
        ("K8S_QUEUE_TIMEOUT_MS", "-5"),
        ("AWS_QUEUE_TIMEOUT_MS", "3600001"),
        ("AWS_QUEUE_TIMEOUT_MS", "1e3"),
        ("COOLIFY_QUEUE_TIMEOUT_MS", ""),
    ] {
        let e = err(&example_with(&[(var, value)]), PROD);
        assert_config_error(&e, ErrorCode::ConfigInvalid, var, &["3600000"]);
    }
}

#[test]
fn platform_queue_timeout_bounds_are_inclusive() {
    let c = ok(
        &example_with(&[
            ("K8S_QUEUE_TIMEOUT_MS", "0"),
            ("AWS_QUEUE_TIMEOUT_MS", "3600000"),
        ]),
        PROD,
    );
    assert_eq!(
        platform(&c, K8s).queue_timeout_ms,
        pinned(0, "K8S_QUEUE_TIMEOUT_MS")
    );
    assert_eq!(
        platform(&c, Aws).queue_timeout_ms,
        pinned(3_600_000, "AWS_QUEUE_TIMEOUT_MS")
    );
}

#[test]
fn global_queue_timeout_bounds() {
    for value in ["999", "0", "3600001", "ten minutes", ""] {
        let e = err(&example_with(&[("GLOBAL_QUEUE_TIMEOUT_MS", value)]), PROD);
        assert_config_error(
            &e,
            ErrorCode::ConfigInvalid,
            "GLOBAL_QUEUE_TIMEOUT_MS",
            &["1000", "3600000"],
        );
    }
    for (value, expected) in [("1000", 1_000), ("3600000", 3_600_000), ("120000", 120_000)] {
        let c = ok(&example_with(&[("GLOBAL_QUEUE_TIMEOUT_MS", value)]), PROD);
        assert_eq!(
            c.global_queue_timeout_ms,
            pinned(expected, "GLOBAL_QUEUE_TIMEOUT_MS")
        );
    }
}

// ---- Defaults and pinning ---------------------------------------------------

#[test]
fn reference_defaults_apply_and_are_not_pinned() {
    let c = ok(EXAMPLE, PROD);
    assert_eq!(platform(&c, K8s).queue_timeout_ms, default(60_000));
    assert_eq!(platform(&c, Aws).queue_timeout_ms, default(30_000));
    assert_eq!(platform(&c, Coolify).queue_timeout_ms, default(300_000));
    assert_eq!(c.global_queue_timeout_ms, default(600_000));
}

#[test]
fn set_values_are_pinned_by_their_variable() {
    let c = ok(
        &example_with(&[
            ("K8S_QUEUE_TIMEOUT_MS", "60000"),
            ("AWS_QUEUE_TIMEOUT_MS", "1234"),
            ("GLOBAL_QUEUE_TIMEOUT_MS", "900000"),
        ]),
        PROD,
    );
    assert_eq!(
        c.priority,
        pinned(vec![K8s, Aws, Coolify], "PLATFORM_PRIORITY")
    );
    assert_eq!(platform(&c, K8s).bot_limit, pinned(30, "K8S_BOT_LIMIT"));
    assert_eq!(platform(&c, Aws).bot_limit, pinned(100, "AWS_BOT_LIMIT"));
    assert_eq!(
        platform(&c, Coolify).bot_limit,
        pinned(50, "COOLIFY_BOT_LIMIT")
    );
    // Set to the default value: still pinned, because it was declared.
    assert_eq!(
        platform(&c, K8s).queue_timeout_ms,
        pinned(60_000, "K8S_QUEUE_TIMEOUT_MS")
    );
    assert_eq!(
        platform(&c, Aws).queue_timeout_ms,
        pinned(1_234, "AWS_QUEUE_TIMEOUT_MS")
    );
    assert_eq!(platform(&c, Coolify).queue_timeout_ms, default(300_000));
    assert_eq!(
        c.global_queue_timeout_ms,
        pinned(900_000, "GLOBAL_QUEUE_TIMEOUT_MS")
    );
}

// ---- Removed variables ------------------------------------------------------

#[test]
fn deployment_platform_is_refused_as_removed() {
    for dev in [PROD, DEV] {
        let e = err(&example_with(&[("DEPLOYMENT_PLATFORM", "coolify")]), dev);
        assert_config_error(
            &e,
            ErrorCode::ConfigInvalid,
            "DEPLOYMENT_PLATFORM",
            &["removed", "PLATFORM_PRIORITY"],
        );
    }
}

#[test]
fn deployment_platform_alone_is_reported_as_removed_not_as_missing_priority() {
    let e = err(
        &[("DEPLOYMENT_PLATFORM", "k8s"), ("K8S_BOT_LIMIT", "30")],
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "DEPLOYMENT_PLATFORM",
        &["removed"],
    );
}

// ---- Order and unlisted platforms ---------------------------------------------

#[test]
fn priority_order_is_preserved() {
    let c = ok(
        &example_with(&[("PLATFORM_PRIORITY", "coolify,k8s,aws")]),
        PROD,
    );
    assert_eq!(c.priority.value, vec![Coolify, K8s, Aws]);
    assert_eq!(kinds(&c.platforms), vec![Coolify, K8s, Aws]);
    let c = ok(&example_with(&[("PLATFORM_PRIORITY", "aws,coolify")]), PROD);
    assert_eq!(kinds(&c.platforms), vec![Aws, Coolify]);
}

#[test]
fn settings_of_unlisted_platforms_are_ignored_with_a_warning() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "k8s"),
            ("K8S_BOT_LIMIT", "3"),
            ("AWS_BOT_LIMIT", "5"),
            ("COOLIFY_QUEUE_TIMEOUT_MS", "1000"),
        ],
        PROD,
    );
    assert_eq!(kinds(&c.platforms), vec![K8s]);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("aws") && w.contains("AWS_BOT_LIMIT") && w.contains("ignored")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("coolify")
            && w.contains("COOLIFY_QUEUE_TIMEOUT_MS")
            && w.contains("ignored")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
}

// ---- Pool sizing ------------------------------------------------------------

#[test]
fn pool_sizing_defaults_cover_every_meeting_platform() {
    let c = ok(EXAMPLE, PROD);
    assert_eq!(c.pools.len(), MeetingPlatform::ALL.len());
    for mp in MeetingPlatform::ALL {
        assert_eq!(pool(&c, *mp), (100, 0), "{mp}");
    }
}

#[test]
fn pool_max_size_applies_to_every_pool_and_per_pool_values_win() {
    let c = ok(
        &example_with(&[
            ("POOL_MAX_SIZE", "20"),
            ("POOL_ZOOM_MAX_SIZE", "5"),
            ("POOL_GOOGLE_MEET_MAX_SIZE", "7"),
            ("POOL_PREWARM_COUNT", "2"),
            ("POOL_MICROSOFT_TEAMS_PREWARM_COUNT", "4"),
        ]),
        PROD,
    );
    assert_eq!(pool(&c, MeetingPlatform::Zoom), (5, 2));
    assert_eq!(pool(&c, MeetingPlatform::GoogleMeet), (7, 2));
    assert_eq!(pool(&c, MeetingPlatform::MicrosoftTeams), (20, 4));
}

#[test]
fn bad_pool_sizes_are_refused_naming_the_variable() {
    for (var, value) in [
        ("POOL_MAX_SIZE", "0"),
        ("POOL_MAX_SIZE", "1000"),
        ("POOL_MAX_SIZE", "big"),
        ("POOL_ZOOM_MAX_SIZE", "0"),
        ("POOL_GOOGLE_MEET_MAX_SIZE", "-3"),
        ("POOL_PREWARM_COUNT", "x"),
        ("POOL_ZOOM_PREWARM_COUNT", "1000"),
    ] {
        let e = err(&example_with(&[(var, value)]), PROD);
        assert_config_error(&e, ErrorCode::ConfigInvalid, var, &[]);
    }
}

#[test]
fn prewarm_above_max_is_refused_naming_the_prewarm_variable() {
    let e = err(
        &example_with(&[
            ("POOL_ZOOM_MAX_SIZE", "5"),
            ("POOL_ZOOM_PREWARM_COUNT", "6"),
        ]),
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "POOL_ZOOM_PREWARM_COUNT",
        &["zoom", "6", "5"],
    );

    let e = err(
        &example_with(&[("POOL_MAX_SIZE", "10"), ("POOL_PREWARM_COUNT", "50")]),
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "POOL_PREWARM_COUNT",
        &["50", "10"],
    );

    // Prewarm equal to max is fine.
    let c = ok(
        &example_with(&[
            ("POOL_ZOOM_MAX_SIZE", "5"),
            ("POOL_ZOOM_PREWARM_COUNT", "5"),
        ]),
        PROD,
    );
    assert_eq!(pool(&c, MeetingPlatform::Zoom), (5, 5));
}

// ---- Development mode -----------------------------------------------------------

#[test]
fn dev_mode_needs_no_variables_and_uses_unpinned_defaults() {
    let c = ok(&[], DEV);
    assert!(c.dev);
    assert_eq!(c.priority, default(vec![K8s, Aws, Coolify]));
    assert_eq!(kinds(&c.platforms), vec![K8s, Aws, Coolify]);
    for p in &c.platforms {
        assert_eq!(p.bot_limit.pinned_by, None, "{}", p.kind);
        assert_eq!(p.queue_timeout_ms.pinned_by, None, "{}", p.kind);
        assert!(p.bot_limit.value >= 1, "{}", p.kind);
    }
    assert_eq!(platform(&c, K8s).bot_limit.value, 4);
    assert_eq!(platform(&c, Aws).bot_limit.value, 6);
    assert_eq!(platform(&c, Coolify).bot_limit.value, 8);
    assert_eq!(platform(&c, K8s).queue_timeout_ms.value, 4_000);
    assert_eq!(platform(&c, Aws).queue_timeout_ms.value, 2_000);
    assert_eq!(platform(&c, Coolify).queue_timeout_ms.value, 6_000);
    assert_eq!(c.global_queue_timeout_ms, default(600_000));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // Background jobs run faster in development.
    assert_eq!(c.jobs.leader_lease_ms, 5_000);
    assert_eq!(c.jobs.recovery_interval_ms, 10_000);
    assert_eq!(c.jobs.reconcile_interval_ms, 1_000);
    assert_eq!(c.jobs.prewarm_interval_ms, 5_000);
    assert_eq!(c.jobs.dispatch_tick_ms, 500);
}

#[test]
fn dev_mode_variables_still_win_and_are_pinned() {
    let c = ok(
        &[
            ("PLATFORM_PRIORITY", "aws"),
            ("AWS_BOT_LIMIT", "2"),
            ("AWS_QUEUE_TIMEOUT_MS", "100"),
        ],
        DEV,
    );
    assert_eq!(c.priority, pinned(vec![Aws], "PLATFORM_PRIORITY"));
    assert_eq!(platform(&c, Aws).bot_limit, pinned(2, "AWS_BOT_LIMIT"));
    assert_eq!(
        platform(&c, Aws).queue_timeout_ms,
        pinned(100, "AWS_QUEUE_TIMEOUT_MS")
    );
}

#[test]
fn dev_mode_still_validates_values() {
    let e = err(&[("AWS_BOT_LIMIT", "0")], DEV);
    assert_config_error(&e, ErrorCode::ConfigInvalid, "AWS_BOT_LIMIT", &[]);
    let e = err(&[("PLATFORM_PRIORITY", "k8s,nomad")], DEV);
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "PLATFORM_PRIORITY",
        &["nomad"],
    );
}

#[test]
fn production_job_defaults() {
    let c = ok(EXAMPLE, PROD);
    assert!(!c.dev);
    assert_eq!(c.jobs.leader_lease_ms, 15_000);
    assert_eq!(c.jobs.recovery_interval_ms, 300_000);
    assert_eq!(c.jobs.deploying_timeout_ms, 300_000);
    assert_eq!(c.jobs.recovery_max_attempts, 3);
    assert_eq!(c.jobs.reconcile_interval_ms, 30_000);
    assert_eq!(c.jobs.prewarm_interval_ms, 60_000);
    assert_eq!(c.jobs.dispatch_tick_ms, 1_000);
    assert_eq!(
        c.jobs.bot_heartbeat_timeout_ms, 900_000,
        "15 min by default"
    );
    assert_eq!(c.jobs.history_retention_days, 30, "30 days by default");
}

#[test]
fn bad_job_settings_are_refused_naming_the_variable() {
    for (var, value) in [
        ("BERTH_LEADER_LEASE_MS", "499"),
        ("BERTH_RECOVERY_INTERVAL_MS", "often"),
        ("BERTH_DEPLOYING_TIMEOUT_MS", "999"),
        ("BERTH_RECOVERY_MAX_ATTEMPTS", "0"),
        ("BERTH_RECONCILE_INTERVAL_MS", "99"),
        ("BERTH_PREWARM_INTERVAL_MS", "-1"),
        ("BERTH_DISPATCH_TICK_MS", "60001"),
        ("BERTH_BOT_HEARTBEAT_TIMEOUT_MS", "9999"),
        ("BERTH_BOT_HEARTBEAT_TIMEOUT_MS", "86400001"),
        ("BERTH_BOT_HEARTBEAT_TIMEOUT_MS", "soon"),
        ("BERTH_HISTORY_RETENTION_DAYS", "7"),
        ("BERTH_HISTORY_RETENTION_DAYS", "3651"),
        ("BERTH_HISTORY_RETENTION_DAYS", "a month"),
        ("BERTH_SCHEDULE_LEAD_FLOOR_MS", "999"),
        ("BERTH_SCHEDULE_LEAD_FLOOR_MS", "soon"),
        ("BERTH_SCHEDULE_LEAD_MARGIN_PCT", "501"),
    ] {
        let e = err(&example_with(&[(var, value)]), PROD);
        assert_config_error(&e, ErrorCode::ConfigInvalid, var, &[]);
    }
    let c = ok(&example_with(&[("BERTH_LEADER_LEASE_MS", "500")]), PROD);
    assert_eq!(c.jobs.leader_lease_ms, 500);
    let c = ok(
        &example_with(&[
            ("BERTH_SCHEDULE_LEAD_FLOOR_MS", "30000"),
            ("BERTH_SCHEDULE_LEAD_MARGIN_PCT", "0"),
        ]),
        PROD,
    );
    assert_eq!(
        (c.schedule_lead.floor_ms, c.schedule_lead.margin_pct),
        (30_000, 0)
    );
    for (value, ms) in [("0", 0), ("10000", 10_000), ("86400000", 86_400_000)] {
        let c = ok(
            &example_with(&[("BERTH_BOT_HEARTBEAT_TIMEOUT_MS", value)]),
            PROD,
        );
        assert_eq!(c.jobs.bot_heartbeat_timeout_ms, ms, "0 turns the check off");
    }
    // The range is the core's, stated once.
    let r = berth_core::settings::rules::HISTORY_RETENTION_DAYS;
    assert_eq!((r.min, r.max), (8, 3_650));
    for (text, days) in [("8", r.min), ("3650", r.max)] {
        let c = ok(
            &example_with(&[("BERTH_HISTORY_RETENTION_DAYS", text)]),
            PROD,
        );
        assert_eq!(c.jobs.history_retention_days, days);
    }
    let e = err(
        &example_with(&[("BERTH_HISTORY_RETENTION_DAYS", "7")]),
        PROD,
    );
    assert_config_error(
        &e,
        ErrorCode::ConfigInvalid,
        "BERTH_HISTORY_RETENTION_DAYS",
        &["from 8 to 3650, got 7"],
    );
}

// --- Coolify ---------------------------------------------------------------

use berth_core::config::CoolifyConfig;
use berth_core::platform::secret::TokenSource;

const COOLIFY_OK: &[(&str, &str)] = &[
    ("COOLIFY_API_URL", "https://coolify.example.com/api/v1/"),
    ("COOLIFY_PROJECT_UUID", "p-1"),
    ("COOLIFY_SERVER_UUID", "s-1"),
    ("COOLIFY_ENVIRONMENT_NAME", "production"),
];

fn coolify(vars: &[(&str, &str)]) -> berth_core::Result<CoolifyConfig> {
    let env: HashMap<&str, &str> = vars.iter().copied().collect();
    CoolifyConfig::parse(&|k| env.get(k).map(|v| v.to_string()))
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = COOLIFY_OK.to_vec();
    for (k, val) in extra {
        v.retain(|(key, _)| key != k);
        if !val.is_empty() {
            v.push((k, val));
        }
    }
    v
}

#[test]
fn coolify_configuration_parses_with_defaults() {
    let c = coolify(COOLIFY_OK).unwrap();
    assert_eq!(c.api_url, "https://coolify.example.com/api/v1");
    assert_eq!(c.token_source, TokenSource::Keychain);
    assert_eq!(c.app_prefix, "berth-");
    assert_eq!(c.destination_uuid, None);
    let c = coolify(&with(&[
        ("COOLIFY_TOKEN_SOURCE", "env"),
        ("COOLIFY_API_TOKEN", "t"),
        ("COOLIFY_ENVIRONMENT_NAME", ""),
        ("COOLIFY_ENVIRONMENT_UUID", "e-1"),
        ("COOLIFY_DESTINATION_UUID", "d-1"),
        ("COOLIFY_APP_PREFIX", "pool_a-"),
    ]))
    .unwrap();
    assert_eq!(c.token_source, TokenSource::Env);
    assert_eq!(c.environment_uuid.as_deref(), Some("e-1"));
    assert_eq!(c.environment_name, None);
    assert_eq!(c.destination_uuid.as_deref(), Some("d-1"));
    assert_eq!(c.app_prefix, "pool_a-");
    assert!(!format!("{c:?}").contains("COOLIFY_API_TOKEN"));
}

#[test]
fn missing_coolify_settings_are_all_named() {
    let e = coolify(&[]).unwrap_err();
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "COOLIFY_API_URL",
        &[
            "COOLIFY_PROJECT_UUID",
            "COOLIFY_SERVER_UUID",
            "COOLIFY_ENVIRONMENT_NAME (or COOLIFY_ENVIRONMENT_UUID)",
        ],
    );
    let e = coolify(&with(&[("COOLIFY_SERVER_UUID", "")])).unwrap_err();
    assert_config_error(
        &e,
        ErrorCode::ConfigMissing,
        "COOLIFY_SERVER_UUID",
        &["missing"],
    );
}

#[test]
fn bad_coolify_settings_are_refused() {
    for (vars, var, word) in [
        (
            with(&[("COOLIFY_API_URL", "coolify.example.com")]),
            "COOLIFY_API_URL",
            "URL",
        ),
        (
            with(&[("COOLIFY_API_URL", "ftp://h/api")]),
            "COOLIFY_API_URL",
            "http(s)",
        ),
        (
            with(&[("COOLIFY_API_URL", "https://u:p@h/api")]),
            "COOLIFY_API_URL",
            "credentials",
        ),
        (
            with(&[("COOLIFY_TOKEN_SOURCE", "file")]),
            "COOLIFY_TOKEN_SOURCE",
            "keychain or env",
        ),
        (
            with(&[("COOLIFY_TOKEN_SOURCE", "env")]),
            "COOLIFY_API_TOKEN",
            "COOLIFY_TOKEN_SOURCE=env",
        ),
        (
            with(&[("COOLIFY_API_TOKEN", "t")]),
            "COOLIFY_API_TOKEN",
            "keychain",
        ),
        (
            with(&[("COOLIFY_APP_PREFIX", "a b")]),
            "COOLIFY_APP_PREFIX",
            "letters",
        ),
    ] {
        let e = coolify(&vars).unwrap_err();
        let code = e.code();
        assert!(
            matches!(code, ErrorCode::ConfigInvalid | ErrorCode::ConfigMissing),
            "{e}"
        );
        assert_config_error(&e, code, var, &[word]);
        assert!(!e.to_string().contains("u:p@"), "credentials echoed: {e}");
    }
}

mod start_up {
    use super::*;
    use berth_core::clock::{Clock, ManualClock};
    use berth_core::instance::build_platforms_with;
    use std::sync::Arc;

    async fn build(vars: &[(&str, &str)]) -> berth_core::Result<Vec<PlatformKind>> {
        let env: HashMap<&str, &str> = vars.iter().copied().collect();
        let get = move |k: &str| env.get(k).map(|v| v.to_string());
        let config = EnvConfig::parse(&get, PROD)?;
        let db = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
        let clock: Arc<dyn Clock> = ManualClock::starting_now();
        let platforms = build_platforms_with(&db, clock, &config, &get).await?;
        let mut kinds: Vec<_> = platforms.iter().map(|(k, _)| k).collect();
        kinds.sort();
        Ok(kinds)
    }

    #[tokio::test]
    async fn an_enabled_coolify_without_configuration_fails_at_start_up() {
        let e = build(&[("PLATFORM_PRIORITY", "coolify"), ("COOLIFY_BOT_LIMIT", "3")])
            .await
            .unwrap_err();
        assert_config_error(
            &e,
            ErrorCode::ConfigMissing,
            "COOLIFY_API_URL",
            &["COOLIFY_PROJECT_UUID"],
        );
    }

    #[tokio::test]
    async fn a_configured_coolify_is_built_and_other_platforms_need_nothing() {
        let mut vars = with(&[
            ("COOLIFY_TOKEN_SOURCE", "env"),
            ("COOLIFY_API_TOKEN", "tok"),
        ]);
        // k8s is listed but has no limit: skipped, so it needs no settings or adapter.
        vars.extend([
            ("PLATFORM_PRIORITY", "k8s,coolify"),
            ("COOLIFY_BOT_LIMIT", "3"),
        ]);
        assert_eq!(build(&vars).await.unwrap(), vec![Coolify]);
    }

    #[tokio::test]
    async fn an_enabled_platform_without_its_settings_is_refused_naming_them() {
        let mut vars = with(&[
            ("COOLIFY_TOKEN_SOURCE", "env"),
            ("COOLIFY_API_TOKEN", "tok"),
        ]);
        vars.extend([
            ("PLATFORM_PRIORITY", "coolify,aws"),
            ("COOLIFY_BOT_LIMIT", "3"),
            ("AWS_BOT_LIMIT", "3"),
        ]);
        // ECS is listed with a limit but none of its settings: start-up stops.
        let e = build(&vars).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigMissing, "{e}");
        assert!(e.to_string().contains("ECS_"), "{e}");
    }
}
