use super::*;

fn env(vars: &[(&str, &str)]) -> EnvConfig {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    EnvConfig::parse(&|k| vars.get(k).map(|v| v.to_string()), false).unwrap()
}

fn plan_of(plan: &EnvPlan, kind: PlatformKind) -> &PlatformPlan {
    plan.platforms.iter().find(|p| p.kind == kind).unwrap()
}

#[test]
fn a_fresh_database_gets_every_row_with_the_pins_of_the_environment() {
    let e = env(&[
        ("PLATFORM_PRIORITY", "aws,k8s"),
        ("AWS_BOT_LIMIT", "3"),
        ("GLOBAL_QUEUE_TIMEOUT_MS", "5000"),
    ]);
    let plan = resolve(&e, &HashMap::new(), None);
    assert!(plan.platforms.iter().all(|p| p.insert.is_some()));
    let aws = plan_of(&plan, PlatformKind::Aws);
    assert_eq!(
        (aws.after.position, aws.after.enabled, aws.after.bot_limit),
        (0, true, Some(3))
    );
    assert_eq!(aws.after.pinned["botLimit"], "AWS_BOT_LIMIT");
    // Listed without a limit: pinned to none (skipped), naming its variable.
    let k8s = plan_of(&plan, PlatformKind::K8s);
    assert_eq!(k8s.after.bot_limit, None);
    assert_eq!(k8s.after.pinned["botLimit"], "K8S_BOT_LIMIT");
    // Left out: disabled by the environment, after every listed platform.
    let coolify = plan_of(&plan, PlatformKind::Coolify);
    assert!(!coolify.after.enabled && coolify.after.position >= 100);
    assert_eq!(coolify.after.pinned["enabled"], "PLATFORM_PRIORITY");
    assert_eq!(
        plan.global,
        GlobalPlan::Pin {
            var: "GLOBAL_QUEUE_TIMEOUT_MS".into(),
            value: 5000,
            old: Value::Null
        }
    );
}

#[test]
fn the_environment_re_enables_only_what_it_had_disabled() {
    let e = env(&[("PLATFORM_PRIORITY", "k8s,aws"), ("K8S_BOT_LIMIT", "1")]);
    let disabled_by_env = Row {
        position: 102,
        enabled: false,
        bot_limit: Some(2),
        queue_timeout_ms: 30_000,
        pinned: [("enabled".to_string(), "PLATFORM_PRIORITY".to_string())].into(),
    };
    let disabled_by_admin = Row {
        pinned: BTreeMap::new(),
        ..disabled_by_env.clone()
    };
    for (row, re_enabled) in [(disabled_by_env, true), (disabled_by_admin, false)] {
        let rows = HashMap::from([(PlatformKind::Aws, row)]);
        let plan = resolve(&e, &rows, None);
        let aws = plan_of(&plan, PlatformKind::Aws);
        assert!(aws.insert.is_none());
        assert_eq!(aws.after.enabled, re_enabled, "{aws:?}");
        assert_eq!(aws.after.position, 1);
    }
}

#[test]
fn the_same_environment_again_changes_nothing() {
    let e = env(&[("PLATFORM_PRIORITY", "k8s"), ("K8S_BOT_LIMIT", "4")]);
    let first = resolve(&e, &HashMap::new(), None);
    let rows: HashMap<_, _> = first
        .platforms
        .iter()
        .map(|p| (p.kind, p.after.clone()))
        .collect();
    let again = resolve(&e, &rows, None);
    for p in &again.platforms {
        assert_eq!(p.before, p.after, "{p:?}");
        assert!(p.changes.iter().all(|c| c.old == c.new), "{p:?}");
    }
    assert_eq!(again.global, GlobalPlan::Unpinned { default: 600_000 });
}
