use super::*;

fn asked<'a>() -> Asked<'a> {
    Asked {
        tier: None,
        priority: None,
        pool: "zoom",
        pool_tier: None,
        pool_priority: None,
    }
}

fn token(default: Option<&str>, max: Option<&str>) -> TokenTiers {
    TokenTiers {
        token: Some("billing".into()),
        default_tier: default.map(String::from),
        max_tier: max.map(String::from),
    }
}

fn field(e: &Error) -> String {
    match e {
        Error::Config { variable, .. } => variable.clone(),
        other => panic!("not a config error: {other}"),
    }
}

#[test]
fn a_request_resolves_by_its_tier_priority_token_pool_then_default() {
    let s = TierSettings::default();
    let none = TokenTiers::default();
    let r = |a: &Asked<'_>, t: &TokenTiers| resolve(&s, a, t).unwrap();
    let tier = |r: Resolved| (r.tier, r.priority);
    let named = Asked {
        tier: Some("batch"),
        ..asked()
    };
    assert_eq!(tier(r(&named, &none)), (Some("batch".into()), 500));
    let numeric = Asked {
        priority: Some(10),
        ..asked()
    };
    assert_eq!(tier(r(&numeric, &none)), (Some("critical".into()), 10));
    let custom = Asked {
        priority: Some(42),
        ..asked()
    };
    assert_eq!(tier(r(&custom, &none)), (None, 42));
    let pooled = Asked {
        pool_tier: Some("critical"),
        pool_priority: Some(7),
        ..asked()
    };
    assert_eq!(tier(r(&pooled, &none)), (Some("critical".into()), 10));
    assert_eq!(
        tier(r(&pooled, &token(Some("batch"), None))),
        (Some("batch".into()), 500),
        "the token's default comes before the pool's tier"
    );
    let pool_priority = Asked {
        pool_priority: Some(7),
        ..asked()
    };
    assert_eq!(tier(r(&pool_priority, &none)), (None, 7));
    assert_eq!(tier(r(&asked(), &none)), (Some("standard".into()), 100));
}

#[test]
fn a_tier_and_a_priority_together_or_an_unknown_tier_are_refused() {
    let s = TierSettings::default();
    let both = Asked {
        tier: Some("batch"),
        priority: Some(1),
        ..asked()
    };
    let e = resolve(&s, &both, &TokenTiers::default()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let unknown = Asked {
        pool_tier: Some("gold"),
        ..asked()
    };
    let e = resolve(&s, &unknown, &TokenTiers::default()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.to_string()
            .contains("pool zoom's queue.tier names tier \"gold\""),
        "{e}"
    );
}

#[test]
fn a_token_s_highest_tier_caps_tiers_and_numeric_priorities() {
    let s = TierSettings::default();
    let capped = token(None, Some("standard"));
    let critical = Asked {
        tier: Some("critical"),
        ..asked()
    };
    let e = resolve(&s, &critical, &capped).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TierNotAllowed);
    assert!(
        e.to_string().contains("highest token billing may ask for"),
        "{e}"
    );
    let sneaky = Asked {
        priority: Some(5),
        ..asked()
    };
    assert_eq!(
        resolve(&s, &sneaky, &capped).unwrap_err().code(),
        ErrorCode::TierNotAllowed
    );
    let pooled = Asked {
        pool_tier: Some("critical"),
        ..asked()
    };
    assert_eq!(
        resolve(&s, &pooled, &capped).unwrap_err().code(),
        ErrorCode::TierNotAllowed
    );
    for ok in ["standard", "batch"] {
        let a = Asked {
            tier: Some(ok),
            ..asked()
        };
        assert!(resolve(&s, &a, &capped).is_ok(), "{ok}");
    }
}

#[test]
fn settings_are_checked_field_by_field() {
    assert!(check(&TierSettings::default()).is_ok());
    let with = |f: &dyn Fn(&mut TierSettings)| {
        let mut s = TierSettings::default();
        f(&mut s);
        check(&s).unwrap_err()
    };
    let e = with(&|s| s.tiers[1].name = "Gold Plan".into());
    assert_eq!(
        (e.code(), field(&e)),
        (ErrorCode::ConfigInvalid, "tiers[1].name".into())
    );
    assert_eq!(
        field(&with(&|s| s.tiers[2].name = "critical".into())),
        "tiers[2].name"
    );
    assert_eq!(
        field(&with(&|s| s.tiers[2].priority = 10)),
        "tiers[2].priority"
    );
    assert_eq!(
        field(&with(&|s| s.tiers[0].priority = 1001)),
        "tiers[0].priority"
    );
    assert_eq!(
        field(&with(&|s| s.tiers[2].max_wait_ms = Some(999))),
        "tiers[2].maxWaitMs"
    );
    assert_eq!(
        field(&with(&|s| s.tiers[2].max_wait_ms = Some(600_001))),
        "tiers[2].maxWaitMs"
    );
    assert_eq!(
        field(&with(&|s| s.default_tier = "gold".into())),
        "defaultTier"
    );
    assert_eq!(field(&with(&|s| s.tiers.clear())), "tiers");
    assert!(valid_name("batch-2_x") && !valid_name("2fast") && !valid_name(&"a".repeat(33)));
}
