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
//! than cloning it first. `save_taking` takes the state's bytes instead
//! of copying them.
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
    raft_state: Vec<u8>,
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
            overwrite(&mut saved.raft_state, raft_state.as_ref());
            overwrite(&mut saved.snapshot, snapshot.as_ref());
        }
        if let Some(watcher) = self.0.watcher.get() {
            watcher();
        }
    }

    /// [`save`](Self::save) without copying the state: takes the bytes of
    /// `raft_state` and leaves in it, emptied, the buffer of the state they
    /// replace. A Raft peer that encodes into the same `Vec` every time
    /// then neither copies its whole log a second time nor allocates: with
    /// a log that grows with every save, that second copy was a sixth of
    /// the CPU of a KV test. What a crash keeps is the same as with `save`:
    /// exactly the bytes last saved.
    pub fn save_taking(&self, raft_state: &mut Vec<u8>, snapshot: impl AsRef<[u8]>) {
        {
            let mut saved = self.0.saved.lock();
            std::mem::swap(&mut saved.raft_state, raft_state);
            overwrite(&mut saved.snapshot, snapshot.as_ref());
        }
        raft_state.clear();
        if let Some(watcher) = self.0.watcher.get() {
            watcher();
        }
    }

    /// The Raft state last saved (empty if none).
    pub fn read_raft_state(&self) -> Vec<u8> {
        self.0.saved.lock().raft_state.clone()
    }

    /// The snapshot last saved (empty if none).
    pub fn read_snapshot(&self) -> Vec<u8> {
        self.0.saved.lock().snapshot.clone()
    }

    /// Size in bytes of the Raft state last saved.
    pub fn raft_state_size(&self) -> usize {
        self.0.saved.lock().raft_state.len()
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
    use super::{Arc, Persister};

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
    fn save_taking_takes_the_bytes_and_hands_back_the_old_buffer() {
        let p = Persister::new();
        let mut buffer = vec![1; 100];
        p.save_taking(&mut buffer, [2u8; 5]);
        assert!(buffer.is_empty());
        buffer.extend_from_slice(&[3, 3]);
        assert_eq!(
            p.read_raft_state(),
            [1; 100],
            "the buffer is no longer the saved state"
        );
        p.save_taking(&mut buffer, []);
        assert_eq!(p.read_raft_state(), [3, 3]);
        assert_eq!((p.raft_state_size(), p.snapshot_size()), (2, 0));
        assert!(
            buffer.capacity() >= 100,
            "the first state's buffer comes back"
        );
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
