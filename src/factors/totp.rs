//! RFC 6238 codes as every authenticator app makes them by default: HMAC-SHA-1, 6 digits, a
//! 30-second step. `totp-rs` computes a step's code; which step a typed code belongs to (one
//! step of drift either way) is decided here, because each code must work only once and that
//! needs the step, which `totp-rs`' own check does not return.

use super::TotpSetup;
use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a secret: 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;
/// The name the app shows above the code.
const ISSUER: &str = "fypass";

/// A new secret from the operating system's random number generator.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).expect("the operating system's random number generator failed");
    secret
}

fn totp(secret: &[u8]) -> TOTP {
    // Unchecked: the secret is always ours (160 bits), the digits fixed.
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP, secret.to_vec())
}

/// The code of the step that holds `unix_secs` (tests compute codes the way an app does).
pub fn code_at(secret: &[u8], unix_secs: u64) -> String {
    totp(secret).generate(unix_secs)
}

/// The time step `code` belongs to, if it is the code of the step holding `unix_secs` or of
/// the one before or after it. Every candidate is compared, in constant time.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<i64> {
    let totp = totp(secret);
    let now = unix_secs / STEP;
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let expected = totp.generate(step * STEP);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            found = Some(step as i64);
        }
    }
    found
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the person scans (or types) to set up their app: the secret in base32, the
/// `otpauth://` URI with it, and its QR code. `account` is the label the app shows (their
/// email address or number).
pub fn setup(secret: &[u8], account: &str) -> TotpSetup {
    let base32 = totp(secret).get_secret_base32();
    let label: String = form_urlencoded::byte_serialize(format!("{ISSUER}:{account}").as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let uri = format!(
        "otpauth://totp/{label}?secret={base32}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP}"
    );
    let grouped = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    TotpSetup {
        secret: grouped,
        qr_svg: qr_svg(&uri),
        uri,
    }
}

/// A QR code of `text` as SVG (dark on white, as the status page draws its own).
pub fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .dark_color(qrcode::render::svg::Color("#1c1b22"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build()
        })
        .unwrap_or_default()
}

/// A typed code as digits only (`123 456` → `123456`), if it is one of [`DIGITS`] digits.
pub fn parse_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(code_at(secret, 1_111_111_109), "081804");
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let secret = new_secret();
        let now = 1_700_000_015;
        let step = (now / STEP) as i64;
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now), now),
            Some(step)
        );
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now - STEP), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(&secret, &code_at(&secret, now + STEP), now),
            Some(step + 1)
        );
        let two_back = code_at(&secret, now - 2 * STEP);
        if ![-1i64, 0, 1]
            .iter()
            .any(|d| code_at(&secret, (now as i64 + d * STEP as i64) as u64) == two_back)
        {
            assert_eq!(matching_step(&secret, &two_back, now), None);
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let s = setup(b"12345678901234567890", "ana@example.com");
        assert!(
            s.uri.starts_with("otpauth://totp/fypass%3Aana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=fypass"),
            "{}",
            s.uri
        );
        assert_eq!(s.secret, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert!(s.qr_svg.starts_with("<?xml"), "{}", &s.qr_svg[..40]);
        assert_eq!(parse_code(" 123 456 "), Some("123456".into()));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("12345a"), None);
    }
}
