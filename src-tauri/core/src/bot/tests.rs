use super::may_report;
use crate::meeting::BotStatus::{self, *};

/// Every (from, to) pair: what a bot may report.
#[test]
fn reports_follow_the_lifecycle_and_call_ended_only_ends() {
    let meeting = [JoiningCall, InWaitingRoom, InCall, Leaving];
    for from in BotStatus::ALL.iter().copied() {
        for to in BotStatus::ALL.iter().copied() {
            let expected = match (from, to) {
                (Done | Fatal, _) => false,
                // Not started yet: it runs nowhere, so it reports nothing.
                (Scheduled, _) => false,
                (_, Scheduled | Queued | Deploying) => false,
                (_, Done | Fatal) => true,
                (Queued, _) => false,
                (CallEnded, t) => t == CallEnded,
                (_, t) => meeting.contains(&t) || t == CallEnded,
            };
            assert_eq!(may_report(from, to), expected, "{from} -> {to}");
        }
    }
    assert!(may_report(InCall, CallEnded));
    assert!(may_report(CallEnded, Done));
    assert!(
        !may_report(CallEnded, InCall),
        "capacity given back is not taken again"
    );
}
