//! Which time driver is current on this thread.
//!
//! The facade registers [`Handle::context_provider`](crate::driver::Handle::context_provider)
//! with core, which enters it on every thread of the runtime (workers, the monitor, blocking
//! threads, `block_on`, `Handle::enter`). `sleep`, `Instant::now` and the test-clock functions
//! look the driver up here.

use crate::driver::Handle;
use runtime_core::context::ContextGuard;
use std::cell::RefCell;

std::thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Restores the previous handle when dropped.
struct Entered {
    previous: Option<Handle>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // During thread teardown the slot may be gone already; nothing to restore then.
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = previous);
    }
}

/// Makes `handle` current on this thread until the returned guard drops.
pub(crate) fn enter(handle: Handle) -> ContextGuard {
    let previous = CURRENT.with(|current| current.borrow_mut().replace(handle));
    Box::new(Entered { previous })
}

/// Runs `f` with the current handle, if any (`None` also during thread teardown).
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    let mut f = Some(f);
    CURRENT
        .try_with(|current| (f.take().expect("called once"))(current.borrow().as_ref()))
        .unwrap_or_else(|_| (f.take().expect("called once"))(None))
}

/// The current handle.
///
/// # Panics
///
/// Outside a runtime, or in a runtime built without the time driver, with a message naming
/// `function` and the fix.
#[track_caller]
pub(crate) fn current(function: &str) -> Handle {
    if let Some(handle) = with_current(|h| h.cloned()) {
        return handle;
    }
    if runtime_core::scheduler::Handle::try_current().is_ok() {
        panic!(
            "{function} needs the time driver, but the current runtime was built without it: \
             call Builder::enable_time() or Builder::enable_all() when building the runtime"
        );
    }
    panic!(
        "{function} called outside of a runtime: call it from within Runtime::block_on, a \
         spawned task or a #[runtime::main] / #[runtime::test] function, or enter a runtime \
         first with Runtime::enter() / Handle::enter()"
    );
}
