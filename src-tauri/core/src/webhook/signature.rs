//! Standard Webhooks signatures: `webhook-signature: v1,<base64>` where the
//! base64 is HMAC-SHA256, keyed with the secret's bytes, over
//! `{webhook-id}.{webhook-timestamp}.{body}` (timestamp in Unix seconds).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2_11::Sha256;

use super::secret::SigningSecret;
use crate::error::Result;

/// The `webhook-signature` header value for one attempt.
pub fn sign(secret: &SigningSecret, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&secret.key()?).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `header` (space-separated `v1,<base64>` signatures, as the spec
/// allows several) holds a valid signature of this message; compared in
/// constant time.
pub fn verify(secret: &SigningSecret, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let Ok(key) = secret.key() else {
        return false;
    };
    header.split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(given) = STANDARD.decode(b64) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        mac.verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference implementations.
    #[test]
    fn signs_as_the_reference_implementations() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, ts) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330);
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(&secret, id, ts, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(&secret, id, ts, body, &format!("v1,bogus {sig}")));
        assert!(!verify(&secret, id, ts + 1, body, &sig));
        assert!(!verify(&secret, id, ts, "{}", &sig));
    }
}
