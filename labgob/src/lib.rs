//! labgob — the codec for RPC messages and persisted state.
//!
//! [`encode`] turns any serde value into compact bytes (the postcard format)
//! and [`decode`] turns them back. labrpc uses it to copy arguments and
//! replies across the simulated network; Raft uses it to persist its state.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Persistent { current_term: u64, voted_for: Option<usize>, log: Vec<String> }
//!
//! let state = Persistent { current_term: 3, voted_for: Some(1), log: vec!["x".into()] };
//! let bytes = labgob::encode(&state);
//! assert_eq!(labgob::decode::<Persistent>(&bytes).unwrap(), state);
//! ```
//!
//! Errors are meant for a human: they name the type being decoded and what
//! went wrong: the input ended early (often: decoding state that was never
//! saved), bytes were left over (the two sides use different types), or the
//! bytes are not a value of that type at all (with serde's own reason, such
//! as an enum's variant number out of range), and the structs and enums the
//! fault was found in. Decoding never hangs or overflows the stack, whatever
//! the bytes: nesting is limited to [`MAX_DEPTH`] levels, and the elements
//! of sequences and maps to what the input can hold (see [`decode`]).
//!
//! Like Go's labgob, it also warns (on stderr, never failing) about mistakes
//! that would otherwise go unnoticed. In debug builds it checks the first
//! values of each type that it encodes: the value must survive encode →
//! decode unchanged. A field marked `#[serde(skip)]` or a lossy hand-written
//! `Serialize` impl fails that check, and the warning names the type and
//! shows both versions. "Unchanged" is judged by the `Debug` rendering, with
//! the order of map entries ignored (a decoded `HashMap` iterates in another
//! order). [`warnings`] counts the warnings so far.

use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

mod checked;

pub use checked::{MAX_DEPTH, MAX_EMPTY_ELEMENTS};

/// Encodes `value`.
///
/// `T` must be a type that can be decoded (`DeserializeOwned`), not only
/// encoded: in debug builds the bytes are decoded back into a `T` and
/// compared with `value` (see the crate's documentation), and a reference,
/// a slice or a struct of references cannot be decoded into. To encode a
/// borrowed view of a value without copying it (`(term, &log[..])` for a
/// `(u64, Vec<Entry>)`), name the owned type with [`encode_as`].
///
/// # Panics
/// If serde cannot encode the value (for instance a custom `Serialize` that
/// reports an error); the message names the type.
pub fn encode<T: Serialize + DeserializeOwned + Debug>(value: &T) -> Vec<u8> {
    encode_as::<T, T>(value)
}

/// Encodes `value`, a borrowed view of an `Owned`, as the `Owned` would be
/// encoded: [`decode::<Owned>`](decode) reads the bytes back.
///
/// References, slices and `str` encode as what they point to, so a tuple
/// of references encodes as the tuple of values, `&[Entry]` as a
/// `Vec<Entry>`, `&str` as a `String`. The debug-build check of [`encode`]
/// decodes the bytes as an `Owned` and compares `Debug` renderings, which
/// for these are the same; a struct of references of your own renders
/// under its own name, so the check would warn about it: encode a tuple.
///
/// ```
/// let log = vec!["put x".to_string(), "put y".to_string()];
/// let bytes = labgob::encode_as::<(u64, Vec<String>), _>(&(7u64, &log[1..]));
/// let (term, tail) = labgob::decode::<(u64, Vec<String>)>(&bytes).unwrap();
/// assert_eq!((term, tail), (7, vec!["put y".to_string()]));
/// ```
///
/// # Panics
/// As [`encode`].
pub fn encode_as<Owned, T>(value: &T) -> Vec<u8>
where
    Owned: DeserializeOwned + Debug,
    T: Serialize + Debug + ?Sized,
{
    // Sizing first costs a walk over the value but saves the reallocations
    // (each a copy) of growing a buffer for a large one: a KV snapshot, a
    // long log.
    let size = postcard::experimental::serialized_size(value).unwrap_or(0);
    let bytes = postcard::to_extend(value, Vec::with_capacity(size)).unwrap_or_else(|e| {
        panic!(
            "labgob: cannot encode a {}: {e}",
            std::any::type_name::<T>()
        )
    });
    if cfg!(debug_assertions) {
        check_round_trip::<Owned, T>(value, &bytes);
    }
    bytes
}

/// Decodes a `T` from `bytes`, which must hold exactly one encoded `T`.
///
/// Whatever the bytes, it returns: a value may nest at most [`MAX_DEPTH`]
/// deep (a recursive type would otherwise overflow the stack), and its
/// sequences and maps may hold at most one element per byte plus
/// [`MAX_EMPTY_ELEMENTS`] (a `Vec<()>` takes no bytes per element, so its
/// length prefix alone could ask for 2^64 of them).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let error = |kind, within| Error {
        type_name: std::any::type_name::<T>(),
        len: bytes.len(),
        kind,
        within,
    };
    let limits = checked::Limits::new(bytes.len());
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    let value = T::deserialize(checked::Checked::new(&mut deserializer, &limits));
    let value = limits
        .end(value)
        .map_err(|(kind, within)| error(kind, within))?;
    match deserializer.finalize() {
        Ok([]) => Ok(value),
        Ok(rest) => Err(error(ErrorKind::BytesLeftOver(rest.len()), Vec::new())),
        Err(e) => Err(error(ErrorKind::Invalid(e.to_string()), Vec::new())),
    }
}

/// How many warnings labgob has printed in this process.
pub fn warnings() -> usize {
    WARNINGS.load(Ordering::Relaxed)
}

/// Why [`decode`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    type_name: &'static str,
    len: usize,
    kind: ErrorKind,
    /// The structs and enums the error was found in, innermost first.
    within: Vec<String>,
}

/// What went wrong while decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes ended before a whole value was read.
    InputEndedEarly,
    /// A whole value was read, and this many bytes were left over.
    BytesLeftOver(usize),
    /// The bytes do not hold a value of the type (the message says why).
    Invalid(String),
    /// The value nests deeper than `limit` (see [`MAX_DEPTH`]).
    NestedTooDeep { limit: usize },
    /// The sequences and maps hold more elements than the bytes could,
    /// even with `empty_allowed` that take no bytes (see
    /// [`MAX_EMPTY_ELEMENTS`]).
    TooManyElements { empty_allowed: usize },
}

impl Error {
    /// The name of the type that was being decoded.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The structs and enums the error was found in, innermost first (as
    /// `"enum Entry"`, `"struct Persistent"`); empty if it was not found
    /// inside one.
    pub fn within(&self) -> &[String] {
        &self.within
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ty, len) = (self.type_name, self.len);
        let within: String = self.within.iter().map(|w| format!(", in {w}")).collect();
        match &self.kind {
            ErrorKind::InputEndedEarly if len == 0 => write!(
                f,
                "labgob: cannot decode a {ty} from 0 bytes (nothing was saved yet? \
                 check for empty state before decoding it)"
            ),
            ErrorKind::InputEndedEarly => write!(
                f,
                "labgob: cannot decode a {ty}: the input ({len} bytes) ended early{within} \
                 (were the bytes encoded from another type?)"
            ),
            ErrorKind::BytesLeftOver(n) => write!(
                f,
                "labgob: decoded a {ty} from {len} bytes but {n} were left over \
                 (the bytes were probably encoded from another type)"
            ),
            ErrorKind::Invalid(why) => write!(
                f,
                "labgob: the {len} bytes do not hold a {ty}: {why}{within} \
                 (were they encoded from another type?)"
            ),
            ErrorKind::NestedTooDeep { limit } => write!(
                f,
                "labgob: the {len} bytes do not hold a {ty}: they nest more than {limit} \
                 levels deep{within} (a recursive type, or bytes of another type?)"
            ),
            ErrorKind::TooManyElements { empty_allowed } => write!(
                f,
                "labgob: the {len} bytes do not hold a {ty}: its sequences and maps would \
                 have more elements than the bytes can hold{within} (at most one per byte, \
                 and {empty_allowed} that take no bytes, like `()`; were they encoded from \
                 another type?)"
            ),
        }
    }
}

impl std::error::Error for Error {}

static WARNINGS: AtomicUsize = AtomicUsize::new(0);

/// How many values of each type the round-trip check looks at. One is not
/// enough: a skipped field often holds its default in the first value.
const CHECKS_PER_TYPE: usize = 8;

/// Whether `value`, encoded as `bytes`, decodes as an `Owned` that looks
/// the same; warns if not.
fn check_round_trip<Owned, T>(value: &T, bytes: &[u8])
where
    Owned: DeserializeOwned + Debug,
    T: Debug + ?Sized,
{
    if !should_check(std::any::type_name::<T>()) {
        return;
    }
    let before = format!("{value:#?}");
    let after = match decode::<Owned>(bytes) {
        Ok(decoded) => format!("{decoded:#?}"),
        Err(e) => format!("(does not decode: {e})"),
    };
    if before != after && !same_up_to_order(&before, &after) {
        stop_checking(std::any::type_name::<T>());
        warn(&format!(
            "labgob warning: a {} changes when encoded and decoded again; \
             a #[serde(skip)] field or a hand-written Serialize loses data.\n\
             before encoding: {}\nafter decoding:  {}",
            std::any::type_name::<T>(),
            shorten(&before),
            shorten(&after),
        ));
    }
}

/// How many values of each type were checked; a type that was warned
/// about counts as fully checked (one warning per type is enough).
///
/// A std lock, not labrt's: it is held for a few instructions, never across
/// a labrt call, and it must not be a scheduling point of the simulation,
/// or a test's schedule would depend on the tests that encoded before it in
/// the process. (A static labrt lock is also shared by the simulated worlds
/// of tests running at once on other OS threads.)
#[allow(clippy::disallowed_types)]
static CHECKED: std::sync::Mutex<BTreeMap<&'static str, usize>> =
    std::sync::Mutex::new(BTreeMap::new());

/// The counts; a panic elsewhere while they were locked leaves them usable.
#[allow(clippy::disallowed_types)]
fn checked() -> std::sync::MutexGuard<'static, BTreeMap<&'static str, usize>> {
    CHECKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts one more check of `type_name`; false once it had its share.
fn should_check(type_name: &'static str) -> bool {
    let mut checked = checked();
    let n = checked.entry(type_name).or_insert(0);
    *n += 1;
    *n <= CHECKS_PER_TYPE
}

fn stop_checking(type_name: &'static str) {
    checked().insert(type_name, CHECKS_PER_TYPE);
}

/// Debug renderings that differ only in the order of map entries have the
/// same characters, line by line in any order.
fn same_up_to_order(a: &str, b: &str) -> bool {
    fn sorted(s: &str) -> Vec<&str> {
        let mut lines: Vec<&str> = s.lines().map(|l| l.trim_end_matches(',')).collect();
        lines.sort_unstable();
        lines
    }
    sorted(a) == sorted(b)
}

fn shorten(s: &str) -> String {
    const MAX: usize = 600;
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{} …", &flat[..cut]),
        None => flat,
    }
}

/// Prints on the real stderr, past cargo's output capture: a warning hidden
/// in the output of a passing test would help nobody.
fn warn(message: &str) {
    if WARNINGS.fetch_add(1, Ordering::Relaxed) < 20 {
        let _ = writeln!(std::io::stderr().lock(), "{message}");
    }
}
