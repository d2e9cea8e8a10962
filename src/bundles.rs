//! Which WASM a page loads. Pages are rendered on the server and the browser hydrates only
//! their islands, so a page needs the code of its own islands and nothing more; most of a
//! WASM that holds every island is code a sign-in form never runs.
//!
//! `make build` builds the whole front end (`pkg/fypass.*`, every island, by cargo-leptos)
//! and, from the same code, one smaller front end per bundle below (`pkg/fypass-<name>.*`):
//! the library built with the feature `bundle-<name>`, in which only that bundle's islands
//! are islands and every other one is a plain component, so its code is not in that WASM.
//! The server sends a page with the smallest bundle that holds every island the page
//! rendered, and with the whole front end when none does ([`for_page`], used by
//! `server::assets`), so a page can never load a WASM that lacks one of its islands.
//!
//! The build script reads this file too (it is plain Rust with no crate paths): it turns
//! the build's features into one `hydrates = "<island>"` cfg per island that build hydrates
//! (all of them on the server and in the whole front end), and every island is declared
//!
//! ```text
//! #[cfg_attr(hydrates = "LoginForm", island)]
//! #[cfg_attr(not(hydrates = "LoginForm"), component)]
//! fn LoginForm(..) -> impl IntoView
//! ```

/// Every island, by its component's name (the build rejects a `hydrates` cfg not named here).
pub const ISLANDS: &[&str] = &[
    "AccountView",
    "AskForCode",
    "ConfirmCode",
    "ContinueAs",
    "DeviceList",
    "EnterCode",
    "ErrorFilter",
    "LoginForm",
    "PasskeySignIn",
    "RegisterForm",
    "SecondFactorForm",
    "SignOutButton",
    "StatusPanel",
    "VerifyOne",
];

/// The smaller front ends, by name (each has its `bundle-<name>` feature in Cargo.toml),
/// with their islands: the two pages most people load first.
pub const BUNDLES: &[(&str, &[&str])] = &[
    // The hosted sign-in page (`/fypass?reqToken=`): its form and the passkey sign-in.
    ("sign-in", &["LoginForm", "PasskeySignIn"]),
    // The device dashboard (`/devices`): the list and sign-out.
    ("devices", &["DeviceList", "SignOutButton"]),
];

/// The smallest bundle that holds every island of a page (their names), or `None` when no
/// bundle does and the page needs the whole front end. A page without islands gets the
/// smallest bundle of all: it runs no island code, only the start that marks it hydrated.
pub fn for_page<'a>(islands: impl IntoIterator<Item = &'a str> + Clone) -> Option<&'static str> {
    BUNDLES
        .iter()
        .filter(|(_, held)| islands.clone().into_iter().all(|i| held.contains(&i)))
        .min_by_key(|(_, held)| held.len())
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gets_the_smallest_bundle_with_all_its_islands() {
        assert_eq!(for_page(["LoginForm"]), Some("sign-in"));
        assert_eq!(for_page(["PasskeySignIn", "LoginForm"]), Some("sign-in"));
        assert_eq!(for_page(["DeviceList", "SignOutButton"]), Some("devices"));
    }

    #[test]
    fn a_page_no_bundle_covers_gets_the_whole_front_end() {
        // The signed-in variant of the sign-in page, and a mix of two bundles' islands.
        assert_eq!(for_page(["ContinueAs"]), None);
        assert_eq!(for_page(["LoginForm", "DeviceList"]), None);
    }

    #[test]
    fn a_page_without_islands_gets_the_smallest_bundle() {
        let smallest = BUNDLES
            .iter()
            .min_by_key(|(_, held)| held.len())
            .map(|(n, _)| *n);
        assert_eq!(for_page(Vec::<&str>::new()), smallest);
    }

    #[test]
    fn every_bundle_has_its_feature_and_only_known_islands() {
        let manifest = include_str!("../Cargo.toml");
        for (name, islands) in BUNDLES {
            assert!(
                manifest.contains(&format!("\nbundle-{name} = [\"hydrate\"]")),
                "Cargo.toml lacks the feature bundle-{name}"
            );
            for island in *islands {
                assert!(ISLANDS.contains(island), "{island} is not in ISLANDS");
            }
        }
    }
}
