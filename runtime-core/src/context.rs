//! The per-thread runtime context: which runtime is entered on this thread, whether the thread
//! is driving a runtime (so a nested `block_on` is refused), which scheduler core is running
//! here, the current task's id and the cooperative budget.
//!
//! Everything lives in one thread-local struct so that a hot-path access is a single TLS
//! lookup. The facade's drivers (time, I/O) keep their own per-thread handles; they plug in as
//! [`ContextProvider`]s that core enters wherever it enters a runtime handle (workers,
//! blocking threads, `block_on`, `Handle::enter`).

use crate::coop::Budget;
use crate::scheduler;
use crate::task::Id;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

/// Enters a driver's per-thread context; dropping the returned guard leaves it.
///
/// The time and I/O layers register one each, so that `sleep` or `TcpStream::connect` find
/// their driver on every thread that runs the runtime's code.
///
/// # Examples
///
/// ```
/// use runtime_core::context::{ContextGuard, ContextProvider};
/// use std::sync::Arc;
///
/// let provider: ContextProvider = Arc::new(|| -> ContextGuard { Box::new(()) });
/// let guard = provider();
/// drop(guard);
/// ```
pub type ContextProvider = Arc<dyn Fn() -> ContextGuard + Send + Sync>;

/// What a [`ContextProvider`] returns: dropped when the thread leaves the runtime.
pub type ContextGuard = Box<dyn Any>;

struct Context {
    /// The handle set by `Handle::enter`, a worker, a blocking thread or `block_on`.
    current: RefCell<Option<scheduler::Handle>>,
    /// True while this thread drives a runtime (worker, `block_on`): blocking is not allowed.
    runtime_entered: Cell<bool>,
    /// The scheduler core running on this thread, if any (scoped by `set_scheduler`).
    scheduler: Cell<Option<NonNull<scheduler::Context>>>,
    budget: Cell<Budget>,
    current_task_id: Cell<Option<Id>>,
}

impl Context {
    const fn new() -> Context {
        Context {
            current: RefCell::new(None),
            runtime_entered: Cell::new(false),
            scheduler: Cell::new(None),
            budget: Cell::new(Budget::unconstrained()),
            current_task_id: Cell::new(None),
        }
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static CONTEXT: Context = const { Context::new() };
}

#[cfg(loom)]
loom::thread_local! {
    static CONTEXT: Context = Context::new();
}

/// Why there is no current runtime handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryCurrentError {
    /// No runtime is entered on this thread.
    NoContext,
    /// The thread-local context was already destroyed (called from a TLS destructor).
    ThreadLocalDestroyed,
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryCurrentError::NoContext => f.write_str(
                "there is no runtime entered on this thread: call this from within Runtime::block_on, \
                 a spawned task or a #[runtime::main] function, or enter a runtime with Runtime::enter / Handle::enter",
            ),
            TryCurrentError::ThreadLocalDestroyed => f.write_str(
                "the runtime context of this thread was already destroyed (called from a thread-local destructor)",
            ),
        }
    }
}

impl std::error::Error for TryCurrentError {}

/// Runs `f` with the current runtime handle.
pub(crate) fn with_current<R>(
    f: impl FnOnce(&scheduler::Handle) -> R,
) -> Result<R, TryCurrentError> {
    CONTEXT
        .try_with(|cx| cx.current.borrow().as_ref().map(f))
        .map_err(|_| TryCurrentError::ThreadLocalDestroyed)?
        .ok_or(TryCurrentError::NoContext)
}

/// Restores the previously entered handle when dropped; holds the providers' guards.
pub(crate) struct SetCurrentGuard {
    prev: Option<scheduler::Handle>,
    // Dropped before `prev` is restored (fields drop in declaration order after `drop`).
    providers: Vec<ContextGuard>,
}

/// Makes `handle` the current one on this thread and enters its context providers.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let prev = CONTEXT.with(|cx| cx.current.borrow_mut().replace(handle.clone()));
    let providers = handle.context_providers().iter().map(|p| p()).collect();
    SetCurrentGuard { prev, providers }
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        // Leave the drivers' contexts in reverse order of entry.
        while let Some(guard) = self.providers.pop() {
            drop(guard);
        }
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| *cx.current.borrow_mut() = prev);
    }
}

/// Marks this thread as driving a runtime until dropped.
pub(crate) struct EnterRuntimeGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

const NESTED_BLOCK_ON: &str = "Cannot start a runtime from within a runtime. This happens because a function \
(like `block_on`) attempted to block the current thread while the thread is being used to drive asynchronous \
tasks. Move the blocking call into `runtime::task::spawn_blocking`, wrap it in `runtime::task::block_in_place` \
(multi-thread runtime), or `.await` the future instead of blocking on it.";

/// Marks this thread as driving a runtime; panics if it already is (nested `block_on`).
#[track_caller]
pub(crate) fn enter_runtime() -> EnterRuntimeGuard {
    let already = CONTEXT.with(|cx| cx.runtime_entered.replace(true));
    if already {
        panic!("{NESTED_BLOCK_ON}");
    }
    EnterRuntimeGuard {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| cx.runtime_entered.set(false));
    }
}

/// Whether this thread is driving a runtime (a worker, or inside `block_on`).
pub(crate) fn is_runtime_entered() -> bool {
    CONTEXT
        .try_with(|cx| cx.runtime_entered.get())
        .unwrap_or(false)
}

/// Runs `f` as if this thread did not drive a runtime (used by `block_in_place`).
pub(crate) fn exit_runtime<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.runtime_entered.set(self.0));
        }
    }
    let was = CONTEXT.with(|cx| cx.runtime_entered.replace(false));
    let _reset = Reset(was);
    f()
}

/// Runs `f` with `sched` installed as this thread's scheduler context.
pub(crate) fn set_scheduler<R>(sched: &scheduler::Context, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<NonNull<scheduler::Context>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.scheduler.set(self.0));
        }
    }
    let prev = CONTEXT.with(|cx| cx.scheduler.replace(Some(NonNull::from(sched))));
    let _reset = Reset(prev);
    f()
}

/// Runs `f` with this thread's scheduler context, if any.
pub(crate) fn with_scheduler<R>(f: impl FnOnce(Option<&scheduler::Context>) -> R) -> R {
    let ptr = CONTEXT.try_with(|cx| cx.scheduler.get()).ok().flatten();
    // SAFETY: the pointer is installed by `set_scheduler` for exactly the duration of a borrow
    // of the context it points to, and removed (restored) before that borrow ends, so while it
    // is visible here the context is alive. Only shared references are ever created from it.
    let sched = ptr.map(|p| unsafe { p.as_ref() });
    f(sched)
}

pub(crate) fn budget() -> Budget {
    CONTEXT
        .try_with(|cx| cx.budget.get())
        .unwrap_or(Budget::unconstrained())
}

pub(crate) fn set_budget(budget: Budget) {
    let _ = CONTEXT.try_with(|cx| cx.budget.set(budget));
}

pub(crate) fn replace_budget(budget: Budget) -> Budget {
    CONTEXT
        .try_with(|cx| cx.budget.replace(budget))
        .unwrap_or(Budget::unconstrained())
}

pub(crate) fn current_task_id() -> Option<Id> {
    CONTEXT
        .try_with(|cx| cx.current_task_id.get())
        .ok()
        .flatten()
}

pub(crate) fn set_current_task_id(id: Option<Id>) -> Option<Id> {
    CONTEXT
        .try_with(|cx| cx.current_task_id.replace(id))
        .ok()
        .flatten()
}
