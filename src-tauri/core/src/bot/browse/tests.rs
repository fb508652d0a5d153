//! The list's pure parts: search, limits, the filter as the UI sends it.

use super::*;

#[test]
fn a_search_is_an_id_or_an_escaped_pattern() {
    assert_eq!(search_of(Some(" 42 ")), Some(Search::Id(42)));
    assert_eq!(search_of(Some("#42")), Some(Search::Id(42)));
    assert_eq!(search_of(Some("#")), Some(Search::Text("%#%".into())));
    assert_eq!(search_of(Some("   ")), None);
    assert_eq!(
        search_of(Some("99999999999999999999")),
        Some(Search::Id(-1))
    );
    assert_eq!(
        search_of(Some("50%_a\\b")),
        Some(Search::Text("%50\\%\\_a\\\\b%".into()))
    );
}

#[test]
fn a_filter_reads_as_the_ui_sends_it() {
    let f: BotFilter = serde_json::from_value(serde_json::json!({
        "statuses": ["QUEUED", "FATAL"], "platforms": ["k8s"], "pools": ["zoom"],
        "since": "2026-12-01T09:30:00.125Z", "until": null, "search": "#7",
        "before": 42, "limit": 100
    }))
    .unwrap();
    assert_eq!(f.statuses, vec![BotStatus::Queued, BotStatus::Fatal]);
    assert_eq!(f.platforms, vec![PlatformKind::K8s]);
    assert_eq!(
        f.since.map(crate::timestamp::text).as_deref(),
        Some("2026-12-01T09:30:00.125Z")
    );
    assert_eq!((f.before, f.limit, f.until), (Some(42), 100, None));
}

#[test]
fn a_limit_outside_the_page_size_is_refused() {
    for limit in [0, MAX_PAGE + 1] {
        let f = BotFilter {
            limit,
            ..BotFilter::default()
        };
        assert_eq!(check(&f).unwrap_err().code(), ErrorCode::InvalidInput);
    }
    let f = BotFilter {
        limit: MAX_PAGE,
        ..BotFilter::default()
    };
    assert!(check(&f).is_ok());
}
