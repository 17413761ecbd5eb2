//! Integration tests of the task API, on both runtime flavors where it makes sense: mass
//! spawning, `JoinHandle` (output, `is_finished`, ids, detaching by drop), aborting (before
//! the first poll, while pending, after completion, through an `AbortHandle`, self-abort,
//! abort racing completion), panics (in the future, in its `Drop` on cancel, in an output's
//! `Drop`), `yield_now` fairness, next-slot starvation, cooperative budgeting and
//! `unconstrained`, `task::Builder`, spawning from other threads, from outside `block_on` and
//! onto another runtime, wakers outliving their task and runtime, `spawn_blocking` (value,
//! thread, panics, concurrency, abort, ids), `block_in_place`, `num_alive_tasks`,
//! `Handle::current` and `Runtime::enter`.

mod support;

use futures::channel::oneshot;
use runtime::task::{self, JoinError, JoinHandle};
use runtime::{Builder, Handle, Runtime, RuntimeFlavor};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::time::Duration;
use support::{
    current_thread, drop_flag, multi_thread, on_both_flavors, panic_payload_str, watchdog,
    yield_until,
};

// ---------------------------------------------------------------------------------------------
// Spawning many tasks
// ---------------------------------------------------------------------------------------------

#[test]
fn spawn_200k_tasks_all_complete() {
    const N: usize = 200_000;
    on_both_flavors(|rt, flavor| {
        let counter = Arc::new(AtomicUsize::new(0));
        let c = counter.clone();
        let joined = rt.block_on(async move {
            let handles: Vec<JoinHandle<usize>> = (0..N)
                .map(|i| {
                    let c = c.clone();
                    runtime::spawn(async move {
                        c.fetch_add(1, SeqCst);
                        i
                    })
                })
                .collect();
            let mut sum = 0usize;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(counter.load(SeqCst), N, "{flavor:?}: not every task ran");
        assert_eq!(joined, N * (N - 1) / 2, "{flavor:?}: wrong outputs joined");
    });
}

// ---------------------------------------------------------------------------------------------
// JoinHandle basics and ids
// ---------------------------------------------------------------------------------------------

#[test]
fn join_handle_returns_output() {
    on_both_flavors(|rt, flavor| {
        let out = rt.block_on(async {
            let h = runtime::spawn(async { String::from("hello") });
            h.await.unwrap()
        });
        assert_eq!(out, "hello", "{flavor:?}");
        // A spawned task awaiting another spawned task.
        let out = rt.block_on(async {
            runtime::spawn(async { runtime::spawn(async { 20 }).await.unwrap() + 22 })
                .await
                .unwrap()
        });
        assert_eq!(out, 42, "{flavor:?}");
    });
}

#[test]
fn join_handle_is_finished_before_and_after() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<u32>();
            let mut h = runtime::spawn(async move { rx.await.unwrap() * 2 });
            // Let the task start and block on the channel.
            for _ in 0..3 {
                task::yield_now().await;
            }
            assert!(
                !h.is_finished(),
                "{flavor:?}: finished while waiting on a channel"
            );
            assert!(!h.abort_handle().is_finished(), "{flavor:?}");
            tx.send(21).unwrap();
            let out = (&mut h).await.unwrap();
            assert_eq!(out, 42, "{flavor:?}");
            assert!(
                h.is_finished(),
                "{flavor:?}: not finished after its output was taken"
            );
            assert!(h.abort_handle().is_finished(), "{flavor:?}");
        });
    });
}

#[test]
fn join_handle_id_matches_task_id_inside() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let h = runtime::spawn(async { (task::id(), task::try_id()) });
            let expected = h.id();
            assert_eq!(h.abort_handle().id(), expected, "{flavor:?}");
            let (inside, try_inside) = h.await.unwrap();
            assert_eq!(inside, expected, "{flavor:?}");
            assert_eq!(try_inside, Some(expected), "{flavor:?}");
            assert_ne!(inside.as_u64(), 0, "{flavor:?}");
        });
    });
}

#[test]
fn try_id_is_none_outside_tasks() {
    assert_eq!(task::try_id(), None, "plain test thread");
    on_both_flavors(|rt, flavor| {
        // The block_on future is not a task.
        assert_eq!(
            rt.block_on(async { task::try_id() }),
            None,
            "{flavor:?}: block_on future"
        );
        // Entered but not in a task.
        {
            let _guard = rt.enter();
            assert_eq!(task::try_id(), None, "{flavor:?}: entered");
        }
        // A task's id does not leak out of it once it completed.
        rt.block_on(async { runtime::spawn(async { task::id() }).await.unwrap() });
        assert_eq!(task::try_id(), None, "{flavor:?}: after a runtime was used");
    });
}

#[test]
fn task_ids_are_unique_and_nonzero() {
    on_both_flavors(|rt, flavor| {
        let ids = rt.block_on(async {
            let handles: Vec<_> = (0..2000)
                .map(|_| runtime::spawn(async { task::id() }))
                .collect();
            let mut ids = Vec::new();
            for h in handles {
                let id = h.id();
                assert_eq!(h.await.unwrap(), id, "{flavor:?}");
                ids.push(id);
            }
            ids
        });
        let set: HashSet<_> = ids.iter().copied().collect();
        assert_eq!(set.len(), ids.len(), "{flavor:?}: duplicate task ids");
        assert!(ids.iter().all(|id| id.as_u64() != 0), "{flavor:?}: zero id");
    });
}

#[test]
fn task_ids_unique_across_runtimes_and_blocking_tasks() {
    let mt = multi_thread(2);
    let ct = current_thread();
    let mut seen = HashSet::new();
    for _ in 0..100 {
        for id in [
            mt.spawn(async {}).id(),
            ct.spawn(async {}).id(),
            mt.spawn_blocking(|| {}).id(),
            ct.spawn_blocking(|| {}).id(),
        ] {
            assert!(seen.insert(id), "id {id} handed out twice");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Aborting
// ---------------------------------------------------------------------------------------------

#[test]
fn abort_before_first_poll_cancels_and_drops_future() {
    // On a current-thread runtime a task spawned from outside `block_on` cannot run before
    // `block_on` is entered: the abort strictly precedes any poll.
    let rt = current_thread();
    let polled = Arc::new(AtomicBool::new(false));
    let (guard, dropped) = drop_flag();
    let p = polled.clone();
    let h = rt.spawn(async move {
        let _guard = guard;
        p.store(true, SeqCst);
        std::future::pending::<()>().await;
    });
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!err.is_panic());
    assert!(!polled.load(SeqCst), "the aborted task was polled");
    assert!(
        dropped.load(SeqCst),
        "the aborted task's future was not dropped"
    );

    // Same from inside block_on: spawned then aborted before the block_on future yields.
    let polled = Arc::new(AtomicBool::new(false));
    let (guard, dropped) = drop_flag();
    let p = polled.clone();
    let err = rt.block_on(async move {
        let h = runtime::spawn(async move {
            let _guard = guard;
            p.store(true, SeqCst);
        });
        h.abort();
        h.await.unwrap_err()
    });
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!polled.load(SeqCst), "the aborted task was polled");
    assert!(
        dropped.load(SeqCst),
        "the aborted task's future was not dropped"
    );
}

#[test]
fn abort_immediately_after_spawn_of_pending_future() {
    on_both_flavors(|rt, flavor| {
        let (guard, dropped) = drop_flag();
        let err = rt.block_on(async move {
            let h = runtime::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            h.abort();
            h.await.unwrap_err()
        });
        assert!(err.is_cancelled(), "{flavor:?}: {err:?}");
        assert!(dropped.load(SeqCst), "{flavor:?}: future not dropped");
    });
}

#[test]
fn abort_after_task_started_cancels_and_drops_future() {
    on_both_flavors(|rt, flavor| {
        let (guard, dropped) = drop_flag();
        rt.block_on(async move {
            let (started_tx, started_rx) = oneshot::channel::<()>();
            // Kept alive until after the abort: the task's receive never completes.
            let (_never_tx, never_rx) = oneshot::channel::<()>();
            let h = runtime::spawn(async move {
                let _guard = guard;
                started_tx.send(()).unwrap();
                let _ = never_rx.await;
                unreachable!("the never-firing channel fired");
            });
            started_rx.await.unwrap();
            assert!(!h.is_finished(), "{flavor:?}");
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled(), "{flavor:?}: {err:?}");
        });
        assert!(dropped.load(SeqCst), "{flavor:?}: future not dropped");
    });
}

#[test]
fn abort_after_completion_still_returns_output() {
    on_both_flavors(|rt, flavor| {
        let out = rt.block_on(async {
            let h = runtime::spawn(async { 7u8 });
            yield_until(|| h.is_finished()).await;
            h.abort();
            h.abort_handle().abort();
            h.await
        });
        assert_eq!(out.unwrap(), 7, "{flavor:?}");
    });
}

#[test]
fn abort_handle_works_after_join_handle_dropped() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let (started_tx, started_rx) = oneshot::channel::<()>();
            let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
            struct SendOnDrop(Option<oneshot::Sender<()>>);
            impl Drop for SendOnDrop {
                fn drop(&mut self) {
                    let _ = self.0.take().unwrap().send(());
                }
            }
            let guard = SendOnDrop(Some(dropped_tx));
            let h = runtime::spawn(async move {
                let _guard = guard;
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await;
            });
            let abort = h.abort_handle();
            let id = h.id();
            drop(h);
            started_rx.await.unwrap();
            assert!(!abort.is_finished(), "{flavor:?}");
            assert_eq!(abort.id(), id, "{flavor:?}");
            abort.abort();
            dropped_rx
                .await
                .expect("the aborted task's future was not dropped");
            yield_until(|| abort.is_finished()).await;
        });
    });
}

#[test]
fn abort_handle_is_finished_tracks_completion() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<()>();
            let h = runtime::spawn(async move { rx.await.unwrap() });
            let abort = h.abort_handle();
            task::yield_now().await;
            assert!(!abort.is_finished(), "{flavor:?}");
            tx.send(()).unwrap();
            h.await.unwrap();
            assert!(abort.is_finished(), "{flavor:?}");
            // Aborting a finished task is a no-op.
            abort.abort();
            assert!(abort.is_finished(), "{flavor:?}");
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

#[test]
fn panicking_task_gives_panic_join_error() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            // &'static str payload.
            let h = runtime::spawn(async {
                if true {
                    panic!("boom-static");
                }
            });
            let id = h.id();
            let err = h.await.unwrap_err();
            assert!(err.is_panic(), "{flavor:?}: {err:?}");
            assert!(!err.is_cancelled(), "{flavor:?}");
            assert_eq!(err.id(), id, "{flavor:?}");
            let shown = err.to_string();
            assert!(shown.contains(&id.to_string()), "{flavor:?}: {shown}");
            assert!(shown.contains("boom-static"), "{flavor:?}: {shown}");
            let payload = err.into_panic();
            assert_eq!(
                *payload.downcast::<&str>().unwrap(),
                "boom-static",
                "{flavor:?}"
            );

            // String payload (a runtime argument, so the message is formatted at panic time).
            let n = std::hint::black_box(42);
            let h = runtime::spawn(async move {
                if true {
                    panic!("boom-{n}");
                }
            });
            let err = h.await.unwrap_err();
            assert!(err.to_string().contains("boom-42"), "{flavor:?}: {err}");
            let payload = err.try_into_panic().expect("a panic error");
            assert_eq!(
                *payload.downcast::<String>().unwrap(),
                "boom-42",
                "{flavor:?}"
            );

            // The runtime keeps working.
            let after = runtime::spawn(async { 5 }).await.unwrap();
            assert_eq!(after, 5, "{flavor:?}");
        });
        // And so does a later block_on with fresh tasks.
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..100).map(|i| runtime::spawn(async move { i })).collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 4950, "{flavor:?}");
    });
}

#[test]
fn panic_in_drop_on_cancel_gives_join_error() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("panic-in-drop");
        }
    }
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let (started_tx, started_rx) = oneshot::channel::<()>();
            let h = runtime::spawn(async move {
                let _bomb = PanicOnDrop;
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await;
            });
            started_rx.await.unwrap();
            h.abort();
            let err: JoinError = h.await.unwrap_err();
            assert!(err.is_panic(), "{flavor:?}: {err:?}");
            let payload = err.into_panic();
            assert_eq!(
                panic_payload_str(&*payload),
                Some("panic-in-drop"),
                "{flavor:?}"
            );
            // Still usable.
            assert_eq!(runtime::spawn(async { 1 }).await.unwrap(), 1, "{flavor:?}");
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Detaching
// ---------------------------------------------------------------------------------------------

#[test]
fn dropping_join_handle_detaches_task() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let (go_tx, go_rx) = oneshot::channel::<u32>();
            let (done_tx, done_rx) = oneshot::channel::<u32>();
            let h = runtime::spawn(async move {
                let v = go_rx.await.unwrap();
                task::yield_now().await;
                done_tx.send(v + 1).unwrap();
            });
            drop(h);
            go_tx.send(41).unwrap();
            assert_eq!(done_rx.await.unwrap(), 42, "{flavor:?}");
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Fairness and cooperative budgeting (current-thread: deterministic order)
// ---------------------------------------------------------------------------------------------

#[test]
fn yield_now_interleaves_tasks_on_current_thread() {
    const N: usize = 20;
    let rt = current_thread();
    let order = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let spawn_looper = |name: char| {
            let order = order.clone();
            runtime::spawn(async move {
                for _ in 0..N {
                    order.lock().unwrap().push(name);
                    task::yield_now().await;
                }
            })
        };
        let a = spawn_looper('a');
        let b = spawn_looper('b');
        a.await.unwrap();
        b.await.unwrap();
    });
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 2 * N);
    let s: String = order.iter().collect();
    assert!(
        order.windows(2).all(|w| w[0] != w[1]),
        "tasks ran back-to-back instead of alternating: {s}"
    );
}

#[test]
fn yield_now_lets_other_tasks_run_on_multi_thread() {
    // One worker: the yielding task must let the other one run on the same worker.
    let rt = multi_thread(1);
    rt.block_on(async {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let spinner = runtime::spawn(async move {
            let mut spins = 0u64;
            while !f.load(SeqCst) {
                task::yield_now().await;
                spins += 1;
            }
            spins
        });
        let f = flag.clone();
        let setter = runtime::spawn(async move { f.store(true, SeqCst) });
        setter.await.unwrap();
        spinner.await.unwrap();
    });
}

/// Spawns (first) a task that sets a flag after one yield; returns the flag.
fn spawn_flag_setter() -> (Arc<AtomicBool>, JoinHandle<()>) {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let h = runtime::spawn(async move {
        task::yield_now().await;
        f.store(true, SeqCst);
    });
    (flag, h)
}

const LOOP_LEN: usize = 10_000;

#[test]
fn consume_budget_loop_does_not_starve_other_task() {
    let rt = current_thread();
    let iterations = rt.block_on(async {
        let (flag, setter) = spawn_flag_setter();
        let looper = runtime::spawn(async move {
            for i in 0..LOOP_LEN {
                if flag.load(SeqCst) {
                    return i;
                }
                task::consume_budget().await;
            }
            LOOP_LEN
        });
        let n = looper.await.unwrap();
        setter.await.unwrap();
        n
    });
    assert!(
        iterations < LOOP_LEN,
        "the consume_budget loop never yielded to the other task"
    );
    assert!(iterations > 0);
}

#[test]
fn awaiting_ready_join_handles_does_not_starve_other_task() {
    const HANDLES: usize = 2_000;
    let rt = current_thread();
    let (seen_at, total) = rt.block_on(async {
        let handles: Vec<JoinHandle<usize>> = (0..HANDLES)
            .map(|i| runtime::spawn(async move { i }))
            .collect();
        yield_until(|| handles.iter().all(JoinHandle::is_finished)).await;
        let (flag, setter) = spawn_flag_setter();
        let looper = runtime::spawn(async move {
            let mut seen_at = None;
            let mut total = 0;
            for (i, h) in handles.into_iter().enumerate() {
                if seen_at.is_none() && flag.load(SeqCst) {
                    seen_at = Some(i);
                }
                total += h.await.unwrap();
            }
            (seen_at, total)
        });
        let out = looper.await.unwrap();
        setter.await.unwrap();
        out
    });
    assert_eq!(total, HANDLES * (HANDLES - 1) / 2);
    let seen_at = seen_at.expect("awaiting ready JoinHandles never yielded to the other task");
    assert!(seen_at < HANDLES);
}

#[test]
fn unconstrained_disables_forced_yield() {
    let rt = current_thread();
    let (iterations, saw_flag) = rt.block_on(async {
        let (flag, setter) = spawn_flag_setter();
        let f = flag.clone();
        let looper = runtime::spawn(task::unconstrained(async move {
            let mut saw = false;
            let mut i = 0;
            while i < LOOP_LEN {
                saw |= f.load(SeqCst);
                task::consume_budget().await;
                i += 1;
            }
            (i, saw)
        }));
        let out = looper.await.unwrap();
        setter.await.unwrap();
        assert!(flag.load(SeqCst));
        out
    });
    assert_eq!(iterations, LOOP_LEN);
    assert!(!saw_flag, "the other task ran during an unconstrained loop");
}

// ---------------------------------------------------------------------------------------------
// task::Builder
// ---------------------------------------------------------------------------------------------

#[test]
fn task_builder_spawns_named_tasks_in_a_runtime() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let h = task::Builder::new()
                .name("named")
                .spawn(async { 3 })
                .expect("Builder::spawn inside a runtime");
            assert_eq!(h.await.unwrap(), 3, "{flavor:?}");
            let h = task::Builder::new()
                .name("named-blocking")
                .spawn_blocking(|| 4)
                .expect("Builder::spawn_blocking inside a runtime");
            assert_eq!(h.await.unwrap(), 4, "{flavor:?}");
        });
        // spawn_on needs no entered runtime.
        let h = task::Builder::new()
            .name("on")
            .spawn_on(async { 5 }, rt.handle())
            .unwrap();
        assert_eq!(rt.block_on(h).unwrap(), 5, "{flavor:?}");
    });
}

#[test]
fn task_builder_outside_runtime_is_an_error() {
    let err = task::Builder::new()
        .name("named")
        .spawn(async { 1 })
        .expect_err("Builder::spawn outside a runtime must fail");
    let msg = err.to_string();
    assert!(msg.contains("task::Builder::spawn"), "{msg}");
    assert!(msg.contains("no runtime"), "{msg}");
    assert!(
        msg.contains("Runtime::enter"),
        "message should say how to enter a runtime: {msg}"
    );

    let err = task::Builder::new()
        .spawn_blocking(|| 1)
        .expect_err("Builder::spawn_blocking outside a runtime must fail");
    assert!(err.to_string().contains("no runtime"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Spawning from outside the runtime
// ---------------------------------------------------------------------------------------------

#[test]
fn remote_spawn_from_std_threads_while_block_on() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 1000;
    let rt = multi_thread(2);
    let handle = rt.handle().clone();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let total = rt.block_on(async move {
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<Vec<JoinHandle<usize>>>();
        let barrier = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let handle = handle.clone();
                let tx = tx.clone();
                let barrier = barrier.clone();
                let c = c.clone();
                std::thread::spawn(move || {
                    assert!(Handle::try_current().is_err());
                    barrier.wait();
                    let hs = (0..PER_THREAD)
                        .map(|i| {
                            let c = c.clone();
                            handle.spawn(async move {
                                c.fetch_add(1, SeqCst);
                                t * PER_THREAD + i
                            })
                        })
                        .collect();
                    tx.unbounded_send(hs).unwrap();
                })
            })
            .collect();
        drop(tx);
        let mut total = 0;
        use futures::StreamExt;
        while let Some(hs) = rx.next().await {
            for h in hs {
                total += h.await.unwrap();
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        total
    });
    let n = THREADS * PER_THREAD;
    assert_eq!(counter.load(SeqCst), n);
    assert_eq!(total, n * (n - 1) / 2);
}

#[test]
fn runtime_spawn_outside_block_on() {
    on_both_flavors(|rt, flavor| {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let c = counter.clone();
                rt.spawn(async move {
                    task::yield_now().await;
                    c.fetch_add(1, SeqCst);
                    i
                })
            })
            .collect();
        let sum = rt.block_on(async {
            let mut s = 0;
            for h in handles {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 4950, "{flavor:?}");
        assert_eq!(counter.load(SeqCst), 100, "{flavor:?}");
        // Handle::spawn from outside too.
        let h = rt.handle().spawn(async { 9 });
        assert_eq!(rt.block_on(h).unwrap(), 9, "{flavor:?}");
    });
}

// ---------------------------------------------------------------------------------------------
// spawn_blocking
// ---------------------------------------------------------------------------------------------

#[test]
fn spawn_blocking_returns_value_on_another_thread() {
    on_both_flavors(|rt, flavor| {
        let (task_thread, blocking_thread, value) = rt.block_on(async {
            runtime::spawn(async {
                let here = std::thread::current().id();
                let (there, v) = task::spawn_blocking(|| (std::thread::current().id(), 6 * 7))
                    .await
                    .unwrap();
                (here, there, v)
            })
            .await
            .unwrap()
        });
        assert_eq!(value, 42, "{flavor:?}");
        assert_ne!(
            task_thread, blocking_thread,
            "{flavor:?}: spawn_blocking ran on the task's thread"
        );
        assert_ne!(
            blocking_thread,
            std::thread::current().id(),
            "{flavor:?}: spawn_blocking ran on the block_on thread"
        );
        // Runtime::spawn_blocking / Handle::spawn_blocking from outside.
        assert_eq!(
            rt.block_on(rt.spawn_blocking(|| 1)).unwrap(),
            1,
            "{flavor:?}"
        );
        assert_eq!(
            rt.block_on(rt.handle().spawn_blocking(|| 2)).unwrap(),
            2,
            "{flavor:?}"
        );
    });
}

#[test]
fn spawn_blocking_panic_is_join_error() {
    on_both_flavors(|rt, flavor| {
        let err = rt.block_on(async {
            task::spawn_blocking(|| {
                if true {
                    panic!("blocking-boom");
                }
            })
            .await
            .unwrap_err()
        });
        assert!(err.is_panic(), "{flavor:?}: {err:?}");
        assert!(
            err.to_string().contains("blocking-boom"),
            "{flavor:?}: {err}"
        );
        assert_eq!(
            *err.into_panic().downcast::<&str>().unwrap(),
            "blocking-boom",
            "{flavor:?}"
        );
        // The pool still works.
        assert_eq!(
            rt.block_on(rt.spawn_blocking(|| 3)).unwrap(),
            3,
            "{flavor:?}"
        );
    });
}

#[test]
fn many_concurrent_spawn_blocking_calls() {
    const N: usize = 64;
    on_both_flavors(|rt, flavor| {
        // Every closure waits (bounded) until all N are running at once: they must get
        // their own threads (default max_blocking_threads is 512).
        let state = Arc::new((Mutex::new(0usize), Condvar::new()));
        let results = rt.block_on(async {
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let state = state.clone();
                    task::spawn_blocking(move || {
                        let (lock, cv) = &*state;
                        let mut running = lock.lock().unwrap();
                        *running += 1;
                        cv.notify_all();
                        let (running, _) = cv
                            .wait_timeout_while(running, Duration::from_secs(20), |r| *r < N)
                            .unwrap();
                        (i, *running >= N)
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap());
            }
            out
        });
        let sum: usize = results.iter().map(|(i, _)| i).sum();
        assert_eq!(sum, N * (N - 1) / 2, "{flavor:?}");
        assert!(
            results.iter().all(|(_, all)| *all),
            "{flavor:?}: the {N} blocking closures did not all run concurrently"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// block_in_place
// ---------------------------------------------------------------------------------------------

#[test]
fn block_in_place_runs_closure() {
    let rt = multi_thread(2);
    let v = rt.block_on(async {
        runtime::spawn(async { task::block_in_place(|| 7) + 1 })
            .await
            .unwrap()
    });
    assert_eq!(v, 8);
    // On the block_on thread and outside any runtime it simply runs.
    assert_eq!(rt.block_on(async { task::block_in_place(|| 2) }), 2);
    assert_eq!(task::block_in_place(|| 3), 3);
}

/// A task spawned from the worker just before `block_in_place` (so it sits in that worker's
/// queue) must still run while the closure blocks waiting for it.
fn block_in_place_lets_queued_task_run(workers: usize) {
    let rt = multi_thread(workers);
    let got = rt.block_on(async {
        runtime::spawn(async {
            let (tx, rx) = mpsc::channel::<u32>();
            let helper = runtime::spawn(async move {
                tx.send(11).unwrap();
            });
            // Bounded so that a missing hand-off fails instead of hanging the test.
            let got = task::block_in_place(move || rx.recv_timeout(Duration::from_secs(20)));
            helper.await.unwrap();
            // The task keeps working normally afterwards.
            let after = runtime::spawn(async { 1 }).await.unwrap();
            got.map(|v| v + after)
        })
        .await
        .unwrap()
    });
    assert_eq!(
        got,
        Ok(12),
        "the task queued on the worker did not run during block_in_place ({workers} workers)"
    );
    // The runtime is healthy afterwards.
    let n = rt.block_on(async {
        let hs: Vec<_> = (0..1000)
            .map(|_| runtime::spawn(async { 1usize }))
            .collect();
        let mut n = 0;
        for h in hs {
            n += h.await.unwrap();
        }
        n
    });
    assert_eq!(n, 1000);
}

#[test]
fn block_in_place_other_tasks_progress_one_worker() {
    block_in_place_lets_queued_task_run(1);
}

#[test]
fn block_in_place_other_tasks_progress_two_workers() {
    block_in_place_lets_queued_task_run(2);
}

#[test]
fn handle_block_on_inside_block_in_place() {
    let rt = multi_thread(2);
    let v = rt.block_on(async {
        runtime::spawn(async {
            task::block_in_place(|| {
                Handle::current()
                    .block_on(async { runtime::spawn(async { 20 }).await.unwrap() + 1 })
            })
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 21);
}

#[test]
fn nested_block_in_place_runs() {
    let rt = multi_thread(2);
    let v = rt.block_on(async {
        runtime::spawn(async { task::block_in_place(|| task::block_in_place(|| 5)) })
            .await
            .unwrap()
    });
    assert_eq!(v, 5);
}

// ---------------------------------------------------------------------------------------------
// Handle::current and Runtime::enter
// ---------------------------------------------------------------------------------------------

#[test]
fn handle_current_reports_builder_flavor() {
    on_both_flavors(|rt, flavor| {
        assert_eq!(rt.handle().runtime_flavor(), flavor);
        let (in_task, in_block_on) = rt.block_on(async {
            let in_task = runtime::spawn(async { Handle::current().runtime_flavor() })
                .await
                .unwrap();
            (in_task, Handle::current().runtime_flavor())
        });
        assert_eq!(in_task, flavor);
        assert_eq!(in_block_on, flavor);
        let in_blocking = rt
            .block_on(async {
                task::spawn_blocking(|| Handle::try_current().map(|h| h.runtime_flavor())).await
            })
            .unwrap();
        assert_eq!(
            in_blocking,
            Ok(flavor),
            "Handle::current on a blocking thread"
        );
    });
}

#[test]
fn runtime_enter_allows_spawn_from_plain_code() {
    on_both_flavors(|rt, flavor| {
        let h = {
            let _guard = rt.enter();
            assert_eq!(Handle::current().runtime_flavor(), flavor);
            runtime::spawn(async { 10 })
        };
        assert!(
            Handle::try_current().is_err(),
            "{flavor:?}: still entered after the guard dropped"
        );
        assert_eq!(rt.block_on(h).unwrap(), 10, "{flavor:?}");
        let h = {
            let _guard = rt.handle().enter();
            task::spawn_blocking(|| 11)
        };
        assert_eq!(rt.block_on(h).unwrap(), 11, "{flavor:?}");
    });
}

#[test]
fn enter_guards_nest_and_restore() {
    let a = multi_thread(1);
    let b = current_thread();
    let _ga = a.enter();
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::MultiThread
    );
    {
        let _gb = b.enter();
        assert_eq!(
            Handle::current().runtime_flavor(),
            RuntimeFlavor::CurrentThread
        );
    }
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::MultiThread
    );
}

// ---------------------------------------------------------------------------------------------
// Edge cases: self-abort, abort/completion races, wakers outliving tasks, remote wakes
// ---------------------------------------------------------------------------------------------

#[test]
fn task_aborting_itself_is_cancelled_at_next_yield() {
    on_both_flavors(|rt, flavor| {
        let continued = Arc::new(AtomicBool::new(false));
        let (guard, dropped) = drop_flag();
        let c = continued.clone();
        let err = rt.block_on(async move {
            let (abort_tx, abort_rx) = oneshot::channel::<task::AbortHandle>();
            let h = runtime::spawn(async move {
                let _guard = guard;
                let me = abort_rx.await.unwrap();
                me.abort();
                task::yield_now().await;
                c.store(true, SeqCst);
            });
            abort_tx.send(h.abort_handle()).unwrap();
            h.await.unwrap_err()
        });
        assert!(err.is_cancelled(), "{flavor:?}: {err:?}");
        assert!(
            !continued.load(SeqCst),
            "{flavor:?}: the task ran past its yield after aborting itself"
        );
        assert!(dropped.load(SeqCst), "{flavor:?}");
    });
}

#[test]
fn abort_racing_completion_gives_output_or_cancelled() {
    const N: usize = 5_000;
    let rt = multi_thread(2);
    rt.block_on(async {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let h = runtime::spawn(async move {
                    if i % 2 == 0 {
                        task::yield_now().await;
                    }
                    i
                });
                let abort = h.abort_handle();
                // Abort from another task, racing the task's own completion.
                runtime::spawn(async move { abort.abort() });
                h
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            match h.await {
                Ok(v) => assert_eq!(v, i, "wrong output"),
                Err(e) => assert!(e.is_cancelled(), "neither output nor cancellation: {e:?}"),
            }
        }
    });
}

#[test]
fn join_handle_dropped_racing_completion() {
    // Dropping JoinHandles on one thread while their tasks complete on workers (or are
    // cancelled by the shutdown that follows): every future is dropped exactly once, and every
    // output that was produced is dropped exactly once.
    const N: usize = 5_000;
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let futures_dropped = Arc::new(AtomicUsize::new(0));
    let outputs_dropped = Arc::new(AtomicUsize::new(0));
    let rt = multi_thread(2);
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let fut_guard = Count(futures_dropped.clone());
            let out = Count(outputs_dropped.clone());
            rt.spawn(async move {
                let _fut_guard = fut_guard;
                out
            })
        })
        .collect();
    drop(handles);
    drop(rt);
    assert_eq!(
        futures_dropped.load(SeqCst),
        N,
        "futures not dropped exactly once"
    );
    // An output moved into a task that never completed is dropped with its future.
    assert_eq!(
        outputs_dropped.load(SeqCst),
        N,
        "outputs not dropped exactly once"
    );
}

#[test]
fn waker_outliving_task_and_runtime_is_harmless() {
    on_both_flavors(|rt, flavor| {
        let stored: Arc<Mutex<Option<std::task::Waker>>> = Arc::new(Mutex::new(None));
        let s = stored.clone();
        rt.block_on(async move {
            runtime::spawn(std::future::poll_fn(move |cx| {
                *s.lock().unwrap() = Some(cx.waker().clone());
                std::task::Poll::Ready(())
            }))
            .await
            .unwrap();
        });
        let waker = stored.lock().unwrap().take().expect("waker stored");
        // The task completed: waking it is a no-op.
        waker.wake_by_ref();
        rt.block_on(async { task::yield_now().await });
        drop(waker);
        assert_eq!(
            rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() }),
            1,
            "{flavor:?}: runtime broken after a stale wake"
        );
    });
    // Now past the runtime's lifetime.
    let stored: Arc<Mutex<Option<std::task::Waker>>> = Arc::new(Mutex::new(None));
    for rt in [multi_thread(1), current_thread()] {
        let s = stored.clone();
        let h = rt.spawn(std::future::poll_fn(move |cx| {
            *s.lock().unwrap() = Some(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }));
        rt.block_on(async { yield_until(|| stored.lock().unwrap().is_some()).await });
        drop(rt);
        let waker = stored.lock().unwrap().take().unwrap();
        waker.wake_by_ref();
        waker.wake();
        assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    }
}

#[test]
fn wake_from_std_thread_reaches_parked_runtime() {
    on_both_flavors(|rt, flavor| {
        let v = rt.block_on(async {
            let (tx, rx) = oneshot::channel::<u32>();
            let h = runtime::spawn(async move { rx.await.unwrap() + 1 });
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                tx.send(41).unwrap();
            });
            let v = h.await.unwrap();
            t.join().unwrap();
            v
        });
        assert_eq!(v, 42, "{flavor:?}");
    });
}

#[test]
fn deep_chain_of_spawn_and_await() {
    fn chain(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32> + Send>> {
        Box::pin(async move {
            if depth == 0 {
                0
            } else {
                runtime::spawn(chain(depth - 1)).await.unwrap() + 1
            }
        })
    }
    on_both_flavors(|rt, flavor| {
        assert_eq!(rt.block_on(chain(2_000)), 2_000, "{flavor:?}");
    });
}

#[test]
fn next_slot_ping_pong_does_not_starve_queued_task() {
    // Two tasks waking each other on one worker keep its "next slot" busy. The task that
    // spawned them yields (to the back of the worker's queue) until it has seen 1000 rounds:
    // it only gets there if queued work still runs while the ping-pong goes on.
    const ROUNDS: usize = 1000;
    // The check is that this returns at all.
    watchdog("ping-pong starvation test", 60, || {
        let rt = multi_thread(1);
        rt.block_on(async {
            runtime::spawn(async {
                use futures::{SinkExt, StreamExt};
                let stop = Arc::new(AtomicBool::new(false));
                let rounds = Arc::new(AtomicUsize::new(0));
                let (mut to_pong, mut pong_rx) = futures::channel::mpsc::channel::<()>(1);
                let (mut to_ping, mut ping_rx) = futures::channel::mpsc::channel::<()>(1);
                let (s, r) = (stop.clone(), rounds.clone());
                let ping = runtime::spawn(async move {
                    while !s.load(SeqCst) {
                        to_pong.send(()).await.unwrap();
                        ping_rx.next().await.unwrap();
                        r.fetch_add(1, SeqCst);
                    }
                });
                let pong = runtime::spawn(async move {
                    while let Some(()) = pong_rx.next().await {
                        if to_ping.send(()).await.is_err() {
                            break;
                        }
                    }
                });
                while rounds.load(SeqCst) < ROUNDS {
                    task::yield_now().await;
                }
                stop.store(true, SeqCst);
                ping.await.unwrap();
                pong.await.unwrap();
            })
            .await
            .unwrap()
        })
    });
}

// ---------------------------------------------------------------------------------------------
// spawn_blocking: abort, ids
// ---------------------------------------------------------------------------------------------

#[test]
fn abort_queued_spawn_blocking_cancels_it() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let (res_first, res_second) = rt.block_on(async move {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = oneshot::channel::<()>();
        // Occupies the only blocking thread until released.
        let first = task::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            1
        });
        started_rx.await.unwrap();
        let second = task::spawn_blocking(move || r.store(true, SeqCst));
        second.abort();
        release_tx.send(()).unwrap();
        (first.await, second.await)
    });
    assert_eq!(res_first.unwrap(), 1);
    assert!(res_second.unwrap_err().is_cancelled());
    assert!(!ran.load(SeqCst), "an aborted queued blocking closure ran");
}

#[test]
fn abort_running_spawn_blocking_has_no_effect() {
    on_both_flavors(|rt, flavor| {
        let res = rt.block_on(async {
            let (started_tx, started_rx) = oneshot::channel::<()>();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let h = task::spawn_blocking(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                "finished"
            });
            started_rx.await.unwrap();
            h.abort();
            release_tx.send(()).unwrap();
            h.await
        });
        assert_eq!(res.unwrap(), "finished", "{flavor:?}");
    });
}

#[test]
fn task_id_inside_spawn_blocking_matches_handle() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let h = task::spawn_blocking(task::try_id);
            let id = h.id();
            assert_eq!(h.await.unwrap(), Some(id), "{flavor:?}");
        });
    });
}

#[test]
fn num_alive_tasks_counts_live_tasks() {
    on_both_flavors(|rt, flavor| {
        let handle = rt.handle().clone();
        rt.block_on(async {
            assert_eq!(handle.num_alive_tasks(), 0, "{flavor:?}");
            let (tx, rx) = oneshot::channel::<()>();
            let h = runtime::spawn(async move { rx.await.unwrap() });
            let pending: Vec<_> = (0..3)
                .map(|_| runtime::spawn(std::future::pending::<()>()))
                .collect();
            assert_eq!(handle.num_alive_tasks(), 4, "{flavor:?}");
            for p in &pending {
                p.abort();
            }
            for p in pending {
                assert!(p.await.unwrap_err().is_cancelled());
            }
            tx.send(()).unwrap();
            h.await.unwrap();
            yield_until(|| handle.num_alive_tasks() == 0).await;
        });
    });
}

#[test]
fn task_id_is_set_while_future_and_output_are_dropped() {
    struct RecordId(Arc<Mutex<Option<Option<task::Id>>>>);
    impl Drop for RecordId {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(task::try_id());
        }
    }
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            // Future dropped by abort.
            let seen = Arc::new(Mutex::new(None));
            let guard = RecordId(seen.clone());
            let (started_tx, started_rx) = oneshot::channel::<()>();
            let h = runtime::spawn(async move {
                let _guard = guard;
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await;
            });
            let id = h.id();
            started_rx.await.unwrap();
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());
            assert_eq!(
                *seen.lock().unwrap(),
                Some(Some(id)),
                "{flavor:?}: try_id() in Drop on abort"
            );

            // Output dropped with the JoinHandle.
            let seen = Arc::new(Mutex::new(None));
            let s = seen.clone();
            let h = runtime::spawn(async move { RecordId(s) });
            let id = h.id();
            yield_until(|| h.is_finished()).await;
            drop(h);
            assert_eq!(
                *seen.lock().unwrap(),
                Some(Some(id)),
                "{flavor:?}: try_id() in output Drop"
            );
        });
    });
}

#[test]
fn panicking_output_drop_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("output-drop-panic");
        }
    }
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            // Output dropped by the JoinHandle drop (task finished first).
            let h = runtime::spawn(async { PanicOnDrop });
            yield_until(|| h.is_finished()).await;
            drop(h);
            // Output dropped by the runtime (JoinHandle dropped first).
            let (tx, rx) = oneshot::channel::<()>();
            let (done_tx, done_rx) = oneshot::channel::<()>();
            drop(runtime::spawn(async move {
                rx.await.unwrap();
                let _ = done_tx.send(());
                PanicOnDrop
            }));
            tx.send(()).unwrap();
            done_rx.await.unwrap();
            // The runtime keeps working.
            let hs: Vec<_> = (0..10).map(|i| runtime::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, 45, "{flavor:?}");
        });
    });
}

#[test]
fn tasks_left_by_one_block_on_run_in_the_next_on_current_thread() {
    let rt = current_thread();
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    rt.block_on(async move {
        drop(runtime::spawn(async move { f.store(true, SeqCst) }));
    });
    let f = flag.clone();
    rt.block_on(async move { yield_until(|| f.load(SeqCst)).await });
    assert!(flag.load(SeqCst));
}

#[test]
fn many_concurrent_block_in_place_calls() {
    let rt = multi_thread(2);
    let sum = watchdog("concurrent block_in_place", 60, move || {
        rt.block_on(async {
            let hs: Vec<_> = (0..100usize)
                .map(|i| {
                    runtime::spawn(async move {
                        let v = task::block_in_place(|| i);
                        task::yield_now().await;
                        v + runtime::spawn(async { 0 }).await.unwrap()
                    })
                })
                .collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        })
    });
    assert_eq!(sum, 4950);
}

/// A loop of `consume_budget` in a task that spawned a flag-setting task just before: the
/// setter sits in the worker's next slot (1-worker multi-thread) or queue (current-thread)
/// and only runs if the loop is made to yield. Returns (iterations before the flag was seen,
/// whether it was seen).
fn budget_loop_vs_spawned_setter(rt: &Runtime, unconstrained: bool) -> (usize, bool) {
    rt.block_on(async move {
        runtime::spawn(async move {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            let setter = runtime::spawn(async move { f.store(true, SeqCst) });
            let f = flag.clone();
            let body = async move {
                for i in 0..LOOP_LEN {
                    if f.load(SeqCst) {
                        return (i, true);
                    }
                    task::consume_budget().await;
                }
                (LOOP_LEN, false)
            };
            let out = if unconstrained {
                task::unconstrained(body).await
            } else {
                body.await
            };
            setter.await.unwrap();
            out
        })
        .await
        .unwrap()
    })
}

#[test]
fn consume_budget_yields_to_spawned_task_on_both_flavors() {
    for (rt, name) in [
        (multi_thread(1), "multi_thread(1)"),
        (current_thread(), "current_thread"),
    ] {
        let (iterations, seen) = budget_loop_vs_spawned_setter(&rt, false);
        assert!(
            seen,
            "{name}: the budget loop never let the spawned task run"
        );
        assert!(
            iterations > 0 && iterations < LOOP_LEN,
            "{name}: {iterations}"
        );
        let (iterations, seen) = budget_loop_vs_spawned_setter(&rt, true);
        assert!(
            !seen,
            "{name}: the spawned task ran during an unconstrained loop"
        );
        assert_eq!(iterations, LOOP_LEN, "{name}");
    }
}

#[test]
fn spawn_onto_another_runtime_runs_there() {
    let a = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("rt-a")
        .build()
        .unwrap();
    let b = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("rt-b")
        .build()
        .unwrap();
    let c = current_thread();
    let b_handle = b.handle().clone();
    let c_handle = c.handle().clone();
    let thread_name = || std::thread::current().name().map(String::from);
    let (on_b, nested_on_b, on_c) = a.block_on(async move {
        runtime::spawn(async move {
            assert_eq!(thread_name().as_deref(), Some("rt-a"));
            let on_b = b_handle.spawn(async move {
                // runtime::spawn inside a task of b stays on b.
                let nested = runtime::spawn(async move { thread_name() }).await.unwrap();
                (thread_name(), nested)
            });
            let on_c = c_handle.spawn(async move { Handle::current().runtime_flavor() });
            let (on_b, nested) = on_b.await.unwrap();
            (on_b, nested, on_c)
        })
        .await
        .unwrap()
    });
    assert_eq!(
        on_b.as_deref(),
        Some("rt-b"),
        "a task spawned on b's handle ran elsewhere"
    );
    assert_eq!(nested_on_b.as_deref(), Some("rt-b"));
    // The current-thread runtime runs it once something drives it.
    assert_eq!(c.block_on(on_c).unwrap(), RuntimeFlavor::CurrentThread);
}
