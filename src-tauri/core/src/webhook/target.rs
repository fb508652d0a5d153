//! Where webhooks go: the URL of a subscription or of a bot's own hook.

use crate::error::{Error, ErrorCode, Result};

/// The longest webhook URL accepted (bytes).
pub const MAX_URL_LEN: usize = 2048;

/// Checks a webhook URL and returns it in parsed (normalised) form: `http`
/// or `https` with a host, no user name or password (the URL is listed and
/// logged; credentials belong in the signature's secret), no fragment, no
/// whitespace or control characters, at most [`MAX_URL_LEN`] bytes.
/// Refusals are `invalid_input` naming the problem (never echoing a long
/// URL back whole).
pub fn check_url(raw: &str) -> Result<String> {
    let refuse = |why: &str| {
        Err(Error::new(
            ErrorCode::InvalidInput,
            format!("webhook URL {why}"),
        ))
    };
    if raw.is_empty() {
        return refuse("must not be empty");
    }
    if raw.len() > MAX_URL_LEN {
        return refuse(&format!("is longer than {MAX_URL_LEN} bytes"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("must not contain whitespace or control characters");
    }
    let url = match url::Url::parse(raw) {
        Ok(u) => u,
        Err(e) => return refuse(&format!("is not a URL ({e})")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse(&format!(
            "must be http or https, not {:?}",
            url.scheme().chars().take(20).collect::<String>()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return refuse("must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not carry a user name or password");
    }
    if url.fragment().is_some() {
        return refuse("must not carry a fragment (#...)");
    }
    let parsed = url.to_string();
    if parsed.len() > MAX_URL_LEN {
        return refuse(&format!(
            "is longer than {MAX_URL_LEN} bytes once normalised"
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_pass_normalised() {
        assert_eq!(
            check_url("https://Hooks.Example.com/berth?x=1").unwrap(),
            "https://hooks.example.com/berth?x=1"
        );
        assert_eq!(
            check_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn other_urls_are_refused_as_invalid_input() {
        for bad in [
            "",
            "ftp://example.com/x",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https://example.com/a b",
            "https://example.com/#frag",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            let e = check_url(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}: {e}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(check_url(&long).unwrap_err().to_string().contains("2048"));
    }
}
