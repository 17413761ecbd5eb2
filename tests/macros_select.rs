//! Tests for `runtime::select!`: the first branch to complete with a matching output wins and
//! the others are dropped before its handler runs; preconditions (a disabled branch's future
//! is created but never polled); pattern mismatches that disable a branch; `else` and the
//! panic without it; `biased;` order and the fairness of the random start; 64 branches;
//! `select!` in loops with `break`/`continue`/`?`; borrowed and `!Unpin` futures; hygiene;
//! `Send`-ness; both runtime flavors with `runtime::sync::oneshot`; and (trybuild) readable
//! errors for misuse.

mod support;

use futures::StreamExt;
use std::cell::RefCell;
use std::future::{pending, Future};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use support::{current_thread, drop_flag, on_both_flavors, panic_payload_str, recorder, DropFlag};

/// Misuse of `select!` fails to compile with the diagnostics in the `.stderr` files.
#[test]
fn ui_select_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/select_fail/*.rs");
}

/// Counts how often it is polled and never completes.
struct CountPolls(Arc<AtomicUsize>);

impl Future for CountPolls {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, SeqCst);
        Poll::Pending
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

/// Never completes; sets its flag when dropped.
async fn pending_with_guard(guard: DropFlag) -> u32 {
    let _guard = guard;
    pending::<u32>().await
}

#[runtime::test]
async fn first_completed_branch_wins_and_the_others_are_dropped() {
    let (guard_a, dropped_a) = drop_flag();
    let (guard_b, dropped_b) = drop_flag();
    let out = runtime::select! {
        v = pending_with_guard(guard_a) => v,
        v = async { yield_times(2).await; 7 } => v + 1,
        v = pending_with_guard(guard_b) => v,
    };
    assert_eq!(out, 8);
    assert!(dropped_a.load(SeqCst) && dropped_b.load(SeqCst));
}

/// The losing futures (and the winner's future) are dropped before the handler runs, so the
/// handler may use what they borrowed.
#[runtime::test]
async fn futures_are_dropped_before_the_handler_runs() {
    let (loser_guard, loser_dropped) = drop_flag();
    let (winner_guard, winner_dropped) = drop_flag();
    let mut borrowed = vec![1, 2];
    let seen = runtime::select! {
        _ = pending_with_guard(loser_guard) => unreachable!(),
        n = async {
            let _guard = winner_guard;
            borrowed.push(3); // the future borrows `borrowed` mutably
            borrowed.len()
        } => {
            borrowed.push(4); // ... so this only compiles because it was dropped
            (n, loser_dropped.load(SeqCst), winner_dropped.load(SeqCst))
        }
    };
    assert_eq!(seen, (3, true, true));
    assert_eq!(borrowed, [1, 2, 3, 4]);
}

/// A false precondition disables its branch: its future expression is still evaluated (as in
/// Tokio) but the future is never polled, even though it would be ready at once.
#[runtime::test]
async fn false_precondition_disables_the_branch_without_polling_it() {
    let created = AtomicUsize::new(0);
    let polls = Arc::new(AtomicUsize::new(0));
    let make = |polls: &Arc<AtomicUsize>| {
        created.fetch_add(1, SeqCst);
        CountPolls(polls.clone())
    };
    let ready_but_disabled = runtime::select! {
        _ = make(&polls), if false => "disabled branch ran",
        v = async { "ready" }, if false => v,
        v = async { yield_times(1).await; "enabled" }, if 1 + 1 == 2 => v,
    };
    assert_eq!(ready_but_disabled, "enabled");
    assert_eq!(
        created.load(SeqCst),
        1,
        "the future expression is evaluated"
    );
    assert_eq!(polls.load(SeqCst), 0, "a disabled future is never polled");
}

/// All preconditions are evaluated first, in order, then all future expressions, in order.
#[runtime::test]
async fn preconditions_are_evaluated_before_the_futures() {
    let log = RefCell::new(Vec::new());
    let note = |what: &'static str| {
        log.borrow_mut().push(what);
        true
    };
    let out = runtime::select! {
        biased;
        v = { note("future 0"); async { 0 } }, if note("precondition 0") => v,
        v = { note("future 1"); async { 1 } }, if note("precondition 1") => v,
    };
    assert_eq!(out, 0);
    assert_eq!(
        *log.borrow(),
        ["precondition 0", "precondition 1", "future 0", "future 1"]
    );
}

/// An output that does not match the pattern disables its branch; the others keep going.
#[runtime::test]
async fn pattern_mismatch_falls_through_to_the_other_branches() {
    let (tx, mut closed) = futures::channel::mpsc::unbounded::<u32>();
    drop(tx); // `next()` on a closed, empty channel returns `None` at once
    let (tx2, mut open) = futures::channel::mpsc::unbounded::<u32>();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        tx2.unbounded_send(5).unwrap();
        tx2
    });
    let out = runtime::select! {
        Some(v) = closed.next() => v,
        Some(v) = open.next() => v * 10,
    };
    assert_eq!(out, 50);
    drop(sender.join().unwrap());

    // Several branches mismatch in the same poll; the one that matches later still wins.
    let out = runtime::select! {
        Ok(v) = async { Err::<u8, u8>(1) } => v,
        Some(v) = async { yield_times(3).await; Some(2u8) } => v,
        Ok(v) = async { Err::<u8, u8>(3) } => v,
    };
    assert_eq!(out, 2);
}

/// A branch whose output did not match is not polled again.
#[runtime::test]
async fn mismatched_branch_is_not_polled_again() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let out = runtime::select! {
        biased;
        7 = recorder(0, 0, &log) => "zero",
        1 = recorder(1, 2, &log) => "one",
    };
    assert_eq!(out, "one");
    assert_eq!(*log.borrow(), [0, 1, 1, 1]);
}

#[runtime::test]
async fn else_runs_when_all_branches_are_disabled() {
    let by_precondition = runtime::select! {
        v = async { 1 }, if false => v,
        v = async { 2 }, if false => v,
        else => 0,
    };
    assert_eq!(by_precondition, 0);

    let by_mismatch = runtime::select! {
        Some(v) = async { None::<i32> } => v,
        Ok(v) = async { yield_times(2).await; Err::<i32, ()>(()) } => v,
        else => { -1 }
    };
    assert_eq!(by_mismatch, -1);

    // Mixed, with a trailing comma after the `else` block.
    let mixed = runtime::select! {
        v = async { 1 }, if false => v,
        Some(v) = async { None } => v,
        else => { 9 },
    };
    assert_eq!(mixed, 9);

    // `else` does not run while a branch can still win.
    let won = runtime::select! {
        Some(v) = async { None::<i32> } => v,
        v = async { yield_times(3).await; 4 } => v,
        else => unreachable!(),
    };
    assert_eq!(won, 4);
}

/// Without `else`, `select!` panics (with Tokio's message) once every branch is disabled.
#[test]
fn panics_when_all_branches_are_disabled_and_there_is_no_else() {
    let rt = current_thread();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            runtime::select! {
                Some(v) = async { None::<u8> } => v,
                v = async { 1u8 }, if false => v,
            }
        })
    }))
    .expect_err("select! returned although no branch could complete");
    assert_eq!(
        panic_payload_str(&*panic),
        Some("all branches are disabled and there is no else branch")
    );
}

/// With `biased;`, every poll goes through the branches in the order written, so when several
/// are ready the first one wins, every time.
#[runtime::test]
async fn biased_polls_in_written_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let out = runtime::select! {
        biased;
        v = recorder(0, 2, &log) => v,
        v = recorder(1, 5, &log) => v,
        v = recorder(2, 5, &log) => v,
    };
    assert_eq!(out, 0);
    assert_eq!(*log.borrow(), [0, 1, 2, 0, 1, 2, 0]);

    for _ in 0..100 {
        let first = runtime::select! {
            biased;
            v = async { 'a' } => v,
            v = async { 'b' } => v,
            v = async { 'c' } => v,
        };
        assert_eq!(first, 'a');
    }
}

/// Without `biased;`, the branch polled first is random, so each of several ready branches
/// wins a fair share.
#[runtime::test]
async fn random_start_is_fair() {
    let mut wins = [0u32; 3];
    for _ in 0..3000 {
        let winner = runtime::select! {
            v = async { 0 } => v,
            v = async { 1 } => v,
            v = async { 2 } => v,
        };
        wins[winner] += 1;
    }
    // Expected ~1000 each; 700 is far outside what a fair draw produces by chance.
    assert!(wins.iter().all(|&w| w > 700), "unfair wins: {wins:?}");
}

/// A branch that is always ready cannot stop an unbiased `select!` from seeing the others:
/// rotation reaches the pending one and it gets polled on every poll.
#[runtime::test]
async fn every_enabled_branch_is_polled_each_time() {
    let polls = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        runtime::select! {
            _ = CountPolls(polls.clone()) => unreachable!(),
            _ = async {} => {}
        }
    }
    // The pending branch is polled whenever it comes first (about half the time), never
    // after the ready one has won.
    let n = polls.load(SeqCst);
    assert!(
        n > 5 && n < 45,
        "pending branch polled {n} times in 50 selects"
    );
}

#[runtime::test]
async fn sixty_four_branches() {
    macro_rules! p {
        () => {
            pending::<usize>()
        };
    }
    let out = runtime::select! {
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v, v = p!() => v,
        v = p!() => v, v = p!() => v, v = p!() => v,
        v = async { yield_times(2).await; 63 } => v,
    };
    assert_eq!(out, 63);

    // The 64th bit of the disabled mask: 62 branches disabled, one mismatched, the last wins.
    macro_rules! off {
        () => {
            async { 0 }
        };
    }
    let last = runtime::select! {
        biased;
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        v = off!(), if false => v, v = off!(), if false => v,
        1 = off!() => 1, // mismatch
        v = async { 64 } => v,
        else => 0,
    };
    assert_eq!(last, 64);
}

/// The usual event loop: `select!` in a `loop`, with `break` (with a value) and `continue`
/// in handlers, `?` propagating an error out of the enclosing async fn, and a long-lived
/// future polled by `&mut` across iterations (not restarted).
#[runtime::test]
async fn select_in_a_loop_with_break_continue_and_question_mark() {
    async fn run(
        fail_at: Option<u32>,
        use_deadline: bool,
    ) -> Result<(&'static str, u32, u32), String> {
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<u32>();
        for i in 1..=5 {
            tx.unbounded_send(i).unwrap();
        }
        drop(tx);
        let deadline = yield_times(10);
        runtime::pin!(deadline);
        let mut sum = 0;
        let mut iterations = 0;
        let done = loop {
            iterations += 1;
            runtime::select! {
                biased;
                Some(v) = rx.next() => {
                    if Some(v) == fail_at {
                        Err(format!("failed at {v}"))?;
                    }
                    if v % 2 == 0 {
                        continue;
                    }
                    sum += v;
                }
                _ = &mut deadline, if use_deadline => break "deadline",
                else => break "closed",
            }
        };
        Ok((done, sum, iterations))
    }
    // 5 messages (the even ones `continue`), then the closed channel disables its branch.
    assert_eq!(run(None, false).await, Ok(("closed", 9, 6)));
    // Once the channel is closed, only the deadline is left; it wins in the same select!.
    assert_eq!(run(None, true).await, Ok(("deadline", 9, 6)));
    assert_eq!(run(Some(3), true).await, Err(String::from("failed at 3")));
}

/// A future borrowed with `&mut` keeps its progress across `select!`s and can be awaited
/// (or selected) again afterwards; the borrowed future is not dropped by the `select!`.
#[runtime::test]
async fn borrowed_future_survives_the_select() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut slow = recorder(7, 3, &log);
    let mut rounds = 0;
    let out = loop {
        rounds += 1;
        runtime::select! {
            biased;
            v = &mut slow => break v,
            _ = async {} => {}
        }
    };
    // Polled once per round; the fourth poll completes it.
    assert_eq!((out, rounds), (7, 4));
    assert_eq!(*log.borrow(), [7, 7, 7, 7]);
}

/// `!Unpin` futures (self-referential async blocks, `PhantomPinned`) are pinned in place.
#[runtime::test]
async fn not_unpin_futures() {
    let out = runtime::select! {
        v = async {
            let local = [1, 2, 3];
            let r = &local; // held across an await
            yield_times(2).await;
            r.iter().sum::<i32>()
        } => v,
        v = async {
            let _m = PhantomPinned;
            yield_times(5).await;
            0
        } => v,
    };
    assert_eq!(out, 6);
}

/// Patterns are applied by value, as in `match`: `mut` and `ref mut` bindings, moves of
/// non-`Copy` parts, tuples, `|` alternatives, literals and `_`.
#[runtime::test]
async fn patterns_bind_like_match() {
    let s = runtime::select! {
        Some(mut s) = async { Some(String::from("a")) } => { s.push('b'); s }
        _ = pending::<()>() => unreachable!(),
    };
    assert_eq!(s, "ab");
    let s = runtime::select! {
        (Some(ref mut s), n) = async { (Some(String::from("x")), 2) } => {
            s.push_str(&"y".repeat(n));
            s.clone()
        }
    };
    assert_eq!(s, "xyy");
    let n = runtime::select! {
        biased;
        1 | 2 = async { 3 } => 0,
        Err(e) | Ok(e) = async { Err::<u8, u8>(4) } => e,
    };
    assert_eq!(n, 4);
    let unit: () = runtime::select! { _ = async {} => {} };
    assert_eq!(unit, ());
}

/// The macro's own locals are hygienic: user code that uses the same names sees its own.
#[runtime::test]
async fn macro_locals_do_not_leak_into_branches() {
    let disabled = 1;
    let count = 2;
    let start = 3;
    let any_pending = 4;
    let fut = 5;
    let out = 6;
    let output = 7;
    let matches = 8;
    let bit = 9;
    let cx = 10;
    let biased = async { 11 };
    let got = runtime::select! {
        v = biased, if disabled + count + start + any_pending == 10 => {
            v + fut + out + output + matches + bit + cx
        }
    };
    assert_eq!(got, 11 + 5 + 6 + 7 + 8 + 9 + 10);
}

/// A future that uses `select!` on `Send` branches is `Send` and can be spawned.
#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_inside_spawned_task_is_send() {
    let (tx, rx) = runtime::sync::oneshot::channel::<String>();
    let task = runtime::spawn(async move {
        runtime::select! {
            Ok(v) = rx => v,
            _ = pending::<()>() => String::new(),
        }
    });
    runtime::spawn(async move { tx.send(String::from("sent")).unwrap() });
    assert_eq!(task.await.unwrap(), "sent");
}

/// `runtime::sync::oneshot` receivers fed from spawned tasks (or dropped senders), against
/// `std::future::pending()`, on both runtime flavors.
#[test]
fn oneshot_receivers_on_both_flavors() {
    on_both_flavors(|rt, flavor| {
        let out = rt.block_on(async {
            let (tx1, rx1) = runtime::sync::oneshot::channel::<u32>();
            let (tx2, rx2) = runtime::sync::oneshot::channel::<u32>();
            runtime::spawn(async move {
                runtime::task::yield_now().await;
                tx2.send(2).unwrap();
            });
            let winner = runtime::select! {
                v = rx1 => v.map(|v| v * 100),
                v = rx2 => v,
                _ = pending::<()>() => unreachable!(),
            };
            // `rx1` was dropped by the select!, so its sender sees a closed channel.
            (winner, tx1.is_closed())
        });
        assert_eq!(out, (Ok(2), true), "{flavor:?}");

        let closed = rt.block_on(async {
            let (tx, rx) = runtime::sync::oneshot::channel::<u32>();
            runtime::spawn(async move { drop(tx) });
            runtime::select! {
                Ok(v) = rx => Some(v),
                else => None,
            }
        });
        assert_eq!(closed, None, "{flavor:?}");
    });
}

/// `select!` in a plain async fn (not a test macro), run by a runtime built by hand; the
/// handlers of all branches share one type.
#[test]
fn select_in_plain_async_fn() {
    async fn pick(left: bool) -> Result<&'static str, u8> {
        let value = runtime::select! {
            v = async { "left" }, if left => Ok(v),
            v = async { Err::<&str, u8>(1) }, if !left => v,
        };
        value
    }
    let rt = runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(pick(true)), Ok("left"));
    assert_eq!(rt.block_on(pick(false)), Err(1));
}
