//! persister — where a Raft peer keeps what must survive a crash: its
//! state and its snapshot.
//!
//! The tester hands each peer a `Persister`. When it "crashes" a peer it
//! keeps a copy of what was last saved and gives the restarted peer a new
//! `Persister` holding it, so only what you `save` survives. Save the
//! state and the snapshot together, in one call: a crash between two calls
//! would leave them out of step.
//!
//! A `Persister` is a handle: clones share the same storage. `copy` makes an
//! independent one. `save` copies the bytes it is given, like Go's, so it
//! takes a `Vec` or a borrowed slice alike: pass `&self.snapshot` rather
//! than cloning it first.
//!
//! Students need nothing else. `save_chunked` is the reference Raft's
//! faster path to the same result: it saves a state kept as
//! [`ChunkedBytes`], so that a save costs what changed since the last one
//! rather than the whole log.
//!
//! Lab code names it `raft::Persister` (the `raft` crate re-exports it). It
//! lives in a crate of its own, outside the student's directories, because
//! the testers trust it: they read `raft_state_size()` and
//! `snapshot_size()` to check that logs are trimmed and that operations
//! reach Raft, and a grader builds every submission with this copy.
//!
//! ```
//! let p = persister::Persister::new();
//! let snapshot = vec![9];
//! p.save(vec![1, 2, 3], &snapshot);
//! assert_eq!(p.read_raft_state(), [1, 2, 3]);
//! assert_eq!(p.copy().raft_state_size(), 3);
//! ```

#![forbid(unsafe_code)]

mod chunked;

use std::sync::OnceLock;

pub use chunked::ChunkedBytes;

use labrt::sync::{Arc, Mutex};

/// A peer's stable storage (one per peer, shared with the tester).
#[derive(Clone, Default)]
pub struct Persister(Arc<Inner>);

#[derive(Default)]
struct Inner {
    saved: Mutex<Saved>,
    /// Told of every save (the tester's faults on cue; not in Go). Set once,
    /// before the peer starts, so reading it costs a save one atomic load.
    watcher: OnceLock<Watcher>,
}

type Watcher = Arc<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Persister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persister")
            .field("raft_state_size", &self.raft_state_size())
            .field("snapshot_size", &self.snapshot_size())
            .finish()
    }
}

#[derive(Clone, Default, Debug)]
struct Saved {
    /// The Raft state is these bytes, `head` then `body`: what `save` was
    /// given is all `head`; `save_chunked` copies a small head and shares
    /// the body's sealed chunks.
    head: Vec<u8>,
    body: ChunkedBytes,
    snapshot: Vec<u8>,
}

impl Persister {
    /// Empty storage.
    pub fn new() -> Persister {
        Persister::default()
    }

    /// A new, independent `Persister` holding what this one holds now.
    pub fn copy(&self) -> Persister {
        Persister(Arc::new(Inner {
            saved: Mutex::new(self.0.saved.lock().clone()),
            watcher: OnceLock::new(),
        }))
    }

    /// Calls `watcher` after every save from now on, on the saving thread
    /// (with whatever locks it holds). A copy has no watcher. For testers.
    ///
    /// # Panics
    /// If this persister (or a clone of it) already has a watcher.
    pub fn watch(&self, watcher: impl Fn() + Send + Sync + 'static) {
        if self.0.watcher.set(Arc::new(watcher)).is_err() {
            panic!("persister: watch: this persister already has a watcher");
        }
    }

    /// Replaces both the Raft state and the snapshot, atomically.
    pub fn save(&self, raft_state: impl AsRef<[u8]>, snapshot: impl AsRef<[u8]>) {
        {
            let mut saved = self.0.saved.lock();
            overwrite(&mut saved.head, raft_state.as_ref());
            saved.body.clear();
            overwrite(&mut saved.snapshot, snapshot.as_ref());
        }
        if let Some(watcher) = self.0.watcher.get() {
            watcher();
        }
    }

    /// [`save`](Self::save) of the state `head` followed by `body`,
    /// without copying all of `body`: the persister shares its sealed
    /// chunks, which never change, and copies only its open tail (see
    /// [`ChunkedBytes`]). The reference Raft keeps its log encoded this way
    /// and saves it with every new entry; copying it whole each time was
    /// most of the cost of a save in lab 3A, where a log grows to megabytes.
    /// What a crash keeps is the same as with `save`: exactly these bytes,
    /// whatever happens to `body` afterwards.
    pub fn save_chunked(&self, head: &[u8], body: &ChunkedBytes, snapshot: impl AsRef<[u8]>) {
        {
            let mut saved = self.0.saved.lock();
            overwrite(&mut saved.head, head);
            saved.body.clone_from(body);
            overwrite(&mut saved.snapshot, snapshot.as_ref());
        }
        if let Some(watcher) = self.0.watcher.get() {
            watcher();
        }
    }

    /// The Raft state last saved (empty if none).
    pub fn read_raft_state(&self) -> Vec<u8> {
        let saved = self.0.saved.lock();
        let mut state = Vec::with_capacity(saved.head.len() + saved.body.len());
        state.extend_from_slice(&saved.head);
        saved.body.append_to(&mut state);
        state
    }

    /// The snapshot last saved (empty if none).
    pub fn read_snapshot(&self) -> Vec<u8> {
        self.0.saved.lock().snapshot.clone()
    }

    /// Size in bytes of the Raft state last saved.
    pub fn raft_state_size(&self) -> usize {
        let saved = self.0.saved.lock();
        saved.head.len() + saved.body.len()
    }

    /// Size in bytes of the snapshot last saved.
    pub fn snapshot_size(&self) -> usize {
        self.0.saved.lock().snapshot.len()
    }
}

/// Copies `bytes` into `buffer`, reusing its memory. A Raft log grows with
/// every save, and a fresh allocation each time would be a fresh mapping of
/// pages from the OS each time: that was half the CPU of a KV test.
fn overwrite(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.clear();
    buffer.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::{Arc, ChunkedBytes, Persister};

    #[test]
    fn clones_share_and_copies_do_not() {
        let p = Persister::new();
        assert_eq!((p.raft_state_size(), p.snapshot_size()), (0, 0));
        let clone = p.clone();
        let copy = p.copy();
        p.save(b"state", b"snap");
        assert_eq!(clone.read_raft_state(), b"state");
        assert_eq!(clone.read_snapshot(), b"snap");
        assert_eq!((copy.raft_state_size(), copy.snapshot_size()), (0, 0));
    }

    #[test]
    fn a_watcher_hears_every_save_and_a_copy_has_none() {
        use labrt::sync::atomic::{AtomicUsize, Ordering};
        let p = Persister::new();
        let saves = Arc::new(AtomicUsize::new(0));
        let counter = saves.clone();
        p.watch(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        p.save([1u8], []);
        p.copy().save([2u8], []);
        p.clone().save([3u8], []);
        assert_eq!(saves.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn save_chunked_saves_head_then_body_and_a_crash_keeps_those_bytes() {
        let p = Persister::new();
        let mut body = ChunkedBytes::new();
        let long: Vec<u8> = (0..3 * ChunkedBytes::CHUNK).map(|i| i as u8).collect();
        body.extend_from_slice(&long);
        p.save_chunked(&[7, 7], &body, [9u8]);
        let mut saved = vec![7, 7];
        saved.extend_from_slice(&long);
        assert_eq!(p.raft_state_size(), saved.len());
        assert_eq!(p.read_raft_state(), saved);
        assert_eq!(p.read_snapshot(), [9]);

        // The peer goes on changing its buffer, sealed chunks and tail
        // alike; what was saved, and a crash's copy of it, do not change.
        let crashed = p.copy();
        body.truncate(ChunkedBytes::CHUNK / 2);
        body.extend_from_slice(&[1; 100]);
        assert_eq!(p.read_raft_state(), saved);
        assert_eq!(crashed.read_raft_state(), saved);

        // The next save is the new bytes; the copy keeps the old ones.
        p.save_chunked(&[8], &body, []);
        let mut now = vec![8];
        now.extend_from_slice(&long[..ChunkedBytes::CHUNK / 2]);
        now.extend_from_slice(&[1; 100]);
        assert_eq!(p.read_raft_state(), now);
        assert_eq!((p.raft_state_size(), p.snapshot_size()), (now.len(), 0));
        assert_eq!(crashed.read_raft_state(), saved);
        assert_eq!(crashed.raft_state_size(), saved.len());

        // A plain save replaces all of it.
        p.save([5u8], []);
        assert_eq!(p.read_raft_state(), [5]);
        assert_eq!(p.raft_state_size(), 1);
    }

    #[test]
    fn save_replaces_both() {
        let p = Persister::new();
        p.save(vec![1; 100], vec![2; 50]);
        p.save([3u8; 2], []);
        assert_eq!(p.read_raft_state(), [3, 3]);
        assert_eq!((p.raft_state_size(), p.snapshot_size()), (2, 0));
        assert!(p.read_snapshot().is_empty());
    }
}
