//! The secret of an API key: `atr_live_` or `atr_test_`, then 16 characters
//! naming the key, 43 random ones (256 bits) and a 6-character CRC32
//! checksum of everything before it, all base62. A typo fails the checksum
//! before any lookup, and secret scanners recognise the shape.

use rand_core::{OsRng, RngCore};

use crate::tokens::hash_token;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LOOKUP_LEN: usize = 16;
const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
/// The characters of the secret shown as the key's `prefix`.
const SHOWN_LOOKUP: usize = 8;

/// Which environment a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Live,
    Test,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Live => "live",
            Environment::Test => "test",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "live" => Some(Environment::Live),
            "test" => Some(Environment::Test),
            _ => None,
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Environment::Live => "atr_live_",
            Environment::Test => "atr_test_",
        }
    }
}

/// A freshly made secret and what is stored of it.
pub struct NewSecret {
    pub secret: String,
    pub lookup: String,
    pub prefix: String,
    pub hash: String,
}

/// A secret whose shape and checksum are right.
#[derive(Debug, PartialEq)]
pub struct Presented<'a> {
    pub environment: Environment,
    pub lookup: &'a str,
    pub secret: &'a str,
}

/// Whether a bearer token is an API key secret (rather than a JWT).
pub fn looks_like_key(token: &str) -> bool {
    token.starts_with("atr_")
}

fn random_chars(n: usize) -> String {
    // Rejection sampling keeps every character equally likely.
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        OsRng.fill_bytes(&mut buf);
        for byte in buf {
            if out.len() < n && byte < 248 {
                out.push(ALPHABET[(byte % 62) as usize] as char);
            }
        }
    }
    out
}

fn base62(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// CRC-32 (IEEE), bit by bit: secrets are short.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Makes a new secret; with `lookup`, for an existing key (a rotation).
pub fn generate(environment: Environment, lookup: Option<&str>) -> NewSecret {
    let lookup = lookup.map_or_else(|| random_chars(LOOKUP_LEN), str::to_owned);
    let body = format!(
        "{}{lookup}{}",
        environment.marker(),
        random_chars(RANDOM_LEN)
    );
    let secret = format!(
        "{body}{}",
        base62(u64::from(crc32(body.as_bytes())), CHECKSUM_LEN)
    );
    NewSecret {
        prefix: format!("{}{}", environment.marker(), &lookup[..SHOWN_LOOKUP]),
        hash: hash_token(&secret),
        lookup,
        secret,
    }
}

/// Checks a presented secret's shape and checksum, without any lookup.
pub fn parse(secret: &str) -> Option<Presented<'_>> {
    let environment = [Environment::Live, Environment::Test]
        .into_iter()
        .find(|env| secret.starts_with(env.marker()))?;
    let rest = &secret[environment.marker().len()..];
    if rest.len() != LOOKUP_LEN + RANDOM_LEN + CHECKSUM_LEN
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    let (body, checksum) = secret.split_at(secret.len() - CHECKSUM_LEN);
    if base62(u64::from(crc32(body.as_bytes())), CHECKSUM_LEN) != checksum {
        return None;
    }
    Some(Presented {
        environment,
        lookup: &rest[..LOOKUP_LEN],
        secret,
    })
}

/// Compares two stored hashes in time independent of where they differ.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn secrets_parse_and_typos_do_not() {
        let made = generate(Environment::Live, None);
        assert_eq!(made.secret.len(), 9 + 16 + 43 + 6);
        let parsed = parse(&made.secret).expect("parses");
        assert_eq!(parsed.lookup, made.lookup);
        assert!(made.secret.starts_with(&made.prefix));
        let mut typo = made.secret.clone().into_bytes();
        typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
        assert_eq!(parse(std::str::from_utf8(&typo).expect("ascii")), None);
        assert_eq!(parse("atr_live_short"), None);
        let rotated = generate(Environment::Test, Some(&made.lookup));
        assert_eq!(parse(&rotated.secret).expect("parses").lookup, made.lookup);
        assert_ne!(rotated.hash, made.hash);
    }
}
