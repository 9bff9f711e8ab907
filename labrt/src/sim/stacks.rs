//! The stacks of simulated threads, kept for reuse.
//!
//! Each simulated thread is a coroutine on a stack of its own, reserved
//! rather than committed: only the pages a thread touches cost memory. A
//! new stack costs a system call and page faults, and lab tests start
//! threads by the thousand (a thread per RPC), so the stack of a finished
//! or abandoned thread goes back to a pool that every world of the process
//! shares ([`take`], [`recycle`]). Which stack a thread gets never shows in
//! a run: nothing points into a simulated thread's stack from outside.

use corosensei::stack::DefaultStack;
use parking_lot::Mutex;

/// The stack of each simulated thread.
const STACK_SIZE: usize = 1 << 20;

/// At most this many stacks are kept for reuse.
const KEPT_STACKS: usize = 1024;

/// Stacks of finished threads, for the next ones (of any test).
static STACKS: Mutex<Vec<DefaultStack>> = Mutex::new(Vec::new());

/// A stack for a new thread: a kept one, or a new one.
pub(super) fn take() -> DefaultStack {
    STACKS.lock().pop().unwrap_or_else(|| {
        DefaultStack::new(STACK_SIZE)
            .unwrap_or_else(|e| panic!("labrt: cannot allocate a thread stack: {e}"))
    })
}

/// Keeps a finished thread's stack for the next thread.
pub(super) fn recycle(stack: DefaultStack) {
    let mut stacks = STACKS.lock();
    if stacks.len() < KEPT_STACKS {
        stacks.push(stack);
    }
}
