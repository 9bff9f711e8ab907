//! `ChunkedBytes`: a byte buffer that grows at its end, held so that saving
//! it again costs what was added since, not its length.
//!
//! The bytes are sealed chunks, then an open tail. Once the tail reaches
//! [`CHUNK`](ChunkedBytes::CHUNK) bytes it is sealed: moved into an
//! `Arc<[u8]>` that nobody changes again. A clone shares the sealed chunks
//! and copies only the tail, so a Raft log encoded into one and saved after
//! every append copies at most a chunk per save, however long the log. The
//! sharing is safe because sealed bytes are immutable: truncating below a
//! sealed chunk drops the buffer's own reference to it (and copies the part
//! kept back into the tail), so a saved copy still holds the old bytes.

use std::fmt;

use labrt::sync::Arc;

/// Bytes appended at the end and truncated from it, cheap to clone.
#[derive(Default)]
pub struct ChunkedBytes {
    /// Immutable, shared with every clone; each at least `CHUNK` bytes.
    sealed: Vec<Arc<[u8]>>,
    /// The sum of the sealed chunks' lengths.
    sealed_len: usize,
    /// The bytes after the sealed chunks, fewer than `CHUNK` between calls.
    tail: Vec<u8>,
}

impl ChunkedBytes {
    /// The size at which the tail is sealed. A clone copies up to this many
    /// bytes and one pointer per sealed chunk: 16 KiB keeps both small for
    /// logs of a few megabytes (lab 3A's), about a microsecond each.
    pub const CHUNK: usize = 16 * 1024;

    pub fn new() -> ChunkedBytes {
        ChunkedBytes::default()
    }

    pub fn len(&self) -> usize {
        self.sealed_len + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        if self.tail.len() >= Self::CHUNK {
            self.sealed_len += self.tail.len();
            self.sealed.push(Arc::from(self.tail.as_slice()));
            self.tail.clear();
        }
    }

    /// Keeps the first `len` bytes (all of them if there are fewer).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.sealed_len {
            self.tail.truncate(len - self.sealed_len);
            return;
        }
        self.tail.clear();
        while self.sealed_len > len {
            let chunk = self.sealed.pop().expect("sealed_len counts the chunks");
            self.sealed_len -= chunk.len();
            // The chunk that holds the new end: what is kept of it becomes
            // the tail (a copy: the chunk itself may be in a saved state).
            if self.sealed_len < len {
                self.tail.extend_from_slice(&chunk[..len - self.sealed_len]);
            }
        }
    }

    pub fn clear(&mut self) {
        self.sealed.clear();
        self.sealed_len = 0;
        self.tail.clear();
    }

    /// Appends all the bytes, in order, to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        for chunk in &self.sealed {
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(&self.tail);
    }

    /// All the bytes, in one `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len());
        self.append_to(&mut bytes);
        bytes
    }
}

impl Clone for ChunkedBytes {
    fn clone(&self) -> ChunkedBytes {
        ChunkedBytes {
            sealed: self.sealed.clone(),
            sealed_len: self.sealed_len,
            tail: self.tail.clone(),
        }
    }

    /// What a save does: reuses this buffer's memory, and keeps the chunks
    /// it shares with `source` already (the same `Arc`s: a log saved again
    /// shares all but its newest chunks with the last save) without
    /// touching their counts.
    fn clone_from(&mut self, source: &ChunkedBytes) {
        let shared = (self.sealed.iter().zip(&source.sealed))
            .take_while(|(mine, theirs)| Arc::ptr_eq(mine, theirs))
            .count();
        self.sealed.truncate(shared);
        self.sealed.extend_from_slice(&source.sealed[shared..]);
        self.sealed_len = source.sealed_len;
        self.tail.clone_from(&source.tail);
    }
}

impl fmt::Debug for ChunkedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedBytes")
            .field("len", &self.len())
            .field("sealed_chunks", &self.sealed.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::ChunkedBytes;

    const CHUNK: usize = ChunkedBytes::CHUNK;

    /// Runs `steps` on a `ChunkedBytes` and on a plain `Vec` side by side,
    /// checking after each that they hold the same bytes, and that a clone
    /// taken before the step still holds the bytes of then.
    fn check(steps: &[(&str, usize)]) {
        let mut chunked = ChunkedBytes::new();
        let mut plain = Vec::new();
        let mut clone = ChunkedBytes::new();
        let mut next = 0u8;
        for &(step, n) in steps {
            clone.clone_from(&chunked);
            let before = plain.clone();
            match step {
                "push" => {
                    let bytes: Vec<u8> = (0..n)
                        .map(|_| {
                            next = next.wrapping_add(1);
                            next
                        })
                        .collect();
                    chunked.extend_from_slice(&bytes);
                    plain.extend_from_slice(&bytes);
                }
                "truncate" => {
                    chunked.truncate(n);
                    plain.truncate(n);
                }
                "clear" => {
                    chunked.clear();
                    plain.clear();
                }
                _ => unreachable!(),
            }
            assert_eq!(chunked.len(), plain.len(), "after {step} {n}");
            assert_eq!(chunked.to_vec(), plain, "after {step} {n}");
            assert_eq!(clone.to_vec(), before, "a clone, after {step} {n}");
            assert_eq!(chunked.clone().to_vec(), plain);
        }
    }

    #[test]
    fn holds_what_a_vec_would_and_clones_never_change() {
        check(&[
            ("push", 10),
            ("push", CHUNK),
            ("push", 3 * CHUNK + 5),
            ("push", 1),
            ("truncate", 10 * CHUNK),
            ("truncate", 2 * CHUNK),
            ("push", 7),
            ("truncate", CHUNK + 20),
            ("push", CHUNK - 1),
            ("push", 1),
            ("truncate", CHUNK + 10),
            ("truncate", 5),
            ("push", 2 * CHUNK),
            ("clear", 0),
            ("push", 3),
            ("truncate", 0),
            ("push", CHUNK),
        ]);
    }

    #[test]
    fn many_small_appends_seal_chunks_and_a_save_shares_them() {
        let mut chunked = ChunkedBytes::new();
        for i in 0..100_000u32 {
            chunked.extend_from_slice(&i.to_le_bytes());
        }
        assert_eq!(chunked.len(), 400_000);
        assert!(chunked.tail.len() < CHUNK);
        assert!(chunked.sealed.len() >= 400_000 / CHUNK - 1);
        let mut saved = ChunkedBytes::new();
        saved.clone_from(&chunked);
        chunked.extend_from_slice(&[1; CHUNK]);
        saved.clone_from(&chunked);
        assert!(
            saved
                .sealed
                .iter()
                .zip(&chunked.sealed)
                .all(|(a, b)| super::Arc::ptr_eq(a, b))
        );
        assert_eq!(saved.to_vec(), chunked.to_vec());
    }
}
