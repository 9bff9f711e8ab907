//! Bytes made to hurt the decoder: whatever they say, decode returns an
//! error that names the type, at once, without looping for ever or
//! overflowing the stack.

use std::collections::BTreeMap;

use labgob::{ErrorKind, MAX_DEPTH, MAX_EMPTY_ELEMENTS, decode, encode};
use serde::{Deserialize, Serialize};

/// postcard's varint of `n`.
fn varint(mut n: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    while n >= 0x80 {
        bytes.push(n as u8 | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
    bytes
}

/// Decodes `bytes` as a `T`, wants an error, and wants it within 100 ms
/// (it takes about one; the bound leaves room for a loaded machine).
// The real clock: how long a decode takes is the point.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn fails_fast<T: serde::de::DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) -> labgob::Error {
    let start = std::time::Instant::now();
    let err = decode::<T>(bytes).expect_err("crafted bytes decode");
    let took = start.elapsed();
    assert!(took.as_millis() < 100, "{took:?} to fail on {bytes:?}");
    assert_eq!(err.type_name(), std::any::type_name::<T>());
    assert!(
        err.to_string().contains(std::any::type_name::<T>()),
        "{err}"
    );
    err
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct NoFields {}

#[test]
fn a_huge_count_of_elements_that_take_no_bytes_is_an_error_at_once() {
    let huge = varint(u64::MAX);
    let too_many = ErrorKind::TooManyElements {
        empty_allowed: MAX_EMPTY_ELEMENTS,
    };
    assert_eq!(*fails_fast::<Vec<()>>(&huge).kind(), too_many);
    assert_eq!(*fails_fast::<Vec<NoFields>>(&huge).kind(), too_many);
    assert_eq!(*fails_fast::<BTreeMap<(), ()>>(&huge).kind(), too_many);
    // The budget is for the whole value, not for each sequence in it.
    let nested = [varint(1_000), varint(1_000).repeat(1_000)].concat();
    assert_eq!(*fails_fast::<Vec<Vec<()>>>(&nested).kind(), too_many);
    let err = fails_fast::<Vec<()>>(&huge);
    assert!(err.to_string().contains("like `()`"), "{err}");
}

#[test]
fn elements_that_take_no_bytes_decode_up_to_the_limit() {
    let allowed = vec![(); MAX_EMPTY_ELEMENTS];
    assert_eq!(decode::<Vec<()>>(&encode(&allowed)).unwrap(), allowed);
    fails_fast::<Vec<()>>(&varint(MAX_EMPTY_ELEMENTS as u64 + 4));
    // Elements that take bytes count one a byte: a long log decodes.
    let log: Vec<Vec<u8>> = (0..100_000u32).map(|i| vec![i as u8]).collect();
    assert_eq!(decode::<Vec<Vec<u8>>>(&encode(&log)).unwrap(), log);
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Nest {
    End,
    More(Box<Nest>),
}

/// `Nest::More` `levels` times, then `Nest::End`.
fn nest_bytes(levels: usize) -> Vec<u8> {
    let mut bytes = vec![1u8; levels];
    bytes.push(0);
    bytes
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let err = fails_fast::<Nest>(&nest_bytes(1_000_000));
    assert_eq!(*err.kind(), ErrorKind::NestedTooDeep { limit: MAX_DEPTH });
    assert_eq!(err.within(), ["enum Nest"], "named once, not once a level");
    assert!(
        err.to_string().contains("nest more than 128 levels deep"),
        "{err}"
    );
}

#[test]
// A thread with a small stack, to show that the limit is far from it.
#[allow(clippy::disallowed_methods)]
fn nesting_up_to_the_limit_decodes_on_a_small_stack() {
    let deepest = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            // Each `More` is a level, and so is the `End`.
            let value = decode::<Nest>(&nest_bytes(MAX_DEPTH - 1)).unwrap();
            let err = decode::<Nest>(&nest_bytes(MAX_DEPTH)).unwrap_err();
            (value, err)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(deepest.0, decode::<Nest>(&encode(&deepest.0)).unwrap());
    assert_eq!(
        *deepest.1.kind(),
        ErrorKind::NestedTooDeep { limit: MAX_DEPTH }
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Entry {
    Noop,
    Put { key: String, value: String },
    Count(i64),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Log {
    entries: Vec<(u64, Entry)>,
}

#[test]
fn an_enum_variant_out_of_range_says_so_and_names_the_enum() {
    let err = fails_fast::<Entry>(&[7]);
    let ErrorKind::Invalid(why) = err.kind() else {
        panic!("{err:?}")
    };
    assert!(why.contains("variant index 0 <= i < 3"), "{err}");
    assert!(
        !err.to_string().contains("Serde Deserialization Error"),
        "{err}"
    );
    // Deep inside a value, the error names the enum and what holds it.
    let err = fails_fast::<Log>(&[1, 5, 9]);
    assert_eq!(err.within(), ["enum Entry", "struct Log"]);
    assert!(
        err.to_string().contains(
            "integer `9`, expected variant index 0 <= i < 3, in enum Entry, in struct Log"
        ),
        "{err}"
    );
}

#[test]
fn serde_messages_reach_the_error() {
    // A wrong length from a type's own Deserialize, which postcard's error
    // type has no room for.
    let err = fails_fast::<std::num::NonZeroU32>(&[0]);
    assert!(err.to_string().contains("nonzero"), "{err}");
}

/// Bytes that hold another labgob encoding, decoded by its own
/// `Deserialize` (a decode inside a decode).
#[derive(Debug)]
struct Envelope(#[allow(dead_code)] Entry);

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        decode::<Entry>(&bytes)
            .map(Envelope)
            .map_err(serde::de::Error::custom)
    }
}

#[test]
fn a_decode_inside_a_decode_keeps_each_error_its_own() {
    // The inner decode fails: the outer error carries its message.
    let err = fails_fast::<(Envelope, u8)>(&[1, 7, 0]);
    assert!(
        err.to_string().contains("variant index 0 <= i < 3"),
        "{err}"
    );
    // The inner decode succeeds, then the outer fails on its own: nothing
    // of the inner's is left to take its place.
    let err = fails_fast::<(Envelope, bool)>(&[1, 0, 9]);
    assert!(err.to_string().contains("bool"), "{err}");
}
