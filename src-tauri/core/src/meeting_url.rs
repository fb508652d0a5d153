//! The meeting URL rule: which links a bot may be sent to.
//!
//! A bot's browser opens its meeting URL with the bot's account signed in,
//! so a request is refused unless its URL is an `http(s)` link to one of
//! its meeting platform's own hosts ([`HOSTS`]), at most [`MAX_LEN`] bytes,
//! with no credentials, no port, and no whitespace or control characters.
//! The URL is parsed by the WHATWG URL standard (the `url` crate, the way a
//! browser parses it), and the *parsed* form is what gets stored and handed
//! to the bot, so the link that was checked is the link the bot opens (no
//! parser differences: `https://meet.google.com\@evil.example` cannot mean
//! one host here and another in the browser).

use url::{Host, Url};

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::MeetingPlatform;

/// Longest meeting URL accepted, in bytes, before and after parsing.
/// Real join links are well under it (Teams links with their encoded
/// context are the longest, a few hundred bytes); it bounds what every
/// deploy carries into a platform's environment variables.
pub const MAX_LEN: usize = 2048;

/// A host a meeting platform's links may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedHost {
    /// The host name, lower case.
    pub name: &'static str,
    /// Whether any subdomain of it is allowed too (`us02web.zoom.us`).
    /// Only domains the platform's owner controls are listed, so their
    /// subdomains are the owner's as well.
    pub subdomains: bool,
}

const fn exact(name: &'static str) -> AllowedHost {
    AllowedHost {
        name,
        subdomains: false,
    }
}

const fn and_subdomains(name: &'static str) -> AllowedHost {
    AllowedHost {
        name,
        subdomains: true,
    }
}

/// Each meeting platform's hosts: the one table of the rule.
pub const HOSTS: &[(MeetingPlatform, &[AllowedHost])] = &[
    (MeetingPlatform::GoogleMeet, &[exact("meet.google.com")]),
    (
        MeetingPlatform::MicrosoftTeams,
        &[
            and_subdomains("teams.microsoft.com"),
            and_subdomains("teams.live.com"),
        ],
    ),
    (
        MeetingPlatform::Zoom,
        &[and_subdomains("zoom.us"), and_subdomains("zoomgov.com")],
    ),
];

/// The hosts `platform`'s links may use.
pub fn hosts(platform: MeetingPlatform) -> &'static [AllowedHost] {
    HOSTS
        .iter()
        .find(|(p, _)| *p == platform)
        .map_or(&[], |(_, hosts)| hosts)
}

impl AllowedHost {
    /// Whether `host` (lower case, as the URL parser gives it) is this one.
    pub fn matches(self, host: &str) -> bool {
        host == self.name
            || (self.subdomains
                && host
                    .strip_suffix(self.name)
                    .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1))
    }

    fn describe(self) -> String {
        if self.subdomains {
            format!("{} (or a subdomain)", self.name)
        } else {
            self.name.to_string()
        }
    }
}

fn refused(message: String) -> Error {
    Error::new(ErrorCode::InvalidInput, message)
}

/// At most 80 characters of `text`, for messages (a refused URL may be huge).
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{:?}…", &text[..i]),
        None => format!("{text:?}"),
    }
}

/// Checks a meeting URL for `platform` and returns the form to store: the
/// URL as parsed (host lower-cased, non-ASCII percent-encoded), after
/// trimming surrounding whitespace. Refusals are `invalid_input` and say
/// what is accepted. Pure: no I/O.
pub fn check(platform: MeetingPlatform, raw: &str) -> Result<String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(refused("meeting URL must not be empty".into()));
    }
    if text.len() > MAX_LEN {
        return Err(refused(format!(
            "meeting URL is {} bytes long; at most {MAX_LEN} are accepted",
            text.len()
        )));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused(format!(
            "meeting URL {} contains spaces or control characters",
            excerpt(text)
        )));
    }
    let url = Url::parse(text)
        .map_err(|e| refused(format!("meeting URL {} is not a URL ({e})", excerpt(text))))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(refused(format!(
            "meeting URL must be an https:// (or http://) link, not {}:",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "meeting URL must not carry a user name or password".into(),
        ));
    }
    if let Some(port) = url.port() {
        return Err(refused(format!(
            "meeting URL must not name a port (got {port}); meeting links use the default one"
        )));
    }
    let allowed = hosts(platform);
    let host = match url.host() {
        Some(Host::Domain(d)) => d.to_string(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if !allowed.iter().any(|h| h.matches(&host)) {
        let names: Vec<String> = allowed.iter().map(|h| h.describe()).collect();
        return Err(refused(format!(
            "a {} meeting URL must be on {}, not {}",
            platform.as_str(),
            names.join(" or "),
            excerpt(&host)
        )));
    }
    if url.path().trim_matches('/').is_empty() {
        return Err(refused(format!(
            "meeting URL {} names no meeting (its path is empty)",
            excerpt(text)
        )));
    }
    let stored = String::from(url);
    if stored.len() > MAX_LEN {
        return Err(refused(format!(
            "meeting URL is {} bytes long once encoded; at most {MAX_LEN} are accepted",
            stored.len()
        )));
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MeetingPlatform::{GoogleMeet, MicrosoftTeams, Zoom};

    fn refusal(platform: MeetingPlatform, url: &str) -> String {
        let e = check(platform, url).expect_err(url);
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{url}: {e}");
        e.to_string()
    }

    #[test]
    fn real_join_links_pass_in_their_parsed_form() {
        for (platform, url) in [
            (GoogleMeet, "https://meet.google.com/abc-defg-hij"),
            (GoogleMeet, "http://meet.google.com/abc-defg-hij?authuser=1"),
            (Zoom, "https://zoom.us/j/5551234567"),
            (Zoom, "https://us02web.zoom.us/j/85551234567?pwd=QWxhZGRpbjpvcGVu"),
            (Zoom, "https://acme.zoom.us/my/someone#success"),
            (Zoom, "https://agency.zoomgov.com/j/1601234567"),
            (Zoom, "https://zoomgov.com/j/1601234567"),
            (MicrosoftTeams, "https://teams.microsoft.com/l/meetup-join/19%3ameeting_N2Q0%40thread.v2/0?context=%7b%22Tid%22%3a%2272f9%22%7d"),
            (MicrosoftTeams, "https://teams.live.com/meet/9876543210"),
        ] {
            assert_eq!(check(platform, url).unwrap(), url);
        }
        // Trimmed, host lower-cased, non-ASCII percent-encoded: the stored
        // form is the one a browser would open.
        assert_eq!(
            check(Zoom, "  HTTPS://ZOOM.US/j/1?n=é \n").unwrap(),
            "https://zoom.us/j/1?n=%C3%A9"
        );
        assert_eq!(
            check(GoogleMeet, "https://meet.google.com\\abc-defg-hij").unwrap(),
            "https://meet.google.com/abc-defg-hij"
        );
    }

    #[test]
    fn the_issues_examples_are_refused() {
        let e = refusal(Zoom, "https://meet.google.com/abc-defg-hij");
        assert!(
            e.contains("a zoom meeting URL must be on zoom.us (or a subdomain) or zoomgov.com"),
            "{e}"
        );
        assert!(e.contains("not \"meet.google.com\""), "{e}");
        assert!(refusal(Zoom, "not a url").contains("contains spaces"));
        assert!(refusal(Zoom, "not-a-url").contains("is not a URL"));
        assert!(refusal(Zoom, "javascript:alert(1)").contains("not javascript:"));
        assert!(refusal(Zoom, "file:///etc/passwd").contains("not file:"));
        let huge = format!("https://zoom.us/j/1?x={}", "a".repeat(131 * 1024));
        let e = refusal(Zoom, &huge);
        assert!(e.contains("at most 2048"), "{e}");
        assert!(e.len() < 200, "a refusal never echoes a huge URL: {e}");
    }

    #[test]
    fn lookalikes_credentials_ports_and_empty_links_are_refused() {
        for (platform, url, why) in [
            (Zoom, "https://zoom.us.evil.example/j/1", "must be on"),
            (Zoom, "https://evilzoom.us/j/1", "must be on"),
            (Zoom, "https://.zoom.us/j/1", "must be on"),
            (Zoom, "https://zoom.us./j/1", "must be on"),
            (
                GoogleMeet,
                "https://meet.google.com@evil.example/x",
                "user name",
            ),
            (Zoom, "https://user:pw@zoom.us/j/1", "user name"),
            (Zoom, "https://zoom.us:8443/j/1", "port"),
            (Zoom, "https://127.0.0.1/j/1", "must be on"),
            (Zoom, "https://[::1]/j/1", "must be on"),
            (
                GoogleMeet,
                "https://x.meet.google.com/abc",
                "must be on meet.google.com,",
            ),
            (
                MicrosoftTeams,
                "https://teams.microsoft.com.evil.example/l/x",
                "must be on",
            ),
            (
                MicrosoftTeams,
                "https://zoom.us/j/1",
                "must be on teams.microsoft.com",
            ),
            (Zoom, "https://zoom.us/", "names no meeting"),
            (Zoom, "https://zoom.us", "names no meeting"),
            (Zoom, "ftp://zoom.us/j/1", "not ftp:"),
            (Zoom, "data:text/html,hi", "not data:"),
            (Zoom, "https://zoom.us/j/1\tx", "control characters"),
            (Zoom, "https://zoom.us/j/1\u{0}", "control characters"),
            (Zoom, "   ", "must not be empty"),
        ] {
            let e = refusal(platform, url);
            assert!(e.contains(why), "{url:?}: expected {why:?} in {e:?}");
        }
    }

    #[test]
    fn every_meeting_platform_has_hosts() {
        for p in MeetingPlatform::ALL {
            assert!(!hosts(*p).is_empty(), "{p}");
        }
        assert!(and_subdomains("zoom.us").matches("a.b.zoom.us"));
        assert!(!and_subdomains("zoom.us").matches("azoom.us"));
        assert!(!exact("meet.google.com").matches("a.meet.google.com"));
    }
}
