//! Where fypass sends a browser next — a `303 See Other`, or an island's `location.href` —
//! is a path of this site, decided by one rule: the language switch's `next`, and every page
//! after a sign-in, a registration, a code or a confirmation (SPEC §13: control characters,
//! `\` and `//` refused). Only the app's own redirect URL, which its admin registered, leaves
//! the site.

/// `next`, when every browser reads it as a path of this site: it starts with a single `/`,
/// and holds no control character and no `\` anywhere. Browsers drop tabs and newlines from
/// a URL and read `\` as `/`, so `/\t/evil.example`, `/\evil.example` and `//evil.example`
/// all name another site.
pub fn local_path(next: &str) -> Option<&str> {
    let mut chars = next.chars();
    let one_slash = chars.next() == Some('/') && chars.next() != Some('/');
    let plain = !next.chars().any(|c| c.is_control() || c == '\\');
    (one_slash && plain).then_some(next)
}

/// `next` when it is a path of this site ([`local_path`]), else the home page.
pub fn local_or_home(next: &str) -> &str {
    local_path(next).unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_local() {
        for ok in [
            "/",
            "/fypass?reqToken=fyr_abc",
            "/fypass/code?reqToken=fyr_abc&to=nia%40example.com",
            "/docs/errors#codes",
            "/a/b//c",
            "/a?next=//evil.example",
            "/%2F/x",
            "/%5Cx",
            "/akun/éü",
        ] {
            assert_eq!(local_path(ok), Some(ok), "{ok:?}");
        }
        for bad in [
            "",
            "fypass",
            "evil.example",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/x\\..\\..\\\\evil.example",
            "/\t/evil.example",
            "\t//evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\t\\evil.example",
            "/\0/evil.example",
            "/\u{1f}/evil.example",
            "/\u{7f}/evil.example",
            "/\u{85}/evil.example",
            "/fypass\r\nSet-Cookie: x=1",
            " //evil.example",
            "https://evil.example",
            "https:evil.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
            assert_eq!(local_or_home(bad), "/", "{bad:?}");
        }
    }
}
