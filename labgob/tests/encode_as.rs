//! `encode_as`: a borrowed view encoded as its owned type, with the debug
//! round-trip check kept. One test, because the warning count is per
//! process.

use labgob::{decode, encode, encode_as, warnings};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Entry {
    term: u64,
    command: String,
}

#[test]
fn a_view_encodes_as_its_owned_type_and_is_still_checked() {
    let log: Vec<Entry> = (1..=3)
        .map(|term| Entry {
            term,
            command: format!("put {term}"),
        })
        .collect();
    let before = warnings();
    // The persistent state without copying the log: the same bytes as the
    // owned tuple, and no warning.
    let view = (5u64, Some(2usize), &log[1..]);
    let bytes = encode_as::<(u64, Option<usize>, Vec<Entry>), _>(&view);
    assert_eq!(bytes, encode(&(5u64, Some(2usize), log[1..].to_vec())));
    let (term, voted_for, tail) = decode::<(u64, Option<usize>, Vec<Entry>)>(&bytes).unwrap();
    assert_eq!((term, voted_for, &tail[..]), view);
    assert_eq!(encode_as::<String, str>("x"), encode(&"x".to_string()));
    assert_eq!(warnings(), before, "a warning for a faithful view");
    // Named as the wrong owned type, the view does not survive: warned.
    encode_as::<String, [u8]>(&[1, 2]);
    assert_eq!(
        warnings(),
        before + 1,
        "no warning for the wrong owned type"
    );
}
