//! Which language fypass speaks to whom, and its texts in each (English and Bahasa
//! Indonesia).
//!
//! **The texts** live in `src/locales/<language>/<area>.json` and build.rs compiles them
//! into [`i18n`]: `tr!(login.title)` is the text in the language of the request being
//! served, `td_string!(locale, key)` the text in a given one. A key that does not exist does
//! not compile, and build.rs refuses a language that lacks a key the other has.
//!
//! **Which language.** A page follows, in order: the page's own switch (`GET /lang`, which
//! works without JavaScript and is remembered in the `fypass_lang` cookie), the `locale` the
//! app sent with its login request, the browser's `Accept-Language`, then English; the
//! page's `<html lang>` says which it chose. An API reply follows `Accept-Language` only (its
//! codes never change). A hydrated page's own server-function calls send the page's
//! language as their `Accept-Language` ([`crate::api::PageClient`]), so the messages a
//! page shows are in the page's language even when the app chose it.
//!
//! **The language of "now"** ([`current`]): a page being rendered has it in its context
//! (`app::page_context`); any other request carries it in a task-local set by [`scope`]
//! (and overridden for pages by `app::page_facts`); in the browser it is the page's
//! `<html lang>`. So an error built anywhere speaks the caller's language without being
//! told.

include!(concat!(env!("OUT_DIR"), "/i18n.rs"));

pub use i18n::Locale;

/// The text of a translation key in the language of the request being served:
/// `tr!(login.title)`, or with values, `tr!(devices.minutes_ago, n = 3)`.
#[macro_export]
macro_rules! tr {
    ($($key:tt)*) => {
        ::leptos_i18n::td_string!($crate::locale::current(), $($key)*)
    };
}

/// The cookie the page's language switch sets.
pub const COOKIE: &str = "fypass_lang";

/// Every language fypass speaks, in the order the switch lists them.
pub const ALL: [Locale; 2] = [Locale::en, Locale::id];

/// The code of `locale` (`en`, `id`), as `<html lang>` and `Content-Language` write it.
pub const fn code(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "en",
        Locale::id => "id",
    }
}

/// The language's own name for itself, as the switch shows it.
pub const fn own_name(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "English",
        Locale::id => "Bahasa Indonesia",
    }
}

/// The language a tag names, if fypass speaks it: `id-ID`, `id` and the old `in` are
/// Indonesian; `en-GB` is English.
pub fn from_tag(tag: &str) -> Option<Locale> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.as_str() {
        "en" => Some(Locale::en),
        "id" | "in" => Some(Locale::id),
        _ => None,
    }
}

/// The first language of an `Accept-Language` header that fypass speaks, by quality
/// (ties keep the header's order; `q=0` means "not this one").
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut tags: Vec<(&str, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && quality > 0.0).then_some((tag, quality))
        })
        .collect();
    tags.sort_by(|a, b| b.1.total_cmp(&a.1));
    tags.into_iter().find_map(|(tag, _)| from_tag(tag))
}

/// A page's language: the switch's cookie, then the app's choice, then the browser's.
pub fn choose(cookie: Option<&str>, app: Option<&str>, accept: Option<&str>) -> Locale {
    cookie
        .and_then(from_tag)
        .or_else(|| app.and_then(from_tag))
        .or_else(|| accept.and_then(from_accept_language))
        .unwrap_or_default()
}

/// The language of the request being served (see the module docs).
///
/// On the server the request's own task-local comes first: Leptos leaves a page render's
/// root owner set as the current owner of the worker thread while the render awaits its
/// data (`Owner::new_root` sets it), so another request's code running on that thread
/// would otherwise read that page's language from the context (an Indonesian sign-in
/// once got its wrong-password message in English that way). The context is for code
/// outside the request's task, such as a page's resources.
pub fn current() -> Locale {
    #[cfg(feature = "ssr")]
    if let Ok(locale) = server::LANGUAGE.try_with(std::cell::Cell::get) {
        return locale;
    }
    if let Some(locale) = leptos::prelude::use_context::<Locale>() {
        return locale;
    }
    #[cfg(feature = "hydrate")]
    if let Some(locale) = leptos::prelude::document()
        .document_element()
        .and_then(|html| from_tag(&html.get_attribute("lang")?))
    {
        return locale;
    }
    Locale::en
}

/// `2026-11-26T15:04:05.123Z` as people read it: `26 November 2026, 15:04 UTC`, or in
/// Indonesian `26 November 2026 15.04 UTC`. Pure text work, so the server and the hydrating
/// browser write the same.
pub fn exact_time(rfc3339: &str, locale: Locale) -> String {
    let field = |range: std::ops::Range<usize>| rfc3339.get(range)?.parse::<u32>().ok();
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute)) = (
        field(0..4),
        field(5..7),
        field(8..10),
        field(11..13),
        field(14..16),
    ) else {
        return rfc3339.to_string();
    };
    let Some(month) = month_name(month, locale) else {
        return rfc3339.to_string();
    };
    match locale {
        Locale::en => format!("{day} {month} {year}, {hour:02}:{minute:02} UTC"),
        Locale::id => format!("{day} {month} {year} {hour:02}.{minute:02} UTC"),
    }
}

fn month_name(month: u32, locale: Locale) -> Option<&'static str> {
    use i18n::td_string;
    Some(match month {
        1 => td_string!(locale, common.months.january),
        2 => td_string!(locale, common.months.february),
        3 => td_string!(locale, common.months.march),
        4 => td_string!(locale, common.months.april),
        5 => td_string!(locale, common.months.may),
        6 => td_string!(locale, common.months.june),
        7 => td_string!(locale, common.months.july),
        8 => td_string!(locale, common.months.august),
        9 => td_string!(locale, common.months.september),
        10 => td_string!(locale, common.months.october),
        11 => td_string!(locale, common.months.november),
        12 => td_string!(locale, common.months.december),
        _ => return None,
    })
}

/// How long ago, in words: "just now", "3 minutes ago", "2 days ago" (or Indonesian).
pub fn ago(seconds: i64, locale: Locale) -> String {
    use i18n::td_string;
    let secs = seconds.max(0);
    let (n, one, many) = match secs {
        0..60 => return td_string!(locale, common.ago.now).to_string(),
        60..3_600 => (secs / 60, 0, 1),
        3_600..86_400 => (secs / 3_600, 2, 3),
        86_400..2_592_000 => (secs / 86_400, 4, 5),
        2_592_000..31_536_000 => (secs / 2_592_000, 6, 7),
        _ => (secs / 31_536_000, 8, 9),
    };
    let unit = if n == 1 { one } else { many };
    match unit {
        0 => td_string!(locale, common.ago.minute).to_string(),
        1 => td_string!(locale, common.ago.minutes, n = n),
        2 => td_string!(locale, common.ago.hour).to_string(),
        3 => td_string!(locale, common.ago.hours, n = n),
        4 => td_string!(locale, common.ago.day).to_string(),
        5 => td_string!(locale, common.ago.days, n = n),
        6 => td_string!(locale, common.ago.month).to_string(),
        7 => td_string!(locale, common.ago.months, n = n),
        8 => td_string!(locale, common.ago.year).to_string(),
        _ => td_string!(locale, common.ago.years, n = n),
    }
}

#[cfg(feature = "ssr")]
pub use server::{scope, set_current};

#[cfg(feature = "ssr")]
mod server {
    use super::{Locale, from_accept_language};
    use axum::{
        extract::Request,
        http::{HeaderValue, header},
        middleware::Next,
        response::Response,
    };
    use std::cell::Cell;

    tokio::task_local! {
        /// The language of the request this task serves.
        pub(super) static LANGUAGE: Cell<Locale>;
    }

    /// Middleware around every request: what it builds speaks the language its
    /// `Accept-Language` asks for (pages then refine it: `app::page_facts`).
    pub async fn scope(req: Request, next: Next) -> Response {
        let locale = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language)
            .unwrap_or_default();
        let mut res = LANGUAGE.scope(Cell::new(locale), next.run(req)).await;
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept-Language"));
        res
    }

    /// Makes `locale` the language of the rest of this request.
    pub fn set_current(locale: Locale) {
        let _ = LANGUAGE.try_with(|l| l.set(locale));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_beats_the_app_which_beats_the_browser() {
        assert_eq!(choose(Some("en"), Some("id-ID"), Some("id")), Locale::en);
        assert_eq!(choose(None, Some("id-ID"), Some("en-US")), Locale::id);
        assert_eq!(choose(None, Some("fr-FR"), Some("id")), Locale::id);
        assert_eq!(choose(Some("xx"), None, None), Locale::en);
        assert_eq!(choose(None, None, None), Locale::en);
    }

    #[test]
    fn accept_language_is_read_by_quality() {
        assert_eq!(
            from_accept_language("fr;q=0.9, id;q=0.8, en;q=0.5"),
            Some(Locale::id)
        );
        assert_eq!(from_accept_language("en;q=0.4, id-ID"), Some(Locale::id));
        assert_eq!(from_accept_language("id;q=0, en"), Some(Locale::en));
        assert_eq!(from_accept_language("de, fr"), None);
        assert_eq!(from_accept_language("in"), Some(Locale::id));
    }

    #[test]
    fn times_read_naturally_in_each_language() {
        let at = "2026-03-04T09:05:59.123Z";
        assert_eq!(exact_time(at, Locale::en), "4 March 2026, 09:05 UTC");
        assert_eq!(exact_time(at, Locale::id), "4 Maret 2026 09.05 UTC");
        assert_eq!(exact_time("garbage", Locale::en), "garbage");
        assert_eq!(ago(5, Locale::en), "just now");
        assert_eq!(ago(120, Locale::en), "2 minutes ago");
        assert_eq!(ago(3_600, Locale::id), "1 jam yang lalu");
        assert_eq!(ago(3 * 86_400, Locale::id), "3 hari yang lalu");
    }
}
