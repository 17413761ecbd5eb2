//! `JoinSet`: a collection of spawned tasks whose outputs are taken in completion order.
//!
//! Each entry's `JoinHandle` gets its own waker at insertion; the waker records the entry's key
//! in a shared ready list and wakes whoever waits in `join_next`. So `join_next` polls only
//! entries that were woken, never the whole set.

use super::{AbortHandle, JoinError, JoinHandle};
use crate::scheduler::Handle;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// A set of tasks spawned on the runtime, joined in the order they complete. Dropping the set
/// aborts every task still in it.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let mut set = runtime::task::JoinSet::new();
/// for i in 0..10 {
///     set.spawn(async move { i * 2 });
/// }
/// let mut sum = 0;
/// while let Some(res) = set.join_next().await {
///     sum += res.unwrap();
/// }
/// assert_eq!(sum, 90);
/// # });
/// ```
pub struct JoinSet<T> {
    entries: Vec<Option<Entry<T>>>,
    free: Vec<usize>,
    len: usize,
    ready: Arc<Ready>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Waker,
}

#[derive(Default)]
struct Ready {
    /// Keys of woken entries, in the order they were woken (completion order).
    keys: Mutex<VecDeque<usize>>,
    waker: Mutex<Option<Waker>>,
}

struct EntryWaker {
    key: usize,
    ready: Arc<Ready>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.ready.keys).push_back(self.key);
        let waker = lock(&self.ready.waker).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under these locks; recover from poison rather than propagate it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::new(Ready::default()),
        }
    }

    /// Number of tasks in the set (running, or finished but not yet joined).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let key = self.free.pop().unwrap_or_else(|| {
            self.entries.push(None);
            self.entries.len() - 1
        });
        let waker = Waker::from(Arc::new(EntryWaker {
            key,
            ready: self.ready.clone(),
        }));
        handle.register_waker(&waker);
        self.entries[key] = Some(Entry { handle, waker });
        self.len += 1;
        abort
    }

    fn remove(&mut self, key: usize) {
        self.entries[key] = None;
        self.free.push(key);
        self.len -= 1;
    }

    /// Polls for the next finished task (for manual `Future` impls).
    ///
    /// `Ready(None)` when the set is empty; `Pending` (with `cx` registered) otherwise.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        // Register before looking, so a completion between the look and the return wakes us.
        *lock(&self.ready.waker) = Some(cx.waker().clone());
        let key = {
            let mut keys = lock(&self.ready.keys);
            loop {
                match keys.pop_front() {
                    // Skip keys of entries already joined (a stale wake).
                    Some(key) if self.entries.get(key).is_some_and(Option::is_some) => {
                        break Some(key)
                    }
                    Some(_) => continue,
                    None => break None,
                }
            }
        };
        let Some(key) = key else {
            return Poll::Pending;
        };
        let entry = self.entries[key]
            .as_mut()
            .expect("ready key of an empty entry");
        let mut entry_cx = Context::from_waker(&entry.waker);
        match Pin::new(&mut entry.handle).poll(&mut entry_cx) {
            Poll::Ready(res) => {
                self.remove(key);
                Poll::Ready(Some(res))
            }
            Poll::Pending => {
                // Only the coop budget makes a woken JoinHandle return Pending: the entry
                // waker was woken again; yield to the scheduler.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    /// Waits for the next task to finish; `None` when the set is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped, no output is lost; the finished task stays in the
    /// set for the next call.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The output of a finished task, if any has finished; never waits.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        loop {
            let key = lock(&self.ready.keys).pop_front()?;
            let Some(entry) = self.entries[key].as_mut() else {
                continue;
            };
            let mut entry_cx = Context::from_waker(&entry.waker);
            if let Poll::Ready(res) =
                crate::coop::with_unconstrained(|| Pin::new(&mut entry.handle).poll(&mut entry_cx))
            {
                self.remove(key);
                return Some(res);
            }
        }
    }

    /// Aborts every task in the set; they stay in it until joined (as cancelled).
    pub fn abort_all(&mut self) {
        for entry in self.entries.iter().flatten() {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it (they keep running).
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.free.clear();
        lock(&self.ready.keys).clear();
        self.len = 0;
    }

    /// Aborts every task and waits until all of them have stopped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(super::spawn(future))
    }

    /// Spawns `future` on the runtime of `handle` and adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Runs `f` on the blocking pool and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(super::spawn_blocking(f))
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
