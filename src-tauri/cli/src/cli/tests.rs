use super::*;
use clap::CommandFactory;

#[test]
fn the_command_line_is_well_formed() {
    Cli::command().debug_assert();
}

#[test]
fn values_are_parsed_with_the_core_vocabulary() {
    assert_eq!(bot_status("in-call").unwrap(), BotStatus::InCall);
    assert_eq!(bot_status("done").unwrap(), BotStatus::Done);
    assert_eq!(bot_status("call-ended").unwrap(), BotStatus::CallEnded);
    assert!(meeting_platform("teams")
        .unwrap_err()
        .contains("google-meet, microsoft-teams, zoom"));
    assert_eq!(platform_kind("K8S").unwrap(), PlatformKind::K8s);
    assert!(queue_timeout_ms("700000")
        .unwrap_err()
        .contains("0 to 600000"));
    assert_eq!(queue_timeout_ms("600000").unwrap(), 600_000);
    assert!(failure_rate("1.5").is_err());
    assert!(bot_id("0").is_err());
    assert_eq!(dev_flag("1"), Ok(true));
    assert_eq!(dev_flag("Off"), Ok(false));
    assert!(dev_flag("banana").unwrap_err().contains("BERTH_DEV"));
}

#[test]
fn statuses_may_be_comma_separated_and_repeated() {
    let cli = Cli::try_parse_from([
        "berth",
        "slots",
        "--status",
        "idle,busy",
        "--status",
        "error",
    ])
    .unwrap();
    let Command::Slots(args) = cli.command else {
        panic!("slots")
    };
    assert_eq!(
        args.status,
        vec![SlotStatus::Idle, SlotStatus::Busy, SlotStatus::Error]
    );
}

#[test]
fn tiers_are_name_equals_priority_with_an_optional_max_wait() {
    use berth_core::tier::Tier;
    let t = |name: &str, priority, max_wait_ms| Tier {
        name: name.into(),
        priority,
        max_wait_ms,
    };
    assert_eq!(
        values::tier("critical=10").unwrap(),
        t("critical", 10, None)
    );
    assert_eq!(
        values::tier(" batch = 500/60000 ").unwrap(),
        t("batch", 500, Some(60_000))
    );
    for bad in ["batch", "batch=x", "batch=5/soon"] {
        assert!(
            values::tier(bad).unwrap_err().contains("NAME=PRIORITY"),
            "{bad}"
        );
    }
    let cli = Cli::try_parse_from([
        "berth",
        "settings",
        "set",
        "--tiers",
        "critical=10,standard=100",
        "--tiers",
        "batch=500/60000",
        "--default-tier",
        "standard",
    ])
    .unwrap();
    let Command::Settings(SettingsCommand::Set(args)) = cli.command else {
        panic!("not settings set")
    };
    assert_eq!(args.tiers.map(|v| v.len()), Some(3));
    assert!(
        Cli::try_parse_from([
            "berth",
            "bots",
            "create",
            "--meeting-platform",
            "zoom",
            "--meeting-url",
            "https://zoom.us/j/1",
            "--tier",
            "batch",
            "--priority",
            "5",
        ])
        .is_err(),
        "a tier and a priority together are refused"
    );
}
