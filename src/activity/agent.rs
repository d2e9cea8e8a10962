//! What a browser is, read from its User-Agent, so that the security centre can name a
//! person's sessions: a few families of browsers (Chrome, Edge, Firefox, Safari) and systems
//! (Windows, macOS, Linux, ChromeOS, Android, iOS), read simply — no table of every agent
//! there is. What it cannot read, the page names by the User-Agent as it came.

/// A browser's family and its operating system, as far as its User-Agent tells them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agent {
    pub browser: Option<&'static str>,
    pub os: Option<&'static str>,
}

/// Reads `user_agent`.
pub fn parse(user_agent: &str) -> Agent {
    Agent {
        browser: browser(user_agent),
        os: os(user_agent),
    }
}

fn browser(ua: &str) -> Option<&'static str> {
    let has = |token: &str| ua.contains(token);
    if ["Edg/", "EdgA/", "EdgiOS/", "Edge/"].into_iter().any(has) {
        return Some("Edge");
    }
    // Other browsers built on Chrome's engine also say `Chrome/` (after their own name):
    // naming them Chrome would be wrong, and they are not told apart here.
    if [
        "OPR/",
        "SamsungBrowser/",
        "YaBrowser/",
        "UCBrowser/",
        "Vivaldi/",
    ]
    .into_iter()
    .any(has)
    {
        return None;
    }
    if has("Firefox/") || has("FxiOS/") {
        return Some("Firefox");
    }
    if has("Chrome/") || has("CriOS/") {
        return Some("Chrome");
    }
    // Safari says `Version/` before `Safari/`; Android's old browser does too.
    if has("Safari/") && has("Version/") && !has("Android") {
        return Some("Safari");
    }
    None
}

fn os(ua: &str) -> Option<&'static str> {
    let has = |token: &str| ua.contains(token);
    // Before macOS and Linux: an iPhone is "like Mac OS X", Android runs on Linux.
    if has("Windows") {
        Some("Windows")
    } else if has("iPhone") || has("iPad") || has("iPod") {
        Some("iOS")
    } else if has("Android") {
        Some("Android")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Macintosh") || has("Mac OS X") {
        Some("macOS")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{Agent, parse};

    fn read(ua: &str) -> (Option<&'static str>, Option<&'static str>) {
        let Agent { browser, os } = parse(ua);
        (browser, os)
    }

    #[test]
    fn the_common_browsers_and_systems_are_named() {
        for (ua, browser, os) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                Some("Chrome"),
                Some("Windows"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
                Some("Edge"),
                Some("Windows"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                Some("Firefox"),
                Some("Linux"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                Some("Safari"),
                Some("macOS"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                Some("Safari"),
                Some("iOS"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                Some("Chrome"),
                Some("iOS"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
                Some("Chrome"),
                Some("Android"),
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
                Some("Firefox"),
                Some("Android"),
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                Some("Chrome"),
                Some("ChromeOS"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.6478.55 Safari/537.36",
                Some("Chrome"),
                Some("Linux"),
            ),
        ] {
            assert_eq!(read(ua), (browser, os), "{ua}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_not_guessed() {
        // Opera and Samsung Internet say Chrome too: not named Chrome.
        assert_eq!(
            read(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0"
            ),
            (None, Some("Windows"))
        );
        assert_eq!(
            read(
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
            ),
            (None, Some("Android"))
        );
        assert_eq!(read("curl/8.5.0"), (None, None));
        assert_eq!(read(""), (None, None));
    }
}
