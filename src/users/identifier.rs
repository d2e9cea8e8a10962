//! What a person signs in with, as types that can only hold a valid, normalized value:
//! parse at the edge, and everything behind it compares like with like.
//!
//! * [`Email`]: trimmed, checked against RFC 5322 (`email_address`), with a dotted domain,
//!   stored lowercased — so `Alice@Example.COM ` and `alice@example.com` are one account.
//! * [`WhatsappNumber`]: parsed by `phonenumber` (Google's libphonenumber metadata) and
//!   kept in E.164, so `+62 812-3456-7890`, `6281234567890` and `081234567890` (a leading
//!   0 takes the configured default country code) are one number: `+6281234567890`.

use std::{fmt, str::FromStr};

pub const MAX_EMAIL_CHARS: usize = 254;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(crate::tr!(common.field.required).into());
        }
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(crate::tr!(common.field.at_most_chars, n = MAX_EMAIL_CHARS));
        }
        let parsed = email_address::EmailAddress::from_str(trimmed)
            .map_err(|_| crate::tr!(common.field.invalid_email).to_string())?;
        // Addresses without a dotted domain (`me@localhost`) are valid RFC 5322 but never
        // what a person means to type here; neither are display forms (`Name <a@b.c>`).
        let domain = parsed.domain();
        if parsed.display_part() != "" || !domain.contains('.') || domain.starts_with('[') {
            return Err(crate::tr!(common.field.invalid_email).into());
        }
        Ok(Email(parsed.email().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WhatsappNumber(String);

impl WhatsappNumber {
    /// Parses a number as people write it. `default_country_code` (e.g. 62) applies to
    /// numbers written nationally, with a leading 0.
    pub fn parse(input: &str, default_country_code: u16) -> Result<WhatsappNumber, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(crate::tr!(common.field.required).into());
        }
        let invalid = || crate::tr!(common.field.invalid_whatsapp).to_string();
        if trimmed.len() > 32
            || !trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        {
            return Err(invalid());
        }
        // Spacing and punctuation carry no meaning: `(0812) 3456-7890` is `081234567890`.
        let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
        let number = if trimmed.starts_with('+') {
            phonenumber::parse(None, format!("+{digits}"))
        } else if digits.starts_with('0') {
            let region = default_region(default_country_code).ok_or_else(invalid)?;
            phonenumber::parse(Some(region), &digits)
        } else {
            // Digits with the country code but no `+`: 6281234567890.
            phonenumber::parse(None, format!("+{digits}"))
        }
        .map_err(|_| invalid())?;
        if !number.is_valid() {
            return Err(invalid());
        }
        Ok(WhatsappNumber(number.format().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The main region of a country calling code (62 → ID, 44 → GB), for national numbers.
fn default_region(code: u16) -> Option<phonenumber::country::Id> {
    let regions = phonenumber::metadata::DATABASE.by_code(&code)?;
    let main = regions
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or_else(|| regions.first())?;
    main.id().parse().ok()
}

/// An email address or a WhatsApp number: what the login form's one field holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identifier {
    Email(Email),
    Whatsapp(WhatsappNumber),
}

impl Identifier {
    /// An `@` means an email address; anything else is read as a phone number.
    pub fn parse(input: &str, default_country_code: u16) -> Result<Identifier, String> {
        if input.trim().is_empty() {
            return Err(crate::tr!(common.field.required).into());
        }
        if input.contains('@') {
            Email::parse(input).map(Identifier::Email)
        } else {
            WhatsappNumber::parse(input, default_country_code)
                .map(Identifier::Whatsapp)
                .map_err(|_| crate::tr!(common.field.invalid_identifier).into())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Email(e) => e.as_str(),
            Identifier::Whatsapp(w) => w.as_str(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_validated() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        assert_eq!(
            Email::parse("a.b+tag@sub.example.co.id").unwrap().as_str(),
            "a.b+tag@sub.example.co.id"
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
            "Alice <a@example.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whatsapp_numbers_in_every_spelling_are_one_e164_number() {
        for spelling in [
            "081234567890",
            "6281234567890",
            "+62 812-3456-7890",
            "+6281234567890",
            " (0812) 3456 7890 ",
        ] {
            assert_eq!(
                WhatsappNumber::parse(spelling, 62).unwrap().as_str(),
                "+6281234567890",
                "{spelling}"
            );
        }
        // The default country code decides what a leading 0 means.
        assert_eq!(
            WhatsappNumber::parse("07911 123456", 44).unwrap().as_str(),
            "+447911123456"
        );
        for bad in [
            "",
            "12",
            "0812",
            "+62 812",
            "phone",
            "+999 1234567",
            "0812345678901234567890",
        ] {
            assert!(WhatsappNumber::parse(bad, 62).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_identifier_is_an_email_if_it_has_an_at_sign() {
        assert!(matches!(
            Identifier::parse("a@example.com", 62),
            Ok(Identifier::Email(_))
        ));
        assert!(matches!(
            Identifier::parse("0812-3456-7890", 62),
            Ok(Identifier::Whatsapp(_))
        ));
        assert!(Identifier::parse("nobody", 62).is_err());
    }
}
