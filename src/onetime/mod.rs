//! One-time codes, the part both the sign-in and the code pages need: the `codes` table
//! ([`store`]), the words of each message ([`messages`]), and storing a code with its
//! message in the outbox ([`send_in`], [`send_verification`]). `login` sends verification
//! codes after a registration; `codes` holds the flows that send and check them.

#[cfg(feature = "ssr")]
pub mod messages;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
use crate::{
    courier::outbox,
    db::Tx,
    error::ApiError,
    limits::Limits,
    locale::Locale,
    users::{identifier::Identifier, store::UserRow},
};
#[cfg(feature = "ssr")]
use store::Purpose;

pub const CODE_DIGITS: usize = 6;
pub const CODE_TTL_MINUTES: u64 = 10;
pub const MAX_CODE_FAILURES: i64 = 5;

/// Stores a code of `purpose` for `user` and its message to `to` (in `locale`), in `tx`.
#[cfg(feature = "ssr")]
pub async fn send_in(
    tx: &mut Tx<'_>,
    locale: Locale,
    purpose: Purpose,
    to: &Identifier,
    user: &UserRow,
) -> Result<(), ApiError> {
    let code = store::create(tx, purpose, to.as_str(), user.id).await?;
    outbox::enqueue(tx, &messages::message(locale, purpose, to, &code)).await?;
    Ok(())
}

/// Sends a verification code to each of `user`'s unverified identifiers (at most one per
/// cooldown of `limits`), in `tx`; returns those a code went to, or was sent to a moment ago.
#[cfg(feature = "ssr")]
pub async fn send_verification(
    tx: &mut Tx<'_>,
    user: &UserRow,
    limits: &Limits,
) -> Result<Vec<String>, ApiError> {
    let mut to = Vec::new();
    let claims = [
        (user.email.as_deref(), user.email_verified_at),
        (user.whatsapp.as_deref(), user.whatsapp_verified_at),
    ];
    for (value, verified) in claims {
        let (Some(value), None) = (value, verified) else {
            continue;
        };
        // Stored identifiers are normalized already (a WhatsApp number in E.164).
        let Ok(identifier) = Identifier::parse(value, 0) else {
            continue;
        };
        let cooldown = limits.code_send_cooldown_secs as i64 * 1000;
        if !store::sent_within(tx, Purpose::Verify, value, user.id, cooldown).await? {
            let locale = crate::locale::current();
            send_in(tx, locale, Purpose::Verify, &identifier, user).await?;
        }
        to.push(value.to_string());
    }
    Ok(to)
}
