//! API misuse: each mistake must fail loudly with a message that names the function and says
//! how to fix it (spawning, `Handle::current`, `spawn_blocking` and `task::id` outside a
//! runtime or task; nested `block_on`; `block_in_place` on a current-thread runtime; invalid
//! `Builder` settings and `RUNTIME_WORKER_THREADS`; `JoinError::into_panic` on a cancelled
//! error; polling a `JoinHandle` after completion), or must keep working without deadlock
//! (dropping a runtime inside another runtime, spawning on a runtime that was shut down).
//!
//! `RUNTIME_WORKER_THREADS` is process-global: every multi-thread runtime built in this file
//! sets `worker_threads` explicitly, so the one test that sets the variable cannot affect the
//! others; the variable is restored afterwards.

mod support;

use runtime::task::{self, JoinHandle};
use runtime::{Builder, Handle, Runtime, RuntimeFlavor, TryCurrentError};
use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use support::{
    current_thread, drop_flag, multi_thread, on_both_flavors, on_both_flavors_owned,
    panic_payload_str, watchdog, EnvVarGuard,
};

/// The message of a panic payload, which must be a `&str` or a `String`.
fn payload_message(payload: &(dyn Any + Send)) -> String {
    panic_payload_str(payload)
        .expect("panic payload is neither &str nor String")
        .to_string()
}

/// Runs `f`, which must panic, and returns the panic message.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => payload_message(&*payload),
    }
}

fn assert_contains_all(msg: &str, needles: &[&str]) {
    for needle in needles {
        assert!(msg.contains(needle), "message lacks {needle:?}: {msg}");
    }
}

// ---------------------------------------------------------------------------------------------
// Outside a runtime / outside a task
// ---------------------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "runtime::spawn called outside of a runtime")]
fn spawn_outside_runtime_panics() {
    drop(runtime::spawn(async {}));
}

#[test]
fn spawn_outside_runtime_message_says_how_to_enter() {
    let msg = panic_message(|| runtime::spawn(async {}));
    assert_contains_all(
        &msg,
        &[
            "runtime::spawn",
            "outside of a runtime",
            "Runtime::enter",
            "block_on",
        ],
    );
    let msg = panic_message(|| task::spawn(async {}));
    assert_contains_all(&msg, &["spawn", "outside of a runtime"]);
}

#[test]
#[should_panic(expected = "Handle::current() called outside of a runtime")]
fn handle_current_outside_runtime_panics() {
    let _ = Handle::current();
}

#[test]
fn handle_current_outside_runtime_message_says_how_to_enter() {
    let msg = panic_message(Handle::current);
    assert_contains_all(
        &msg,
        &[
            "Handle::current()",
            "outside of a runtime",
            "Runtime::enter",
            "block_on",
        ],
    );
}

#[test]
#[should_panic(expected = "runtime::task::spawn_blocking called outside of a runtime")]
fn spawn_blocking_outside_runtime_panics() {
    drop(task::spawn_blocking(|| {}));
}

#[test]
fn spawn_blocking_outside_runtime_message_says_how_to_enter() {
    let msg = panic_message(|| task::spawn_blocking(|| 1));
    assert_contains_all(
        &msg,
        &["spawn_blocking", "outside of a runtime", "Runtime::enter"],
    );
}

#[test]
#[should_panic(expected = "runtime::task::id() called outside of a task")]
fn task_id_outside_task_panics() {
    let _ = task::id();
}

#[test]
fn task_id_outside_task_message_points_at_try_id() {
    let msg = panic_message(task::id);
    assert_contains_all(&msg, &["task::id()", "outside of a task", "try_id"]);
    // Also inside block_on (not a task) on both flavors.
    on_both_flavors(|rt, flavor| {
        let msg = panic_message(|| rt.block_on(async { task::id() }));
        assert!(msg.contains("outside of a task"), "{flavor:?}: {msg}");
    });
}

#[test]
fn try_current_outside_runtime_is_no_context() {
    let err = Handle::try_current().unwrap_err();
    assert_eq!(err, TryCurrentError::NoContext);
    let shown = err.to_string();
    assert_contains_all(&shown, &["no runtime", "block_on", "Runtime::enter"]);
    // A std thread started from inside a task does not inherit the runtime context.
    on_both_flavors(|rt, flavor| {
        let res = rt.block_on(async {
            runtime::spawn(async {
                std::thread::spawn(|| Handle::try_current().map(|_| ()))
                    .join()
                    .unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(res, Err(TryCurrentError::NoContext), "{flavor:?}");
    });
}

// ---------------------------------------------------------------------------------------------
// Blocking inside async code
// ---------------------------------------------------------------------------------------------

#[test]
fn block_on_inside_block_on_panics_with_advice() {
    on_both_flavors(|rt, flavor| {
        // The same runtime.
        let msg = panic_message(|| rt.block_on(async { rt.block_on(async { 1 }) }));
        assert_contains_all(&msg, &["block_on", "spawn_blocking", "block_in_place"]);
        // Another runtime.
        let other = current_thread();
        let msg = panic_message(|| rt.block_on(async { other.block_on(async { 1 }) }));
        assert_contains_all(&msg, &["spawn_blocking", "block_in_place"]);
        // Handle::block_on.
        let msg = panic_message(|| rt.block_on(async { rt.handle().block_on(async { 1 }) }));
        assert_contains_all(&msg, &["spawn_blocking", "block_in_place"]);
        // The runtime still works after the unwinding.
        let v = rt.block_on(async { runtime::spawn(async { 3 }).await.unwrap() });
        assert_eq!(
            v, 3,
            "{flavor:?}: runtime broken after a nested block_on panic"
        );
        drop(other);
    });
}

#[test]
fn block_on_inside_spawned_task_panics_with_advice() {
    on_both_flavors(|rt, flavor| {
        let handle = rt.handle().clone();
        let err = rt.block_on(async move {
            runtime::spawn(async move { handle.block_on(async { 1 }) })
                .await
                .unwrap_err()
        });
        assert!(err.is_panic(), "{flavor:?}: {err:?}");
        let msg = payload_message(&*err.into_panic());
        assert_contains_all(&msg, &["block_on", "spawn_blocking", "block_in_place"]);
        // The runtime still works.
        let v = rt.block_on(async { runtime::spawn(async { 4 }).await.unwrap() });
        assert_eq!(v, 4, "{flavor:?}");
    });
}

#[test]
fn block_in_place_on_current_thread_panics_with_advice() {
    let rt = current_thread();
    // In the block_on future.
    let msg = panic_message(|| rt.block_on(async { task::block_in_place(|| 1) }));
    assert_contains_all(
        &msg,
        &["block_in_place", "current-thread", "spawn_blocking"],
    );
    // In a spawned task.
    let err = rt.block_on(async {
        runtime::spawn(async { task::block_in_place(|| 1) })
            .await
            .unwrap_err()
    });
    assert!(err.is_panic(), "{err:?}");
    let msg = payload_message(&*err.into_panic());
    assert_contains_all(
        &msg,
        &["block_in_place", "current-thread", "spawn_blocking"],
    );
    // The runtime still works.
    assert_eq!(
        rt.block_on(async { runtime::spawn(async { 5 }).await.unwrap() }),
        5
    );
}

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "Builder::worker_threads must be at least 1")]
fn builder_worker_threads_zero_panics() {
    Builder::new_multi_thread().worker_threads(0);
}

#[test]
fn builder_worker_threads_zero_message_suggests_current_thread() {
    let msg = panic_message(|| {
        Builder::new_multi_thread().worker_threads(0);
    });
    assert_contains_all(&msg, &["worker_threads", "new_current_thread"]);
}

#[test]
#[should_panic(expected = "Builder::max_blocking_threads must be at least 1")]
fn builder_max_blocking_threads_zero_panics() {
    Builder::new_multi_thread().max_blocking_threads(0);
}

#[test]
#[should_panic(expected = "Builder::event_interval must be at least 1")]
fn builder_event_interval_zero_panics() {
    Builder::new_current_thread().event_interval(0);
}

#[test]
#[should_panic(expected = "Builder::global_queue_interval must be at least 1")]
fn builder_global_queue_interval_zero_panics() {
    Builder::new_multi_thread().global_queue_interval(0);
}

#[test]
#[should_panic(expected = "Builder::handoff_threshold must be greater than zero")]
fn builder_handoff_threshold_zero_panics() {
    Builder::new_multi_thread().handoff_threshold(Duration::ZERO);
}

#[test]
fn builder_minimum_values_are_accepted() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .event_interval(1)
        .global_queue_interval(1)
        .handoff_threshold(Duration::from_nanos(1))
        .build()
        .unwrap();
    let v = rt.block_on(async {
        let a = runtime::spawn(async { 1 });
        let b = task::spawn_blocking(|| 2);
        let c = task::spawn_blocking(|| 3);
        a.await.unwrap() + b.await.unwrap() + c.await.unwrap()
    });
    assert_eq!(v, 6);
}

#[test]
fn invalid_worker_threads_env_var_is_an_error() {
    assert_eq!(runtime::WORKER_THREADS_ENV, "RUNTIME_WORKER_THREADS");
    let _restore = EnvVarGuard::save("RUNTIME_WORKER_THREADS");
    for bad in ["abc", "0", "-1", "", "2x"] {
        std::env::set_var("RUNTIME_WORKER_THREADS", bad);
        let err = Builder::new_multi_thread()
            .build()
            .expect_err("an invalid RUNTIME_WORKER_THREADS must fail build()");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}: {err}");
        assert!(
            err.to_string().contains("RUNTIME_WORKER_THREADS"),
            "{bad:?}: {err}"
        );
        assert!(
            err.to_string().contains("positive integer"),
            "{bad:?}: {err}"
        );
        // An explicit worker_threads wins over the variable.
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert_eq!(
            rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() }),
            1
        );
        // The current-thread flavor does not read it.
        drop(Builder::new_current_thread().build().unwrap());
    }
    // A valid value is accepted (surrounding whitespace tolerated).
    std::env::set_var("RUNTIME_WORKER_THREADS", " 1 ");
    let rt = Builder::new_multi_thread()
        .build()
        .expect("a valid RUNTIME_WORKER_THREADS");
    assert_eq!(
        rt.block_on(async { runtime::spawn(async { 2 }).await.unwrap() }),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// JoinError / JoinHandle misuse
// ---------------------------------------------------------------------------------------------

#[test]
fn into_panic_on_cancelled_error_panics_clearly() {
    let rt = current_thread();
    let err = rt.block_on(async {
        let h = runtime::spawn(std::future::pending::<()>());
        h.abort();
        h.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    let id = err.id();
    let msg = panic_message(move || err.into_panic());
    assert_contains_all(
        &msg,
        &["into_panic", "cancelled", "is_panic", &id.to_string()],
    );
}

#[test]
fn join_handle_polled_after_completion_panics() {
    let rt = current_thread();
    let msg = panic_message(|| {
        rt.block_on(async {
            let mut h = runtime::spawn(async { 1 });
            assert_eq!((&mut h).await.unwrap(), 1);
            let _ = (&mut h).await;
        })
    });
    assert!(msg.contains("JoinHandle polled after completion"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// Runtimes dropped in awkward places / used after shutdown
// ---------------------------------------------------------------------------------------------

fn inner_runtime(flavor: RuntimeFlavor) -> Runtime {
    match flavor {
        RuntimeFlavor::MultiThread => multi_thread(2),
        _ => current_thread(),
    }
}

#[test]
fn dropping_a_runtime_inside_block_on_does_not_deadlock() {
    for outer_flavor in [RuntimeFlavor::MultiThread, RuntimeFlavor::CurrentThread] {
        for inner_flavor in [RuntimeFlavor::MultiThread, RuntimeFlavor::CurrentThread] {
            let what =
                format!("dropping a {inner_flavor:?} runtime inside a {outer_flavor:?} block_on");
            let cancelled = watchdog(&what, 30, move || {
                let outer = inner_runtime(outer_flavor);
                outer.block_on(async move {
                    let inner = inner_runtime(inner_flavor);
                    let pending: JoinHandle<()> = inner.spawn(std::future::pending());
                    // Let a multi-thread inner runtime start polling it.
                    task::yield_now().await;
                    drop(inner);
                    // The inner runtime's task is cancelled (possibly in the background).
                    pending.await.unwrap_err().is_cancelled()
                })
            });
            assert!(
                cancelled,
                "{what}: the inner runtime's task was not cancelled"
            );
        }
    }
}

#[test]
fn dropping_a_runtime_inside_a_spawned_task_does_not_deadlock() {
    for inner_flavor in [RuntimeFlavor::MultiThread, RuntimeFlavor::CurrentThread] {
        let what = format!("dropping a {inner_flavor:?} runtime inside a worker task");
        watchdog(&what, 30, move || {
            let outer = multi_thread(2);
            let ok = outer.block_on(async move {
                runtime::spawn(async move {
                    let inner = inner_runtime(inner_flavor);
                    let h = inner.spawn(async { 1 });
                    drop(inner);
                    // Either it ran before the shutdown or it was cancelled; it must resolve.
                    match h.await {
                        Ok(v) => v == 1,
                        Err(e) => e.is_cancelled(),
                    }
                })
                .await
                .unwrap()
            });
            assert!(ok);
        });
    }
}

#[test]
fn spawn_after_runtime_dropped_is_cancelled() {
    on_both_flavors_owned(|rt, flavor| {
        let handle = rt.handle().clone();
        drop(rt);
        let (guard, dropped) = drop_flag();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = handle.spawn(async move {
            let _guard = guard;
            r.store(true, SeqCst);
        });
        let res = watchdog("awaiting a task spawned after shutdown", 30, move || {
            futures::executor::block_on(h).map_err(|e| e.is_cancelled())
        });
        assert_eq!(
            res,
            Err(true),
            "{flavor:?}: a task spawned after shutdown must be cancelled"
        );
        assert!(
            !ran.load(SeqCst),
            "{flavor:?}: a task spawned after shutdown ran"
        );
        assert!(
            dropped.load(SeqCst),
            "{flavor:?}: its future was not dropped"
        );

        // Awaited through another runtime, too.
        let h = handle.spawn(async { 1 });
        let other = current_thread();
        let err = other.block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{flavor:?}: {err:?}");
    });
}

#[test]
fn spawn_blocking_after_runtime_dropped_is_cancelled() {
    on_both_flavors_owned(|rt, flavor| {
        let handle = rt.handle().clone();
        drop(rt);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = handle.spawn_blocking(move || r.store(true, SeqCst));
        let res = watchdog(
            "awaiting a blocking task spawned after shutdown",
            30,
            move || futures::executor::block_on(h).map_err(|e| e.is_cancelled()),
        );
        assert_eq!(res, Err(true), "{flavor:?}");
        assert!(
            !ran.load(SeqCst),
            "{flavor:?}: the closure ran after shutdown"
        );
    });
}

#[test]
fn dropping_runtime_cancels_pending_tasks() {
    on_both_flavors_owned(|rt, flavor| {
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let h = rt.spawn(async move {
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        if flavor == RuntimeFlavor::MultiThread {
            started_rx.recv().unwrap();
        }
        drop(rt);
        let res = watchdog("awaiting a task of a dropped runtime", 30, move || {
            futures::executor::block_on(h).map_err(|e| e.is_cancelled())
        });
        assert_eq!(res, Err(true), "{flavor:?}");
    });
}

#[test]
fn shutdown_timeout_and_background_cancel_tasks() {
    for background in [false, true] {
        on_both_flavors_owned(|rt, flavor| {
            let h = rt.spawn(std::future::pending::<()>());
            let handle = rt.handle().clone();
            if background {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(10));
            }
            let res = watchdog("awaiting a task after shutdown", 30, move || {
                futures::executor::block_on(h).map_err(|e| e.is_cancelled())
            });
            assert_eq!(res, Err(true), "{flavor:?}, background={background}");
            let late = handle.spawn(async { 1 });
            let res = watchdog("awaiting a task spawned after shutdown", 30, move || {
                futures::executor::block_on(late).map_err(|e| e.is_cancelled())
            });
            assert_eq!(res, Err(true), "{flavor:?}, background={background}");
        });
    }
}

#[test]
fn spawning_from_a_drop_during_shutdown_does_not_deadlock() {
    // A task's future whose Drop spawns another task (through a captured Handle, and through
    // runtime::spawn when a context is entered): shutdown must cancel the late task too and
    // return.
    struct SpawnOnDrop {
        handle: Handle,
        spawned: Arc<std::sync::Mutex<Vec<JoinHandle<u8>>>>,
    }
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let late = self.handle.spawn(async { 1 });
            self.spawned.lock().unwrap().push(late);
            if Handle::try_current().is_ok() {
                self.spawned
                    .lock()
                    .unwrap()
                    .push(runtime::spawn(async { 2 }));
            }
        }
    }
    for flavor in [RuntimeFlavor::MultiThread, RuntimeFlavor::CurrentThread] {
        let spawned = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = spawned.clone();
        watchdog(
            "dropping a runtime whose tasks spawn in Drop",
            30,
            move || {
                let rt = inner_runtime(flavor);
                let (started_tx, started_rx) = mpsc::channel::<()>();
                for _ in 0..10 {
                    let guard = SpawnOnDrop {
                        handle: rt.handle().clone(),
                        spawned: s.clone(),
                    };
                    let started_tx = started_tx.clone();
                    drop(rt.spawn(async move {
                        let _guard = guard;
                        let _ = started_tx.send(());
                        std::future::pending::<()>().await;
                    }));
                }
                if flavor == RuntimeFlavor::MultiThread {
                    for _ in 0..10 {
                        started_rx.recv().unwrap();
                    }
                }
                drop(rt);
            },
        );
        let late: Vec<_> = std::mem::take(&mut *spawned.lock().unwrap());
        assert!(
            late.len() >= 10,
            "{flavor:?}: the Drop impls did not run ({} spawns)",
            late.len()
        );
        for h in late {
            let res = watchdog("awaiting a task spawned during shutdown", 30, move || {
                futures::executor::block_on(h).map_err(|e| e.is_cancelled())
            });
            assert_eq!(
                res,
                Err(true),
                "{flavor:?}: a task spawned during shutdown was not cancelled"
            );
        }
    }
}
