//! Tests for `runtime::join!`, `runtime::try_join!` and `runtime::pin!`: outputs and their
//! types, concurrency on one task, early return and cancellation in `try_join!`, polling
//! order with and without `biased;`, 64 branches, `!Unpin` futures, both `pin!` forms, both
//! runtime flavors, and (trybuild) readable errors for misuse.

mod support;

use futures::channel::oneshot;
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use support::recorder;

/// Misuse of the macros fails to compile with the diagnostics in the `.stderr` files.
#[test]
fn ui_join_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/join_fail/*.rs");
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// A future that is `Pending` `n` times (waking itself each time), then ready.
async fn yield_times(n: usize) {
    let mut left = n;
    std::future::poll_fn(|cx| {
        if left == 0 {
            return Poll::Ready(());
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Counts how often it is polled and never completes.
struct CountPolls(Arc<AtomicUsize>);

impl Future for CountPolls {
    type Output = Result<(), &'static str>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.fetch_add(1, SeqCst);
        Poll::Pending
    }
}

#[runtime::test]
async fn join_returns_outputs_as_tuple() {
    async fn number() -> u32 {
        7
    }
    let (a, b, c, d): (u32, &str, Vec<u8>, ()) =
        runtime::join!(number(), async { "text" }, async { vec![1, 2] }, async {});
    assert_eq!((a, b, c, d), (7, "text", vec![1, 2], ()));

    let (single,): (i32,) = runtime::join!(async { -1 });
    assert_eq!(single, -1);

    let trailing_comma = runtime::join!(async { 1 }, async { 2 },);
    assert_eq!(trailing_comma, (1, 2));

    let empty: () = runtime::join!();
    assert_eq!(empty, ());
    let empty_biased: () = runtime::join!(biased;);
    assert_eq!(empty_biased, ());
}

#[runtime::test]
async fn join_accepts_into_future_and_nested_joins() {
    struct Later(u8);
    impl IntoFuture for Later {
        type Output = u8;
        type IntoFuture = std::future::Ready<u8>;
        fn into_future(self) -> Self::IntoFuture {
            std::future::ready(self.0 + 1)
        }
    }
    let (a, (b, c)) = runtime::join!(Later(1), async { runtime::join!(Later(2), async { 4 }) });
    assert_eq!((a, b, c), (2, 3, 4));
}

/// Each future waits for a message from the other, so they can only complete if they are
/// polled concurrently.
#[runtime::test]
async fn join_polls_futures_concurrently() {
    let (to_b, from_a) = oneshot::channel::<u32>();
    let (to_a, from_b) = oneshot::channel::<u32>();
    let a = async move {
        to_b.send(1).unwrap();
        from_b.await.unwrap() + 10
    };
    let b = async move {
        let got = from_a.await.unwrap();
        to_a.send(got + 1).unwrap();
        got + 100
    };
    assert_eq!(runtime::join!(a, b), (12, 101));
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_on_multi_thread_runtime() {
    let (to_b, from_a) = oneshot::channel::<&str>();
    let (to_a, from_b) = oneshot::channel::<&str>();
    let spawned = runtime::spawn(async { 5 });
    let (a, b, c) = runtime::join!(
        async move {
            to_b.send("ping").unwrap();
            from_b.await.unwrap()
        },
        async move {
            let ping = from_a.await.unwrap();
            to_a.send("pong").unwrap();
            ping
        },
        spawned,
    );
    assert_eq!((a, b, c.unwrap()), ("pong", "ping", 5));

    let result = runtime::try_join!(async { Ok::<_, ()>(1) }, async {
        yield_times(3).await;
        Ok(2)
    });
    assert_eq!(result, Ok((1, 2)));
}

/// A completed branch is not polled again while the others are still pending.
#[runtime::test]
async fn completed_branches_are_not_polled_again() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let out = runtime::join!(biased; recorder(0, 0, &log), recorder(1, 3, &log));
    assert_eq!(out, (0, 1));
    assert_eq!(*log.borrow(), vec![0, 1, 1, 1, 1]);
}

/// With `biased;`, every poll starts with the first branch.
#[runtime::test]
async fn biased_polls_in_written_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    runtime::join!(biased; recorder(0, 2, &log), recorder(1, 2, &log), recorder(2, 2, &log));
    assert_eq!(*log.borrow(), vec![0, 1, 2, 0, 1, 2, 0, 1, 2]);

    let log = Rc::new(RefCell::new(Vec::new()));
    let res = runtime::try_join!(biased;
        async { Ok::<_, ()>(recorder(0, 1, &log).await) },
        async { Ok(recorder(1, 1, &log).await) },
    );
    assert_eq!(res, Ok((0, 1)));
    assert_eq!(*log.borrow(), vec![0, 1, 0, 1]);
}

/// Without `biased;`, the branch polled first rotates from one poll to the next.
#[runtime::test]
async fn unbiased_rotates_the_first_branch() {
    let log = Rc::new(RefCell::new(Vec::new()));
    runtime::join!(
        recorder(0, 2, &log),
        recorder(1, 2, &log),
        recorder(2, 2, &log)
    );
    assert_eq!(*log.borrow(), vec![0, 1, 2, 1, 2, 0, 2, 0, 1]);

    let log = Rc::new(RefCell::new(Vec::new()));
    let res = runtime::try_join!(async { Ok::<_, ()>(recorder(0, 2, &log).await) }, async {
        Ok(recorder(1, 2, &log).await)
    },);
    assert_eq!(res, Ok((0, 1)));
    assert_eq!(*log.borrow(), vec![0, 1, 1, 0, 0, 1]);
}

#[runtime::test]
async fn try_join_all_ok() {
    async fn ok(x: u32) -> Result<u32, String> {
        yield_times(x as usize).await;
        Ok(x)
    }
    let res: Result<(u32, u32, u32), String> = runtime::try_join!(ok(3), ok(1), ok(2));
    assert_eq!(res, Ok((3, 1, 2)));

    let single = runtime::try_join!(ok(0));
    assert_eq!(single, Ok((0,)));

    let empty: Result<(), String> = runtime::try_join!();
    assert_eq!(empty, Ok(()));
}

/// The first error is returned as soon as it happens; the other futures are dropped then and
/// not polled again.
#[runtime::test]
async fn try_join_returns_first_error_and_drops_the_rest() {
    let dropped = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let guard = DropFlag(dropped.clone());
    let slow_err = async {
        yield_times(10).await;
        Err::<u8, _>("slow error")
    };
    let never = async move {
        let _guard = guard;
        std::future::pending::<()>().await;
        Ok::<u8, &str>(0)
    };
    let fast_err = async {
        yield_times(2).await;
        Err::<u8, _>("fast error")
    };
    let res = runtime::try_join!(slow_err, never, CountPolls(polls.clone()), fast_err);
    assert_eq!(res, Err("fast error"));
    assert!(dropped.load(SeqCst), "pending branch was not dropped");
    // Polled once per round: the initial poll and the two wake-ups of `fast_err`.
    assert_eq!(polls.load(SeqCst), 3);
}

/// A failure on the first poll returns at once, without waiting for the other branches.
#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_join_error_does_not_wait_for_pending_branches() {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    let res = runtime::try_join!(
        async move {
            let _guard = guard;
            std::future::pending::<Result<(), u32>>().await
        },
        async { Err::<(), u32>(42) },
    );
    assert_eq!(res, Err(42));
    assert!(dropped.load(SeqCst));
}

/// With `biased;`, when several branches fail in the same poll, the first one written wins.
#[runtime::test]
async fn try_join_biased_first_error_in_order() {
    for _ in 0..3 {
        let res = runtime::try_join!(biased;
            async { Ok::<u8, u8>(0) },
            async { Err::<u8, u8>(1) },
            async { Err::<u8, u8>(2) },
        );
        assert_eq!(res, Err(1));
    }
}

/// A branch's future is dropped as soon as it completes, not when the whole `join!` does.
#[runtime::test]
async fn completed_future_is_dropped_immediately() {
    struct ReadyWithGuard {
        _guard: DropFlag,
    }
    impl Future for ReadyWithGuard {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let first = ReadyWithGuard {
        _guard: DropFlag(dropped.clone()),
    };
    let (_, seen) = runtime::join!(biased; first, async {
        yield_times(1).await;
        dropped.load(SeqCst)
    });
    assert!(
        seen,
        "completed branch still alive while the other branch ran"
    );
}

/// The macros' own locals are hygienic: user expressions that use the same names (or an item
/// named like one) see their own bindings, and a variable called `biased` is an ordinary
/// branch.
#[runtime::test]
async fn macro_locals_do_not_leak_into_branches() {
    const COUNT: usize = 100;
    let slot = 1;
    let cx = 2;
    let count = 3;
    let start = 4;
    let all_done = 5;
    let next_start = 6;
    let biased = async { 7 };
    let out = runtime::join!(
        biased,
        async { slot + cx + count + start + all_done + next_start },
        async { COUNT },
    );
    assert_eq!(out, (7, 21, 100));
}

#[runtime::test]
async fn sixty_four_branches() {
    macro_rules! y {
        ($n:expr) => {
            async {
                yield_times($n % 3).await;
                $n
            }
        };
    }
    let out = runtime::join!(
        y!(0),
        y!(1),
        y!(2),
        y!(3),
        y!(4),
        y!(5),
        y!(6),
        y!(7),
        y!(8),
        y!(9),
        y!(10),
        y!(11),
        y!(12),
        y!(13),
        y!(14),
        y!(15),
        y!(16),
        y!(17),
        y!(18),
        y!(19),
        y!(20),
        y!(21),
        y!(22),
        y!(23),
        y!(24),
        y!(25),
        y!(26),
        y!(27),
        y!(28),
        y!(29),
        y!(30),
        y!(31),
        y!(32),
        y!(33),
        y!(34),
        y!(35),
        y!(36),
        y!(37),
        y!(38),
        y!(39),
        y!(40),
        y!(41),
        y!(42),
        y!(43),
        y!(44),
        y!(45),
        y!(46),
        y!(47),
        y!(48),
        y!(49),
        y!(50),
        y!(51),
        y!(52),
        y!(53),
        y!(54),
        y!(55),
        y!(56),
        y!(57),
        y!(58),
        y!(59),
        y!(60),
        y!(61),
        y!(62),
        y!(63),
    );
    assert_eq!(out.0, 0);
    assert_eq!(out.31, 31);
    assert_eq!(out.63, 63);

    macro_rules! t {
        ($n:expr) => {
            async {
                yield_times($n % 4).await;
                Ok::<u32, String>($n)
            }
        };
    }
    let ok = runtime::try_join!(biased;
        t!(0), t!(1), t!(2), t!(3), t!(4), t!(5), t!(6), t!(7),
        t!(8), t!(9), t!(10), t!(11), t!(12), t!(13), t!(14), t!(15),
        t!(16), t!(17), t!(18), t!(19), t!(20), t!(21), t!(22), t!(23),
        t!(24), t!(25), t!(26), t!(27), t!(28), t!(29), t!(30), t!(31),
        t!(32), t!(33), t!(34), t!(35), t!(36), t!(37), t!(38), t!(39),
        t!(40), t!(41), t!(42), t!(43), t!(44), t!(45), t!(46), t!(47),
        t!(48), t!(49), t!(50), t!(51), t!(52), t!(53), t!(54), t!(55),
        t!(56), t!(57), t!(58), t!(59), t!(60), t!(61), t!(62), t!(63),
    )
    .unwrap();
    assert_eq!((ok.0, ok.40, ok.63), (0, 40, 63));
}

/// Futures that are `!Unpin` (self-referential async blocks, `PhantomPinned`) work in
/// `join!`/`try_join!` and with `pin!`.
#[runtime::test]
async fn not_unpin_futures() {
    fn assert_not_unpin<F: Future>(f: F) -> F {
        f
    }
    let data = [1, 2, 3];
    let borrowing = assert_not_unpin(async {
        let local = [10, 20];
        let r = &local; // held across an await: self-referential
        yield_times(2).await;
        r.iter().sum::<i32>() + data.iter().sum::<i32>()
    });
    let phantom = async {
        let _marker = PhantomPinned;
        yield_times(1).await;
        "phantom"
    };
    assert_eq!(runtime::join!(borrowing, phantom), (36, "phantom"));

    let res = runtime::try_join!(
        async {
            let s = String::from("abc");
            let r = &s;
            yield_times(1).await;
            Ok::<usize, ()>(r.len())
        },
        async {
            let _m = PhantomPinned;
            yield_times(2).await;
            Ok(1)
        },
    );
    assert_eq!(res, Ok((3, 1)));
}

#[runtime::test]
async fn pin_shadows_variables() {
    let a = async {
        let _m = PhantomPinned;
        yield_times(1).await;
        1
    };
    let b = yield_times(2);
    runtime::pin!(a, b);
    let a_pinned: Pin<&mut _> = a.as_mut();
    // Poll through the pinned reference, then await the rest.
    assert_eq!(a_pinned.await, 1);
    b.as_mut().await;

    let c = async { 3 };
    runtime::pin!(c,);
    // A pinned `&mut` is itself a future and can be polled by hand.
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert_eq!(c.as_mut().poll(&mut cx), Poll::Ready(3));
}

#[runtime::test]
async fn pin_declaration_form() {
    runtime::pin! {
        let first = async {
            yield_times(1).await;
            "first"
        };
        let second = async {
            let _m = PhantomPinned;
            "second"
        };
    }
    // Poll `first` by reference until done, in a loop, without moving it.
    let mut polls = 0;
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let out = loop {
        polls += 1;
        if let Poll::Ready(v) = first.as_mut().poll(&mut cx) {
            break v;
        }
    };
    assert_eq!((out, polls), ("first", 2));
    assert_eq!(second.await, "second");
}

/// A future that uses `join!`/`try_join!` on `Send` branches is itself `Send`, so it can be
/// spawned on the multi-thread runtime.
#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_inside_spawned_task_is_send() {
    let task = runtime::spawn(async {
        let (a, b) = runtime::join!(
            async {
                yield_times(2).await;
                String::from("a")
            },
            async { 2 }
        );
        let c = runtime::try_join!(biased; async { Ok::<_, String>(3) }, async {
            yield_times(1).await;
            Ok(4)
        });
        (a, b, c)
    });
    assert_eq!(task.await.unwrap(), (String::from("a"), 2, Ok((3, 4))));
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_spawned_tasks_multi_thread() {
    let handles = runtime::join!(
        runtime::spawn(async { 1 }),
        runtime::spawn(async {
            yield_times(5).await;
            2
        }),
        runtime::spawn(async { 3 }),
    );
    assert_eq!(
        (handles.0.unwrap(), handles.1.unwrap(), handles.2.unwrap()),
        (1, 2, 3)
    );
}

/// `join!` in an ordinary (non-test) async fn, called with a runtime built by hand.
#[test]
fn join_in_plain_async_fn() {
    async fn both(x: u32) -> (u32, u32) {
        runtime::join!(async { x }, async { x * 2 })
    }
    let rt = runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(both(4)), (4, 8));
}
