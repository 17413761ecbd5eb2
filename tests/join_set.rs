//! Integration tests of `runtime::task::JoinSet` on both runtime flavors: collecting every
//! output, completion order, `len`/`is_empty`, `try_join_next`, `poll_join_next`,
//! `abort_all`, per-task `AbortHandle`s, `shutdown`, `detach_all`, dropping the set (aborts
//! its tasks), `spawn_blocking` and `spawn_on`, panics, the empty set, and cancel safety of
//! `join_next`.

mod support;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use runtime::task::{self, AbortHandle, JoinSet};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use support::{current_thread, on_both_flavors, yield_until, CountDrop};

/// Sends its tag on an unbounded channel when dropped: observes a task's future being dropped.
struct ReportDrop(usize, mpsc::UnboundedSender<usize>);

impl Drop for ReportDrop {
    fn drop(&mut self) {
        let _ = self.1.unbounded_send(self.0);
    }
}

#[test]
fn join_next_yields_every_output() {
    on_both_flavors(|rt, flavor| {
        let (sum, seen) = rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..100u64 {
                set.spawn(async move {
                    task::yield_now().await;
                    i
                });
            }
            assert_eq!(set.len(), 100);
            let mut sum = 0;
            let mut seen = HashSet::new();
            while let Some(res) = set.join_next().await {
                let v = res.unwrap();
                assert!(seen.insert(v), "{flavor:?}: output {v} joined twice");
                sum += v;
            }
            assert!(set.is_empty());
            (sum, seen.len())
        });
        assert_eq!(sum, 4950, "{flavor:?}");
        assert_eq!(seen, 100, "{flavor:?}");
    });
}

#[test]
fn join_next_returns_in_completion_order_one_at_a_time() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut senders = Vec::new();
            for i in 0..4usize {
                let (tx, rx) = oneshot::channel::<()>();
                senders.push(Some(tx));
                set.spawn(async move {
                    rx.await.unwrap();
                    i
                });
            }
            for i in [2usize, 0, 3, 1] {
                senders[i].take().unwrap().send(()).unwrap();
                let got = set.join_next().await.unwrap().unwrap();
                assert_eq!(
                    got, i,
                    "{flavor:?}: the task released first was not joined first"
                );
            }
            assert!(set.join_next().await.is_none());
        });
    });
}

#[test]

fn join_next_returns_in_completion_order_when_several_finished() {
    // All tasks complete before the first join_next: the set's documentation says tasks are
    // "joined in the order they complete". Current-thread so that completion order is exact.
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        let mut aborts: Vec<AbortHandle> = Vec::new();
        for i in 0..4usize {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(Some(tx));
            aborts.push(set.spawn(async move {
                rx.await.unwrap();
                i
            }));
        }
        let order = [2usize, 0, 3, 1];
        for &i in &order {
            senders[i].take().unwrap().send(()).unwrap();
            yield_until(|| aborts[i].is_finished()).await;
        }
        let mut joined = Vec::new();
        while let Some(res) = set.join_next().await {
            joined.push(res.unwrap());
        }
        assert_eq!(joined, order, "joined order differs from completion order");
    });
}

#[test]
fn len_and_is_empty() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set: JoinSet<u8> = JoinSet::new();
            assert_eq!(set.len(), 0);
            assert!(set.is_empty());
            let (tx, rx) = oneshot::channel::<()>();
            set.spawn(async { 1 });
            set.spawn(async move {
                rx.await.unwrap();
                2
            });
            assert_eq!(set.len(), 2, "{flavor:?}");
            assert!(!set.is_empty(), "{flavor:?}");
            // A finished but not yet joined task still counts.
            assert_eq!(set.join_next().await.unwrap().unwrap(), 1, "{flavor:?}");
            assert_eq!(set.len(), 1, "{flavor:?}");
            tx.send(()).unwrap();
            assert_eq!(set.join_next().await.unwrap().unwrap(), 2, "{flavor:?}");
            assert_eq!(set.len(), 0, "{flavor:?}");
            assert!(set.is_empty(), "{flavor:?}");
            // Slots are reused correctly after removal.
            for i in 0..10 {
                set.spawn(async move { i });
            }
            assert_eq!(set.len(), 10, "{flavor:?}");
            let mut n = 0;
            while set.join_next().await.is_some() {
                n += 1;
            }
            assert_eq!(n, 10, "{flavor:?}");
        });
        let set: JoinSet<()> = JoinSet::default();
        assert!(set.is_empty());
    });
}

#[test]
fn try_join_next_none_until_a_task_finished() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            assert!(set.try_join_next().is_none(), "{flavor:?}: empty set");
            let (tx, rx) = oneshot::channel::<()>();
            let abort = set.spawn(async move {
                rx.await.unwrap();
                "done"
            });
            task::yield_now().await;
            assert!(
                set.try_join_next().is_none(),
                "{flavor:?}: nothing finished yet"
            );
            assert_eq!(set.len(), 1);
            tx.send(()).unwrap();
            yield_until(|| abort.is_finished()).await;
            // Completion is visible; the entry's wake may trail it on another thread.
            let mut res = set.try_join_next();
            while res.is_none() {
                task::yield_now().await;
                res = set.try_join_next();
            }
            assert_eq!(res.unwrap().unwrap(), "done", "{flavor:?}");
            assert!(set.is_empty(), "{flavor:?}");
            assert!(set.try_join_next().is_none(), "{flavor:?}");
        });
    });
}

#[test]
fn poll_join_next_works_in_manual_future() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { 5 });
            let res = std::future::poll_fn(|cx| set.poll_join_next(cx)).await;
            assert_eq!(res.unwrap().unwrap(), 5, "{flavor:?}");
            let res = std::future::poll_fn(|cx| set.poll_join_next(cx)).await;
            assert!(
                res.is_none(),
                "{flavor:?}: Ready(None) expected on an empty set"
            );
        });
    });
}

#[test]
fn abort_all_cancels_every_task() {
    on_both_flavors(|rt, flavor| {
        let dropped = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let guard = CountDrop(dropped.clone());
                set.spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                });
            }
            // Let some of them start.
            task::yield_now().await;
            set.abort_all();
            assert_eq!(set.len(), 10, "{flavor:?}: aborted tasks stay until joined");
            let mut cancelled = 0;
            while let Some(res) = set.join_next().await {
                let err = res.unwrap_err();
                assert!(err.is_cancelled(), "{flavor:?}: {err:?}");
                cancelled += 1;
            }
            assert_eq!(cancelled, 10, "{flavor:?}");
        });
        assert_eq!(
            dropped.load(SeqCst),
            10,
            "{flavor:?}: not every future was dropped"
        );
    });
}

#[test]
fn abort_handle_from_spawn_cancels_one_task() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (tx, rx) = oneshot::channel::<()>();
            let keep = set.spawn(async move {
                rx.await.unwrap();
                1
            });
            let victim = set.spawn(std::future::pending::<i32>());
            assert_ne!(keep.id(), victim.id());
            victim.abort();
            let err = set.join_next().await.unwrap().unwrap_err();
            assert!(err.is_cancelled(), "{flavor:?}: {err:?}");
            assert_eq!(err.id(), victim.id(), "{flavor:?}");
            tx.send(()).unwrap();
            assert_eq!(set.join_next().await.unwrap().unwrap(), 1, "{flavor:?}");
        });
    });
}

#[test]
fn shutdown_empties_the_set() {
    on_both_flavors(|rt, flavor| {
        let dropped = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..10 {
                let guard = CountDrop(dropped.clone());
                if i % 2 == 0 {
                    set.spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await;
                    });
                } else {
                    set.spawn(async move {
                        drop(guard);
                    });
                }
            }
            set.shutdown().await;
            assert!(set.is_empty(), "{flavor:?}");
            assert_eq!(set.len(), 0, "{flavor:?}");
            assert!(set.join_next().await.is_none(), "{flavor:?}");
            // shutdown waited for every task: all futures are gone.
            assert_eq!(dropped.load(SeqCst), 10, "{flavor:?}");
        });
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded::<usize>();
            let (started_tx, mut started_rx) = mpsc::unbounded::<()>();
            let mut set = JoinSet::new();
            for i in 0..10 {
                let guard = ReportDrop(i, tx.clone());
                let started = started_tx.clone();
                set.spawn(async move {
                    let _guard = guard;
                    started.unbounded_send(()).unwrap();
                    std::future::pending::<()>().await;
                });
            }
            drop(tx);
            // Wait until half of them started, then drop the set.
            for _ in 0..5 {
                started_rx.next().await.unwrap();
            }
            drop(set);
            let mut dropped = HashSet::new();
            while let Some(i) = rx.next().await {
                dropped.insert(i);
            }
            assert_eq!(
                dropped.len(),
                10,
                "{flavor:?}: futures not dropped: {dropped:?}"
            );
        });
    });
}

#[test]
fn detach_all_keeps_tasks_running() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (done_tx, mut done_rx) = mpsc::unbounded::<usize>();
            let mut senders = Vec::new();
            for i in 0..5 {
                let (tx, rx) = oneshot::channel::<()>();
                senders.push(tx);
                let done = done_tx.clone();
                set.spawn(async move {
                    rx.await.unwrap();
                    done.unbounded_send(i).unwrap();
                });
            }
            drop(done_tx);
            set.detach_all();
            assert!(set.is_empty(), "{flavor:?}");
            assert!(set.join_next().await.is_none(), "{flavor:?}");
            // The set is usable afterwards, and the detached tasks do not show up in it.
            set.spawn(async {});
            for tx in senders {
                tx.send(()).unwrap();
            }
            let mut finished = HashSet::new();
            while let Some(i) = done_rx.next().await {
                finished.insert(i);
            }
            assert_eq!(
                finished.len(),
                5,
                "{flavor:?}: detached tasks did not run to completion"
            );
            assert_eq!(set.len(), 1, "{flavor:?}");
            set.join_next().await.unwrap().unwrap();
            assert!(set.join_next().await.is_none(), "{flavor:?}");
            drop(set);
        });
    });
}

#[test]
fn spawn_blocking_in_join_set() {
    on_both_flavors(|rt, flavor| {
        let sum = rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..16u32 {
                set.spawn_blocking(move || i * 2);
            }
            set.spawn(async { 1000 });
            let mut sum = 0;
            while let Some(res) = set.join_next().await {
                sum += res.unwrap();
            }
            sum
        });
        assert_eq!(sum, 1000 + 2 * 120, "{flavor:?}");
    });
}

#[test]
fn spawn_on_handle_from_outside() {
    on_both_flavors(|rt, flavor| {
        let mut set = JoinSet::new();
        for i in 0..5 {
            set.spawn_on(async move { i }, rt.handle());
        }
        let sum = rt.block_on(async {
            let mut s = 0;
            while let Some(r) = set.join_next().await {
                s += r.unwrap();
            }
            s
        });
        assert_eq!(sum, 10, "{flavor:?}");
    });
}

#[test]
fn join_next_reports_panics() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async {
                if true {
                    panic!("set-boom");
                }
                0
            });
            set.spawn(async { 1 });
            let mut ok = 0;
            let mut panics = 0;
            while let Some(res) = set.join_next().await {
                match res {
                    Ok(v) => ok += v,
                    Err(e) => {
                        assert!(e.is_panic(), "{flavor:?}: {e:?}");
                        assert!(e.to_string().contains("set-boom"), "{flavor:?}: {e}");
                        panics += 1;
                    }
                }
            }
            assert_eq!((ok, panics), (1, 1), "{flavor:?}");
        });
    });
}

#[test]
fn join_next_on_empty_set_is_none() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set: JoinSet<()> = JoinSet::new();
            assert!(set.join_next().await.is_none(), "{flavor:?}");
            assert!(set.join_next().await.is_none(), "{flavor:?}");
        });
    });
    // Outside a runtime too: it does not need one.
    let mut set: JoinSet<()> = JoinSet::new();
    assert!(futures::executor::block_on(set.join_next()).is_none());
}

#[test]
fn join_next_is_cancel_safe() {
    on_both_flavors(|rt, flavor| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            let (tx, rx) = oneshot::channel::<()>();
            let abort = set.spawn(async move {
                rx.await.unwrap();
                77
            });
            // Polled while pending, then dropped.
            {
                let fut = set.join_next();
                futures::pin_mut!(fut);
                assert!(futures::poll!(fut.as_mut()).is_pending(), "{flavor:?}");
            }
            tx.send(()).unwrap();
            yield_until(|| abort.is_finished()).await;
            // Created after the task finished (its wake already recorded), dropped unpolled.
            drop(set.join_next());
            assert_eq!(set.len(), 1, "{flavor:?}: the output was lost");
            assert_eq!(set.join_next().await.unwrap().unwrap(), 77, "{flavor:?}");
            assert!(set.is_empty(), "{flavor:?}");
        });
    });
}

#[test]
fn join_next_in_select_loop_loses_nothing() {
    // Race join_next against an always-ready future many times: every output still arrives.
    on_both_flavors(|rt, flavor| {
        let sum = rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..50u64 {
                set.spawn(async move {
                    task::yield_now().await;
                    i
                });
            }
            let mut sum = 0;
            let mut races = 0;
            while !set.is_empty() {
                let next = set.join_next();
                futures::pin_mut!(next);
                match futures::future::select(next, futures::future::ready(())).await {
                    futures::future::Either::Left((res, _)) => sum += res.unwrap().unwrap(),
                    futures::future::Either::Right(((), _)) => {
                        races += 1;
                        task::yield_now().await;
                    }
                }
                assert!(races < 1_000_000, "{flavor:?}: no progress");
            }
            sum
        });
        assert_eq!(sum, 1225, "{flavor:?}");
    });
}
