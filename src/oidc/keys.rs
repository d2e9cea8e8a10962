//! The keys that sign ID tokens, kept in the database so that every node on one PostgreSQL
//! signs with the same current key and publishes the same JWKS. ES256 signs by default;
//! RS256 (`fypass client set-id-token-alg ID RS256`) is for a client whose library knows
//! only RSA, with keys of its own life beside the ES256 ones (each algorithm has its
//! current key, and rotates on its own).
//!
//! A key's life, in the `oidc_keys` table:
//! * **published** from its creation (`/oauth/jwks`);
//! * **signs** from `signs_from`: `fypass keys rotate` sets it a publish delay ahead
//!   (`FYPASS_KEY_PUBLISH_DELAY_SECS`), so relying parties that cache the JWKS learn the new
//!   key before the first token it signs reaches them; the newest key whose time has come
//!   signs;
//! * **retired** when a newer key starts signing, and still published until every ID token
//!   it signed has expired (the ID token lifetime after its retirement), then removed.
//!
//! The private key is PKCS#8 DER, sealed with AES-256-GCM under a key derived (HKDF-SHA256)
//! from `FYPASS_SECRET_KEY` when that is set; a copy of the database alone then signs
//! nothing.
//!
//! The JWT and JWK handling is the `jsonwebtoken` crate's; its cryptography is plugged in
//! as its `CryptoProvider`, on `ring` (already in the tree for TLS and the refresh tokens'
//! sealing), in [`super::crypto`]: no OpenSSL, no aws-lc build, no second copy of the
//! RustCrypto curves.

use super::crypto::{generate, provider};
use crate::{
    config::Config,
    db::{Db, db_row, now_ms, with_reader, with_writer},
    error::{ApiError, ErrorCode},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header,
    jwk::{Jwk, JwkSet, ThumbprintHash},
};
use ring::{aead, hkdf};
use serde::Serialize;
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

/// How ID tokens are signed for a client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256: small keys and signatures, quick to sign; the default.
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: for libraries that know only RSA.
    Rs256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Es256, SigningAlg::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
        }
    }

    pub fn parse(name: &str) -> Option<SigningAlg> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// A client's `id_token_alg` column as stored: unset (or unknown) is the default.
    pub fn of_client(stored: Option<&str>) -> SigningAlg {
        stored.and_then(Self::parse).unwrap_or_default()
    }

    pub(super) fn algorithm(self) -> Algorithm {
        match self {
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::Rs256 => Algorithm::RS256,
        }
    }
}

// ---- Sealing the private keys -----------------------------------------------------------

/// The AES-256-GCM key of `FYPASS_SECRET_KEY`, if it is set.
fn sealing_key(config: &Config) -> Option<aead::LessSafeKey> {
    let secret = config.secret_key.as_deref()?;
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"fypass oidc signing keys v1");
    let prk = salt.extract(secret.as_bytes());
    let okm = prk
        .expand(&[], &aead::AES_256_GCM)
        .expect("an AES-256 key is a valid HKDF output length");
    Some(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
}

/// `plain` sealed under `key` for `kid` (the nonce, then the ciphertext and tag).
fn seal(key: &aead::LessSafeKey, kid: &str, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; aead::NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the operating system's random number generator failed");
    let mut sealed = plain.to_vec();
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(kid.as_bytes()),
        &mut sealed,
    )
    .expect("a key is far below AES-GCM's length limit");
    [nonce.as_slice(), &sealed].concat()
}

fn open(key: &aead::LessSafeKey, kid: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, ciphertext) = sealed.split_at_checked(aead::NONCE_LEN)?;
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = ciphertext.to_vec();
    let plain = key
        .open_in_place(nonce, aead::Aad::from(kid.as_bytes()), &mut in_out)
        .ok()?;
    Some(plain.to_vec())
}

// ---- The keys in the database --------------------------------------------------------

db_row! {
    #[derive(Clone, Debug)]
    pub struct KeyRow {
        pub kid: String,
        pub alg: String,
        pub private_key: Vec<u8>,
        pub sealed: bool,
        pub public_jwk: String,
        pub created_at: i64,
        pub signs_from: i64,
    }
}

const KEY_COLUMNS: &str = "kid, alg, private_key, sealed, public_jwk, created_at, signs_from";

/// Every key in the table, oldest first.
async fn all(db: &Db) -> Result<Vec<KeyRow>, ApiError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM oidc_keys ORDER BY signs_from, kid");
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .fetch_all(c)
        .await)?)
}

/// The key of `alg` that signs now ([`current_kid_sql`]).
async fn current(db: &Db, alg: SigningAlg) -> Result<Option<KeyRow>, ApiError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {KEY_COLUMNS} FROM oidc_keys WHERE kid = {}",
            current_kid_sql("$1", "$2")
        )
    });
    Ok(with_reader!(db, |c| sqlx::query_as(&SQL)
        .bind(alg.as_str())
        .bind(now_ms())
        .fetch_optional(c)
        .await)?)
}

/// When `key` stopped signing (the first newer key of its algorithm's start), if it has.
fn retired_at(rows: &[KeyRow], key: &KeyRow, now: i64) -> Option<i64> {
    rows.iter()
        .filter(|k| k.alg == key.alg && k.signs_from > key.signs_from && k.signs_from <= now)
        .map(|k| k.signs_from)
        .min()
}

/// Whether `key` still belongs in the JWKS: not retired, or retired less than an ID token's
/// lifetime ago (a token it signed just before may still be checked).
fn is_published(rows: &[KeyRow], key: &KeyRow, now: i64, token_ttl_ms: i64) -> bool {
    retired_at(rows, key, now).is_none_or(|at| now < at + token_ttl_ms)
}

fn token_ttl_ms(config: &Config) -> i64 {
    config.token_ttl_secs as i64 * 1000
}

/// A new key of `alg` that signs from `signs_from`, stored (sealed when a secret is set).
async fn create(
    db: &Db,
    config: &Config,
    signs_from: i64,
    alg: SigningAlg,
) -> Result<KeyRow, ApiError> {
    provider();
    let internal = |what: &str| {
        tracing::error!("cannot make a signing key: {what}");
        ApiError::new(ErrorCode::InternalError)
    };
    // An RSA key takes a while to find (primes): off the async workers.
    let pkcs8 = tokio::task::spawn_blocking(move || generate(alg))
        .await
        .map_err(|e| internal(&e.to_string()))?
        .map_err(|e| internal(&e))?;
    let encoding = match alg {
        SigningAlg::Es256 => EncodingKey::from_ec_der(&pkcs8),
        SigningAlg::Rs256 => EncodingKey::from_rsa_der(&pkcs8),
    };
    let mut jwk =
        Jwk::from_encoding_key(&encoding, alg.algorithm()).map_err(|e| internal(&e.to_string()))?;
    // The key id is the key's own RFC 7638 thumbprint: the same key has the same id anywhere.
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| internal(&e.to_string()))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
    let (private_key, sealed) = match sealing_key(config) {
        Some(key) => (seal(&key, &kid, &pkcs8), true),
        None => (pkcs8, false),
    };
    let row = KeyRow {
        public_jwk: serde_json::to_string(&jwk).map_err(|e| internal(&e.to_string()))?,
        kid,
        alg: alg.as_str().into(),
        private_key,
        sealed,
        created_at: now_ms(),
        signs_from,
    };
    let sql =
        "INSERT INTO oidc_keys (kid, alg, private_key, sealed, public_jwk, created_at, signs_from)
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_writer!(db, |c| sqlx::query(sql)
        .bind(&row.kid)
        .bind(&row.alg)
        .bind(&row.private_key)
        .bind(row.sealed)
        .bind(&row.public_jwk)
        .bind(row.created_at)
        .bind(row.signs_from)
        .execute(c)
        .await
        .map(drop))?;
    Ok(row)
}

/// The JWKS: every published key (of both algorithms).
pub async fn jwks(db: &Db, config: &Config) -> Result<JwkSet, ApiError> {
    // A new deployment's first ES256 key is made here if nothing has signed yet: an app's
    // first look at the JWKS then finds the key its first ID token will name.
    signs_now(db, config, SigningAlg::Es256).await?;
    let rows = all(db).await?;
    let now = now_ms();
    let ttl = token_ttl_ms(config);
    let keys = rows
        .iter()
        .filter(|k| is_published(&rows, k, now, ttl))
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// The key of `alg` that signs now, made at the first need: a new deployment has none, and
/// no RS256 key exists until a client asks for one.
async fn signs_now(db: &Db, config: &Config, alg: SigningAlg) -> Result<KeyRow, ApiError> {
    if let Some(key) = current(db, alg).await? {
        return Ok(key);
    }
    create(db, config, now_ms(), alg).await?;
    current(db, alg)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError))
}

/// How a client's ID tokens are signed now: its algorithm, and the key of that algorithm
/// that signs now when the caller read it with the rest of its query ([`current_kid_sql`]).
#[derive(Clone, Debug)]
pub struct Signing {
    pub alg: SigningAlg,
    pub kid: Option<String>,
}

/// SQL for the key id of the key that signs now for algorithm `alg_sql` at `now_sql`: the
/// newest whose publish delay is over. The one statement of that rule: [`current`] reads
/// by it, and a query that needs the key beside its own rows (the refresh grant's) joins it.
pub fn current_kid_sql(alg_sql: &str, now_sql: &str) -> String {
    format!(
        "(SELECT k.kid FROM oidc_keys k WHERE k.alg = {alg_sql} AND k.signs_from <= {now_sql}
          ORDER BY k.signs_from DESC, k.kid DESC LIMIT 1)"
    )
}

/// Private keys opened, by key id. A key id is its key's RFC 7638 thumbprint, so it names
/// one key for good: once a query has said which key signs now, the key itself need not be
/// read again. (A deployment has a handful; cleared if ever more than [`OPENED_MAX`].)
static OPENED: LazyLock<Mutex<HashMap<String, Opened>>> = LazyLock::new(Default::default);
/// An opened key: its algorithm and PKCS#8 bytes.
type Opened = (SigningAlg, Arc<Vec<u8>>);
const OPENED_MAX: usize = 16;

fn opened(kid: &str, alg: SigningAlg) -> Option<Arc<Vec<u8>>> {
    let cache = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .get(kid)
        .filter(|(a, _)| *a == alg)
        .map(|(_, pkcs8)| pkcs8.clone())
}

fn remember(kid: &str, alg: SigningAlg, pkcs8: Arc<Vec<u8>>) {
    let mut cache = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= OPENED_MAX {
        cache.clear();
    }
    cache.insert(kid.to_owned(), (alg, pkcs8));
}

/// The private key (PKCS#8) of the key of `alg` that signs now, and its id: the one
/// `signing.kid` names when the caller read it (opened before), else read here.
async fn signing_key(
    db: &Db,
    config: &Config,
    signing: &Signing,
) -> Result<(String, Arc<Vec<u8>>), ApiError> {
    let alg = signing.alg;
    if let Some(kid) = &signing.kid
        && let Some(pkcs8) = opened(kid, alg)
    {
        return Ok((kid.clone(), pkcs8));
    }
    let key = signs_now(db, config, alg).await?;
    let pkcs8 = if key.sealed {
        let sealing = sealing_key(config).ok_or_else(|| {
            tracing::error!(kid = %key.kid, "the signing key is sealed: set FYPASS_SECRET_KEY");
            ApiError::new(ErrorCode::InternalError)
        })?;
        open(&sealing, &key.kid, &key.private_key).ok_or_else(|| {
            tracing::error!(kid = %key.kid, "the signing key does not open with this FYPASS_SECRET_KEY");
            ApiError::new(ErrorCode::InternalError)
        })?
    } else {
        key.private_key.clone()
    };
    let pkcs8 = Arc::new(pkcs8);
    remember(&key.kid, alg, pkcs8.clone());
    Ok((key.kid.clone(), pkcs8))
}

/// `claims` as a JWT signed by the key of `signing.alg` that signs now.
pub async fn sign<T: Serialize>(
    db: &Db,
    config: &Config,
    claims: &T,
    signing: &Signing,
) -> Result<String, ApiError> {
    provider();
    let alg = signing.alg;
    let (kid, pkcs8) = signing_key(db, config, signing).await?;
    let mut header = Header::new(alg.algorithm());
    header.kid = Some(kid);
    let encoding = match alg {
        SigningAlg::Es256 => EncodingKey::from_ec_der(&pkcs8),
        SigningAlg::Rs256 => EncodingKey::from_rsa_der(&pkcs8),
    };
    jsonwebtoken::encode(&header, claims, &encoding).map_err(|e| {
        tracing::error!("cannot sign an ID token: {e}");
        ApiError::new(ErrorCode::InternalError)
    })
}

/// The claims of `token` if a published key of ours signed it with that key's algorithm
/// (ES256 or RS256) — expired or not (an `id_token_hint` may be old) — and it was issued by
/// `issuer`.
pub async fn verify<T: serde::de::DeserializeOwned>(
    db: &Db,
    config: &Config,
    token: &str,
) -> Option<T> {
    provider();
    let header = jsonwebtoken::decode_header(token).ok()?;
    let alg = SigningAlg::ALL
        .into_iter()
        .find(|a| a.algorithm() == header.alg)?;
    let kid = header.kid?;
    let set = jwks(db, config).await.ok()?;
    let jwk = set.find(&kid)?;
    // The key's own algorithm, never the one the token's header claims for it.
    if jwk.common.key_algorithm != Some(alg.algorithm().into()) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let mut validation = jsonwebtoken::Validation::new(alg.algorithm());
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.set_issuer(&[config.public_origin()]);
    jsonwebtoken::decode::<T>(token, &key, &validation)
        .ok()
        .map(|d| d.claims)
}

/// What `fypass keys rotate` did.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// The new ES256 key.
    pub kid: String,
    /// The new RS256 key, when RS256 is in use (some client asked for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rs256_kid: Option<String>,
    pub signs_from: String,
    pub sealed: bool,
    /// The keys in the JWKS now (the new one among them), newest last.
    pub published: Vec<String>,
    /// Keys removed: retired longer ago than an ID token lives.
    pub removed: Vec<String>,
}

/// Adds a key that signs after `delay_secs` (ES256, and RS256 when there are RS256 keys),
/// and removes the keys nothing can need any more.
pub async fn rotate(db: &Db, config: &Config, delay_secs: u64) -> Result<Rotation, ApiError> {
    let signs_from = now_ms() + delay_secs as i64 * 1000;
    let rsa_in_use = all(db)
        .await?
        .iter()
        .any(|k| k.alg == SigningAlg::Rs256.as_str());
    let new = create(db, config, signs_from, SigningAlg::Es256).await?;
    let rs256_kid = match rsa_in_use {
        true => Some(create(db, config, signs_from, SigningAlg::Rs256).await?.kid),
        false => None,
    };
    let rows = all(db).await?;
    let now = now_ms();
    let ttl = token_ttl_ms(config);
    let (published, gone): (Vec<&KeyRow>, Vec<&KeyRow>) =
        rows.iter().partition(|k| is_published(&rows, k, now, ttl));
    for key in &gone {
        let sql = "DELETE FROM oidc_keys WHERE kid = $1";
        with_writer!(db, |c| sqlx::query(sql)
            .bind(&key.kid)
            .execute(c)
            .await
            .map(drop))?;
    }
    Ok(Rotation {
        kid: new.kid,
        rs256_kid,
        signs_from: crate::db::rfc3339(new.signs_from),
        sealed: new.sealed,
        published: published.iter().map(|k| k.kid.clone()).collect(),
        removed: gone.iter().map(|k| k.kid.clone()).collect(),
    })
}

/// `at_hash` of an access token (OpenID Connect Core §3.1.3.6): the left half of its
/// SHA-256, base64url.
pub fn at_hash(access_token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kid: &str, signs_from: i64) -> KeyRow {
        KeyRow {
            kid: kid.into(),
            alg: "ES256".into(),
            private_key: vec![],
            sealed: false,
            public_jwk: String::new(),
            created_at: 0,
            signs_from,
        }
    }

    #[test]
    fn a_key_is_published_from_its_making_and_after_its_retirement_for_a_token_lifetime() {
        let rows = vec![row("old", 0), row("new", 1000)];
        // Before the delay is over both are published.
        assert!(is_published(&rows, &rows[0], 999, 500));
        assert!(is_published(&rows, &rows[1], 999, 500));
        // Once the new one signs, the old one stays published for a token lifetime.
        assert!(is_published(&rows, &rows[0], 1499, 500));
        assert!(!is_published(&rows, &rows[0], 1500, 500));
        assert!(is_published(&rows, &rows[1], 10_000, 500));
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_and_kid() {
        let config = Config {
            secret_key: Some("a".repeat(40)),
            ..Config::defaults()
        };
        let key = sealing_key(&config).unwrap();
        let sealed = seal(&key, "kid1", b"private");
        assert_eq!(
            open(&key, "kid1", &sealed).as_deref(),
            Some(&b"private"[..])
        );
        assert!(open(&key, "kid2", &sealed).is_none());
        let other = sealing_key(&Config {
            secret_key: Some("b".repeat(40)),
            ..Config::defaults()
        })
        .unwrap();
        assert!(open(&other, "kid1", &sealed).is_none());
    }
}
