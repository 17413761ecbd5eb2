//! The current-thread scheduler: every task runs on the thread that calls `Runtime::block_on`,
//! which also parks on the driver stack itself (no extra thread).
//!
//! * Local queue: a `VecDeque` in the `Core`, used for wakes on the driving thread.
//! * Remote queue: a mutex-protected `VecDeque` for wakes and spawns from other threads,
//!   followed by an unpark of the driver. `None` once shut down: later pushes drop the task.
//! * The `block_on` future runs only when its own waker fired (`woken`).
//! * One thread at a time owns the `Core`; another thread calling `block_on` meanwhile polls
//!   its future on a thread parker and takes the core over when it is released.
//! * Every `event_interval` tasks the driver is polled without blocking, so I/O and timers
//!   are not starved by a busy queue; every `global_queue_interval` ticks the remote queue
//!   goes first.

use super::{Common, Config};
use crate::blocking;
use crate::context;
use crate::coop;
use crate::loom::sync::atomic::{AtomicBool, Ordering::*};
use crate::loom::sync::Mutex;
use crate::park::{Park, Parker, Unpark};
use crate::scheduler;
use crate::task::list::OwnedTasks;
use crate::task::{self, Schedule};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

type Notified = task::Notified<Arc<Handle>>;

pub(crate) struct Handle {
    pub(crate) owned: OwnedTasks<Arc<Handle>>,
    remote: Mutex<Option<VecDeque<Notified>>>,
    /// The `block_on` future's waker fired.
    woken: AtomicBool,
    driver_unpark: Arc<dyn Unpark>,
    core: Mutex<Option<Box<Core>>>,
    /// Threads waiting in `block_on` for the core to be released.
    core_waiters: Mutex<Vec<Parker>>,
    pub(crate) common: Common,
}

pub(crate) struct Core {
    tasks: VecDeque<Notified>,
    tick: u32,
    driver: Option<Box<dyn Park>>,
}

/// The scheduler context installed while a thread drives this runtime.
pub(crate) struct Context {
    handle: Arc<Handle>,
    core: RefCell<Option<Box<Core>>>,
}

pub(crate) struct CurrentThread {
    handle: Arc<Handle>,
}

impl CurrentThread {
    pub(crate) fn new(config: Config, driver: Box<dyn Park>) -> (CurrentThread, Arc<Handle>) {
        let blocking = blocking::Spawner::new(&config);
        let driver_unpark = driver.unparker();
        let handle = Arc::new(Handle {
            owned: OwnedTasks::new(1),
            remote: Mutex::new(Some(VecDeque::new())),
            woken: AtomicBool::new(false),
            driver_unpark: driver_unpark.clone(),
            core: Mutex::new(Some(Box::new(Core {
                tasks: VecDeque::with_capacity(64),
                tick: 0,
                driver: Some(driver),
            }))),
            core_waiters: Mutex::new(Vec::new()),
            common: Common::new(config, blocking, driver_unpark),
        });
        (
            CurrentThread {
                handle: handle.clone(),
            },
            handle,
        )
    }

    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _rt = context::enter_runtime();
        let sched_handle = scheduler::Handle {
            inner: scheduler::Kind::CurrentThread(self.handle.clone()),
        };
        let _current = context::set_current(&sched_handle);
        let mut future = std::pin::pin!(future);
        // Used only while another thread drives the runtime (see below).
        let parker = Parker::new();
        let waker = parker.waker();
        loop {
            // (Bound first: an `if let` on the lock expression would hold the guard through
            // `drive`, and the core is put back under the same lock.)
            let core = self.handle.core.lock().take();
            if let Some(core) = core {
                return self.drive(core, future.as_mut());
            }
            // Another thread drives the runtime: poll our future on a parker until it is done
            // or the core is released.
            {
                let mut waiters = self.handle.core_waiters.lock();
                if !waiters.iter().any(|w| w.same_as(&parker)) {
                    waiters.push(parker.clone());
                }
            }
            let mut cx = TaskContext::from_waker(&waker);
            if let Poll::Ready(v) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                return v;
            }
            if self.handle.core.lock().is_some() {
                continue;
            }
            parker.park();
        }
    }

    fn drive<F: Future>(&self, core: Box<Core>, future: Pin<&mut F>) -> F::Output {
        /// Returns the core to the handle even if the future or a task panics.
        struct Release<'a> {
            handle: &'a Arc<Handle>,
            cx: &'a scheduler::Context,
        }
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let scheduler::Context::CurrentThread(cx) = self.cx else {
                    unreachable!()
                };
                if let Some(core) = cx.core.borrow_mut().take() {
                    *self.handle.core.lock() = Some(core);
                }
                for waiter in self.handle.core_waiters.lock().drain(..) {
                    waiter.unpark();
                }
            }
        }
        let cx = scheduler::Context::CurrentThread(Context {
            handle: self.handle.clone(),
            core: RefCell::new(Some(core)),
        });
        let _release = Release {
            handle: &self.handle,
            cx: &cx,
        };
        context::set_scheduler(&cx, || {
            let scheduler::Context::CurrentThread(cx) = &cx else {
                unreachable!()
            };
            cx.run(future)
        })
    }

    /// Cancels every task, drops every queued notification and shuts the driver down.
    pub(crate) fn shutdown(&self) {
        let handle = &self.handle;
        let sched_handle = scheduler::Handle {
            inner: scheduler::Kind::CurrentThread(handle.clone()),
        };
        let _current = context::set_current(&sched_handle);
        let core = handle.core.lock().take();
        let Some(core) = core else {
            // The core is in use by a Handle::block_on-less driver thread that is gone
            // (it panicked holding it): cancel what is listed and close the remote queue.
            handle.owned.close_and_shutdown_all();
            let remote = handle.remote.lock().take();
            drop(remote);
            return;
        };
        let cx = scheduler::Context::CurrentThread(Context {
            handle: handle.clone(),
            core: RefCell::new(None),
        });
        context::set_scheduler(&cx, || {
            let scheduler::Context::CurrentThread(cx) = &cx else {
                unreachable!()
            };
            let (mut core, ()) = cx.enter(core, || handle.owned.close_and_shutdown_all());
            // Dropping a notification may free a task whose output's Drop wakes others:
            // keep draining until both queues stay empty, then close the remote queue.
            loop {
                let (c, task) = cx.enter(core, || cx.next_queued());
                core = c;
                match task {
                    Some(task) => {
                        let (c, ()) = cx.enter(core, || drop(task));
                        core = c;
                    }
                    None => break,
                }
            }
            let remote = handle.remote.lock().take();
            drop(remote);
            if let Some(mut driver) = core.driver.take() {
                driver.shutdown();
            }
        });
    }
}

impl Context {
    /// Puts the core in the context for the duration of `f` (so wakes from `f` reach the local
    /// queue), then takes it back.
    fn enter<R>(&self, core: Box<Core>, f: impl FnOnce() -> R) -> (Box<Core>, R) {
        *self.core.borrow_mut() = Some(core);
        let ret = f();
        let core = self
            .core
            .borrow_mut()
            .take()
            .expect("current-thread core went missing during a poll");
        (core, ret)
    }

    fn next_queued(&self) -> Option<Notified> {
        let local = self
            .core
            .borrow_mut()
            .as_mut()
            .and_then(|c| c.tasks.pop_front());
        local.or_else(|| self.handle.pop_remote())
    }

    fn run<F: Future>(&self, mut future: Pin<&mut F>) -> F::Output {
        let handle = &self.handle;
        let config = &handle.common.config;
        let waker = Waker::from(handle.clone());
        let mut task_cx = TaskContext::from_waker(&waker);
        handle.woken.store(true, Release);
        let mut core = self
            .core
            .borrow_mut()
            .take()
            .expect("current-thread core missing at block_on start");
        'outer: loop {
            if handle.woken.swap(false, AcqRel) {
                let (c, res) =
                    self.enter(core, || coop::budget(|| future.as_mut().poll(&mut task_cx)));
                core = c;
                if let Poll::Ready(v) = res {
                    *self.core.borrow_mut() = Some(core);
                    return v;
                }
            }
            for _ in 0..config.event_interval {
                core.tick = core.tick.wrapping_add(1);
                let task = if core.tick.is_multiple_of(config.global_queue_interval) {
                    handle.pop_remote().or_else(|| core.tasks.pop_front())
                } else {
                    core.tasks.pop_front().or_else(|| handle.pop_remote())
                };
                let Some(task) = task else {
                    if !handle.woken.load(Acquire) {
                        core = self.park(core, None);
                    }
                    continue 'outer;
                };
                let (c, ()) = self.enter(core, || coop::budget(|| task.run()));
                core = c;
            }
            // A full batch ran: let the driver deliver events without blocking.
            core = self.park(core, Some(Duration::ZERO));
        }
    }

    fn park(&self, mut core: Box<Core>, timeout: Option<Duration>) -> Box<Core> {
        let config = &self.handle.common.config;
        let mut driver = core.driver.take().expect("current-thread driver missing");
        if timeout.is_none() {
            if let Some(cb) = &config.on_thread_park {
                cb();
            }
        }
        // The core stays reachable while parked so that wakes fired by the driver on this
        // thread go to the local queue.
        let (c, ()) = self.enter(core, || match timeout {
            None => driver.park(),
            Some(t) => driver.park_timeout(t),
        });
        core = c;
        if timeout.is_none() {
            if let Some(cb) = &config.on_thread_unpark {
                cb();
            }
        }
        core.driver = Some(driver);
        core
    }
}

impl Handle {
    /// Nothing was woken from outside: the remote queue is empty and the `block_on` future was
    /// not woken.
    pub(crate) fn is_quiet(&self) -> bool {
        let remote_empty = match &*self.remote.lock() {
            Some(queue) => queue.is_empty(),
            None => true,
        };
        remote_empty && !self.woken.load(Acquire)
    }

    pub(crate) fn unpark_driver(&self) {
        self.driver_unpark.unpark();
    }

    fn pop_remote(&self) -> Option<Notified> {
        self.remote.lock().as_mut().and_then(VecDeque::pop_front)
    }

    fn push_remote(&self, task: Notified) {
        let rejected = {
            let mut remote = self.remote.lock();
            match remote.as_mut() {
                Some(queue) => {
                    queue.push_back(task);
                    None
                }
                None => Some(task),
            }
        };
        match rejected {
            // Shut down: drop outside the lock (freeing a task may run user Drop code).
            Some(task) => drop(task),
            None => self.driver_unpark.unpark(),
        }
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &task::Task<Self>) -> Option<task::Task<Self>> {
        self.owned.remove(task)
    }

    fn schedule(&self, task: Notified) {
        let rejected = context::with_scheduler(|cx| {
            let cx = match cx {
                Some(scheduler::Context::CurrentThread(cx)) if Arc::ptr_eq(&cx.handle, self) => {
                    Some(cx)
                }
                _ => None,
            };
            match cx.and_then(|cx| cx.core.try_borrow_mut().ok()) {
                Some(mut core) => match core.as_mut() {
                    Some(core) => {
                        core.tasks.push_back(task);
                        None
                    }
                    None => Some(task),
                },
                None => Some(task),
            }
        });
        if let Some(task) = rejected {
            self.push_remote(task);
        }
    }
}

impl Wake for Handle {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Release);
        self.driver_unpark.unpark();
    }
}
