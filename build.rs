//! Compiles the translations in `src/locales/{en,id}/*.json` into the `i18n` module
//! (included by `src/locale.rs`): one typed, `const` accessor per key, so a page or an error
//! that names a key which does not exist does not compile.
//!
//! leptos_i18n itself only *warns* when a language lacks a key (and falls back to English)
//! or has one the default language does not; here both fail the build, so a missing
//! Indonesian text can never ship.
//!
//! It also tells the compiler which islands this build hydrates (`hydrates` cfgs, from the
//! `bundle-*` features; see `src/bundles.rs`).

use leptos_i18n_parser::parse_locales::{
    options::{Config, ParseOptions},
    parse_locales,
};
use std::{env, fs, path::PathBuf, process::exit};

/// The languages, the default first.
const LOCALES: [&str; 2] = ["en", "id"];
/// One file per area of the product, the same names in every language's folder.
const NAMESPACES: &[&str] = &[
    "common", "errors", "api", "login", "codes", "account", "passkeys", "devices", "docs", "mail",
    "factors", "activity",
];

// The islands and the bundles (see that file): read here to set the `hydrates` cfgs.
#[allow(dead_code)]
#[path = "src/bundles.rs"]
mod bundles;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/bundles.rs");
    hydrated_islands();
    println!("cargo::rerun-if-changed=src/locales");
    let config = Config::new(LOCALES[0])
        .and_then(|c| c.add_locales(&LOCALES[1..]))
        .and_then(|c| c.add_namespaces(NAMESPACES))
        .unwrap_or_else(|e| fail(&e.to_string()))
        .locales_path("src/locales")
        // `{{ n }}` fills with anything Display (counts, names) in td_string!.
        .parse_options(ParseOptions::default().interpolate_display(true));
    let parsed = parse_locales(None, config).unwrap_or_else(|e| fail(&e.to_string()));
    for file in parsed.tracked_files.iter().flatten() {
        println!("cargo::rerun-if-changed={file}");
    }
    let problems: Vec<String> = parsed
        .diag
        .errors()
        .iter()
        .map(ToString::to_string)
        .chain(parsed.diag.warnings().iter().map(ToString::to_string))
        .collect();
    if !problems.is_empty() {
        fail(&problems.join("\n"));
    }
    // Error texts are keyed by ErrorCode variant names (CamelCase).
    let attributes: proc_macro2::TokenStream = "#![allow(non_snake_case, missing_docs)]"
        .parse()
        .expect("valid attribute");
    let code = leptos_i18n_codegen::gen_code(&parsed, None, false, Some(&attributes), false)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("i18n.rs");
    fs::write(out, code.to_string()).unwrap_or_else(|e| fail(&e.to_string()));
}

/// One `hydrates = "<island>"` cfg per island this build hydrates: the islands of the
/// `bundle-<name>` features enabled, or every island (the server, which renders every island
/// as one, and the whole front end).
fn hydrated_islands() {
    let names: Vec<String> = bundles::ISLANDS.iter().map(|i| format!("{i:?}")).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(hydrates, values({}))",
        names.join(", ")
    );
    let enabled = |feature: String| {
        env::var_os(format!(
            "CARGO_FEATURE_{}",
            feature.to_uppercase().replace('-', "_")
        ))
        .is_some()
    };
    let chosen: Vec<&str> = bundles::BUNDLES
        .iter()
        .filter(|(name, _)| enabled(format!("bundle-{name}")))
        .flat_map(|(_, islands)| islands.iter().copied())
        .collect();
    let hydrated = if chosen.is_empty() || enabled("ssr".into()) {
        bundles::ISLANDS
    } else {
        &chosen[..]
    };
    for island in hydrated {
        println!("cargo::rustc-cfg=hydrates={island:?}");
    }
}

fn fail(problem: &str) -> ! {
    for line in problem.lines() {
        println!("cargo::error=translations: {line}");
    }
    exit(1)
}
