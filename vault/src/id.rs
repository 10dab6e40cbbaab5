//! Time-ordered random identifiers (ULID layout: 48 bits of milliseconds, 80 random bits,
//! written as 26 characters of Crockford base32).

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use ring::rand::{SecureRandom, SystemRandom};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 26;

/// An identifier of a record, blob or other vault object.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl TryFrom<String> for Id {
    type Error = BadId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0
    }
}

impl Id {
    /// A new id stamped with the current time. Within one process, ids are strictly increasing
    /// (monotonic ULIDs: an id made in the same millisecond as the last one is the last plus 1),
    /// so records added in one go keep their order.
    pub fn generate() -> Self {
        static LAST: Mutex<u128> = Mutex::new(0);
        let millis = chrono::Utc::now().timestamp_millis().max(0) as u128 & ((1 << 48) - 1);
        let random = random_bits();
        let mut value = millis << 80;
        for (i, byte) in random.iter().enumerate() {
            value |= u128::from(*byte) << (8 * (9 - i));
        }
        {
            let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if value <= *last {
                value = last.wrapping_add(1);
            }
            *last = value;
        }
        let mut out = [0u8; LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (LEN - 1 - i);
            *slot = ALPHABET[((value >> shift) & 31) as usize];
        }
        Self(String::from_utf8_lossy(&out).into_owned())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// Why a string is not an id.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a vault id (26 characters of Crockford base32)")]
pub struct BadId(String);

impl FromStr for Id {
    type Err = BadId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let valid = upper.len() == LEN
            && upper.bytes().all(|b| ALPHABET.contains(&b))
            // The first character carries only 3 bits of a 128-bit value.
            && upper.as_bytes()[0] <= b'7';
        if valid {
            Ok(Self(upper))
        } else {
            Err(BadId(s.to_owned()))
        }
    }
}

/// 80 random bits for an id, from the operating system's random source, read 4 KiB at a time
/// (ids are made by the million in an import, and they are not secrets: one system call each
/// showed in profiles). The OS random source does not fail on supported platforms; if it ever
/// did, the monotonic counter in [`Id::generate`] would still keep ids unique within the
/// process.
fn random_bits() -> [u8; 10] {
    const POOL: usize = 4096;
    thread_local! {
        static BUFFER: std::cell::RefCell<(Box<[u8; POOL]>, usize)> =
            std::cell::RefCell::new((Box::new([0u8; POOL]), POOL));
    }
    BUFFER.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (pool, used) = &mut *guard;
        if *used + 10 > POOL {
            let _ = SystemRandom::new().fill(&mut pool[..]);
            *used = 0;
        }
        let mut out = [0u8; 10];
        out.copy_from_slice(&pool[*used..*used + 10]);
        // Each byte is handed out once.
        pool[*used..*used + 10].fill(0);
        *used += 10;
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_a_burst_are_strictly_increasing() {
        let ids: Vec<Id> = (0..10_000).map(|_| Id::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ids_parse_back_and_sort_by_time() {
        let a = Id::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = Id::generate();
        assert!(a < b);
        assert_eq!(a.as_str().parse::<Id>().unwrap(), a);
        assert_eq!(a.as_str().to_lowercase().parse::<Id>().unwrap(), a);
        assert!("not-an-id".parse::<Id>().is_err());
        assert!("ZZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<Id>().is_err());
    }
}
