//! ID tokens' cryptography: `jsonwebtoken`'s `CryptoProvider` on `ring` (ES256 and RS256
//! signing and verification, the public parts of a key for its JWK, thumbprints), and new
//! private keys. ring cannot make RSA keys, so the `rsa` crate makes them (2048 bits, from
//! ring's random source) and does nothing else: ring signs and verifies, in constant time.

use super::keys::SigningAlg;
use jsonwebtoken::{
    Algorithm, DecodingKey, DecodingKeyKind, EncodingKey,
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{Error as JwtError, ErrorKind},
    jwk::{EllipticCurve, ThumbprintHash},
    signature,
};
use ring::{
    rand::{SecureRandom, SystemRandom},
    signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
        RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
        UnparsedPublicKey,
    },
};
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

/// A private key, parsed.
enum Parsed {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// Signs with a parsed key of [`PARSED`].
struct KeySigner(Arc<Parsed>);

impl signature::Signer<Vec<u8>> for KeySigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let random = SystemRandom::new();
        match &*self.0 {
            Parsed::Es256(pair) => pair.sign(&random, msg).map(|s| s.as_ref().to_vec()),
            Parsed::Rs256(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &random, msg, &mut signature)
                    .map(|()| signature)
            }
        }
        .map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for KeySigner {
    fn algorithm(&self) -> Algorithm {
        match &*self.0 {
            Parsed::Es256(_) => Algorithm::ES256,
            Parsed::Rs256(_) => Algorithm::RS256,
        }
    }
}

/// Private keys parsed, by their PKCS#8 bytes. Parsing checks a key — for ES256 a P-256
/// multiplication, about what the signature itself costs; for RSA, more — and every ID token
/// is signed with one of a deployment's handful of keys, so each is parsed once per process.
/// (A key's bytes never change; a few entries at most, cleared if ever more.)
static PARSED: LazyLock<Mutex<HashMap<Vec<u8>, Arc<Parsed>>>> = LazyLock::new(Default::default);
const PARSED_MAX: usize = 16;

fn parsed(alg: &Algorithm, pkcs8: &[u8]) -> Result<Arc<Parsed>, JwtError> {
    let cache = || PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    let hit = cache().get(pkcs8).cloned();
    let key = match hit {
        Some(key) => key,
        None => {
            let key = Arc::new(match alg {
                Algorithm::ES256 => Parsed::Es256(key_pair(pkcs8)?),
                Algorithm::RS256 => Parsed::Rs256(rsa_pair(pkcs8)?),
                _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
            });
            let mut cache = cache();
            if cache.len() >= PARSED_MAX {
                cache.clear();
            }
            cache.insert(pkcs8.to_vec(), key.clone());
            key
        }
    };
    // A key signs only with its own algorithm.
    match (&*key, alg) {
        (Parsed::Es256(_), Algorithm::ES256) | (Parsed::Rs256(_), Algorithm::RS256) => Ok(key),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

struct Es256Verifier(Vec<u8>);

impl signature::Verifier<Vec<u8>> for Es256Verifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(msg, sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Es256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

struct Rs256Verifier {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl signature::Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, msg, sig)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

fn rsa_pair(pkcs8: &[u8]) -> Result<RsaKeyPair, JwtError> {
    RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| ErrorKind::InvalidRsaKey(String::new()).into())
}

fn rsa_components(pkcs8: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let pair = rsa_pair(pkcs8)?;
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((public.n, public.e))
}

fn key_pair(pkcs8: &[u8]) -> Result<EcdsaKeyPair, JwtError> {
    EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8,
        &SystemRandom::new(),
    )
    .map_err(|_| ErrorKind::InvalidEcdsaKey.into())
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, JwtError> {
    Ok(Box::new(KeySigner(parsed(alg, key.as_bytes())?)))
}

/// Only ES256 and RS256 verify: a token whose header names another algorithm (`none`,
/// `HS256` with the public key as the secret, ...) is refused before any signature is
/// looked at.
fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, JwtError> {
    match (alg, key.kind()) {
        (Algorithm::ES256, _) => Ok(Box::new(Es256Verifier(key.try_get_as_bytes()?.to_vec()))),
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Ok(Box::new(Rs256Verifier {
                n: n.clone(),
                e: e.clone(),
            }))
        }
        _ => Err(ErrorKind::UnsupportedAlgorithm.into()),
    }
}

fn ec_components(
    pkcs8: &[u8],
    alg: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), JwtError> {
    if alg != Algorithm::ES256 {
        return Err(ErrorKind::UnsupportedAlgorithm.into());
    }
    let pair = key_pair(pkcs8)?;
    // An uncompressed SEC1 point: 0x04, x, y.
    let point = pair.public_key().as_ref();
    let (x, y) = point[1..].split_at(32);
    Ok((EllipticCurve::P256, x.to_vec(), y.to_vec()))
}

fn digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, JwtError> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils {
        ec_pub_components_from_private_key: ec_components,
        rsa_pub_components_from_private_key: rsa_components,
        compute_digest: digest,
        ..KeyUtils::new_unimplemented()
    },
};

/// Installs the provider (once per process; every use of `jsonwebtoken` goes through here).
pub(super) fn provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = PROVIDER.install_default();
    });
}

/// A new private key of `alg`, PKCS#8 DER.
pub(super) fn generate(alg: SigningAlg) -> Result<Vec<u8>, String> {
    match alg {
        SigningAlg::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map(|k| k.as_ref().to_vec())
                .map_err(|_| "key generation".to_string())
        }
        SigningAlg::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut RingRandom(SystemRandom::new()), 2048)
                .map_err(|e| e.to_string())?;
            Ok(key
                .to_pkcs8_der()
                .map_err(|e| e.to_string())?
                .as_bytes()
                .to_vec())
        }
    }
}

/// ring's random source (the operating system's), as the `rsa` crate asks for one.
struct RingRandom(SystemRandom);

impl rsa::rand_core::RngCore for RingRandom {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0
            .fill(dest)
            .expect("the operating system's random source");
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for RingRandom {}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::signature::Verifier;

    /// A key parsed once (and kept) still signs only with its own algorithm.
    #[test]
    fn a_kept_key_signs_only_with_its_own_algorithm() {
        provider();
        let pkcs8 = generate(SigningAlg::Es256).unwrap();
        let key = EncodingKey::from_ec_der(&pkcs8);
        for _ in 0..2 {
            let signer = signer(&Algorithm::ES256, &key).unwrap();
            assert_eq!(signer.algorithm(), Algorithm::ES256);
            let signature = signer.try_sign(b"message").unwrap();
            let public = key_pair(&pkcs8).unwrap().public_key().as_ref().to_vec();
            assert!(Es256Verifier(public).verify(b"message", &signature).is_ok());
        }
        assert!(signer(&Algorithm::RS256, &key).is_err());
        assert!(signer(&Algorithm::HS256, &key).is_err());
    }
}
