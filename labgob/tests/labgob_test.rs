//! In the spirit of MIT's labgob tests (TestGOB, TestCapital, TestDefault):
//! round trips, the warnings, and errors for bad input.

use std::collections::{BTreeMap, HashMap};

use labgob::{ErrorKind, decode, encode, warnings};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Entry {
    Noop,
    Put { key: String, value: String },
    Count(i64),
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Nested {
    term: u64,
    voted_for: Option<usize>,
    log: Vec<(u64, Entry)>,
    table: HashMap<String, Vec<i32>>,
    sorted: BTreeMap<i64, Option<String>>,
}

fn round_trip<T: Serialize + serde::de::DeserializeOwned + std::fmt::Debug + PartialEq>(v: T) {
    let bytes = encode(&v);
    assert_eq!(decode::<T>(&bytes).unwrap(), v);
}

#[test]
fn round_trips() {
    round_trip(0i64);
    round_trip(i64::MIN);
    round_trip(u64::MAX);
    round_trip(-7i32);
    round_trip(String::new());
    round_trip("hello, labgob".to_string());
    round_trip(vec![1u8, 2, 3]);
    round_trip(Some(Entry::Noop));
    round_trip(None::<Entry>);
    let mut table = HashMap::new();
    for i in 0..50 {
        table.insert(format!("k{i}"), vec![i, -i]);
    }
    round_trip(Nested {
        term: 9,
        voted_for: Some(2),
        log: vec![
            (1, Entry::Noop),
            (
                1,
                Entry::Put {
                    key: "a".into(),
                    value: "b".into(),
                },
            ),
            (2, Entry::Count(-3)),
        ],
        table,
        sorted: [(1, Some("x".to_string())), (-4, None)]
            .into_iter()
            .collect(),
    });
}

#[test]
fn sizes_are_compact() {
    // Close to gob's sizes, which the labrpc byte bounds were made for.
    assert_eq!(encode(&"x".repeat(288)).len(), 290);
    assert_eq!(encode(&"y".repeat(5000)).len(), 5002);
    assert!(encode(&3i64).len() <= 2);
}

#[derive(Serialize, Deserialize, Debug)]
struct LosesAField {
    kept: u64,
    #[serde(skip)]
    #[allow(dead_code)] // only Debug reads it, which is the point
    lost: u64,
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Fine {
    map: HashMap<u64, String>,
}

/// One test for every warning assertion, because the count is per process.
#[test]
fn warnings_fire_exactly_when_they_should() {
    let before = warnings();

    // Silent for values that survive, maps in any order included.
    let mut fine = Fine::default();
    for i in 0..100 {
        fine.map.insert(i, format!("v{i}"));
    }
    for _ in 0..3 {
        decode::<Fine>(&encode(&fine)).unwrap();
    }
    round_trip(Entry::Count(1));
    assert_eq!(
        warnings(),
        before,
        "a warning for values that survive encoding"
    );

    // A skipped field that holds its default goes unnoticed, as it loses nothing…
    encode(&LosesAField { kept: 1, lost: 0 });
    assert_eq!(warnings(), before);
    // …and is reported, once, as soon as it loses data.
    encode(&LosesAField { kept: 1, lost: 5 });
    assert_eq!(
        warnings(),
        before + 1,
        "no warning for a #[serde(skip)] field"
    );
    encode(&LosesAField { kept: 2, lost: 6 });
    assert_eq!(warnings(), before + 1, "one warning per type is enough");
}

#[test]
fn truncated_input_is_an_error_naming_the_type() {
    let bytes = encode(&(7u64, "some text".to_string()));
    for cut in 0..bytes.len() {
        let err = decode::<(u64, String)>(&bytes[..cut]).unwrap_err();
        assert_eq!(err.type_name(), "(u64, alloc::string::String)");
        assert_eq!(*err.kind(), ErrorKind::InputEndedEarly, "cut at {cut}");
    }
}

#[test]
fn empty_input_hints_at_unsaved_state() {
    let err = decode::<Nested>(&[]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("labgob_test::Nested from 0 bytes"), "{msg}");
    assert!(msg.contains("nothing was saved yet?"), "{msg}");
}

#[test]
fn left_over_bytes_mean_another_type() {
    let bytes = encode(&(1u64, 2u64, 3u64));
    let err = decode::<(u64, u64)>(&bytes).unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::BytesLeftOver(1));
    assert!(
        err.to_string().contains("encoded from another type"),
        "{err}"
    );
}

#[test]
fn invalid_bytes_are_an_error() {
    let err = decode::<bool>(&[7]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Invalid(_)), "{err:?}");
    let err = decode::<Entry>(&[9]).unwrap_err();
    assert!(err.to_string().contains("labgob_test::Entry"), "{err}");
}

/// Random bytes never make decode panic, whatever the type.
#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = decode::<Nested>(&bytes);
        let _ = decode::<Vec<Entry>>(&bytes);
        let _ = decode::<(String, Option<i64>)>(&bytes);
    }
}
