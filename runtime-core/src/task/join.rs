//! `JoinHandle`: owned permission to await a task's output, abort it, or detach it by dropping.

use super::raw::RawTask;
use super::{AbortHandle, Id, JoinError};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

/// An owned permission to join a task: awaiting it yields the task's output, or a
/// [`JoinError`] if the task panicked or was cancelled. Dropping it detaches the task.
///
/// Awaiting a `JoinHandle` spends one unit of cooperative budget.
///
/// # Cancel safety
///
/// Cancel safe: dropping the `.await` loses nothing; the output stays in the task until the
/// handle is polled again (or is dropped with the handle).
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let handle = runtime::spawn(async { 1 + 1 });
/// assert_eq!(handle.await.unwrap(), 2);
/// # });
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _p: PhantomData<T>,
}

// SAFETY: the handle only moves the output (`T: Send`) to the thread that polls it.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads the atomic state (is_finished, id) or aborts.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// Transfers the JoinHandle's reference of a task whose output type is `T`.
    pub(super) unsafe fn from_raw(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _p: PhantomData,
        }
    }

    /// Cancels the task: it will not be polled again and its future is dropped on a runtime
    /// thread; awaiting the handle then gives `JoinError::is_cancelled()` (unless the task had
    /// already completed). A running `spawn_blocking` closure cannot be stopped.
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// True once the task has completed (output ready, panicked or cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// An [`AbortHandle`] for this task, usable after the JoinHandle is gone.
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.ref_inc();
        // SAFETY: the reference was just created for the AbortHandle.
        unsafe { AbortHandle::from_raw(self.raw) }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id
    }

    /// Makes `waker` the join waker without taking the output (woken at once if complete).
    pub(crate) fn register_waker(&self, waker: &Waker) {
        // SAFETY: a null destination only registers the waker.
        unsafe { self.raw.try_read_output(std::ptr::null_mut(), waker) };
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(crate::coop::poll_proceed(cx));
        let mut ret = Poll::Pending;
        // SAFETY: `ret` has the output type the task was created with (`T`).
        unsafe {
            self.raw.try_read_output(
                &mut ret as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            )
        };
        if ret.is_ready() {
            coop.made_progress();
        }
        ret
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.drop_join_handle();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}
