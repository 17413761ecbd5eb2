//! `join!`, `try_join!`, `select!` and `pin!`: run several futures concurrently on the current
//! task, and pin values to the stack.
//!
//! # How `join!` / `try_join!` expand
//!
//! Both are thin front ends for the hidden `__join_impl!` macro, which works in two phases:
//!
//! 1. **Normalize** (`@munch`): a recursive tt-muncher peels one `expr,` at a time off the
//!    input and appends `(slot [index] expr)` to an accumulator. Each recursion step is a
//!    separate macro expansion, so the `slot` identifier it emits carries its own hygiene
//!    context: the 64 `slot`s of a 64-branch `join!` are 64 distinct local variables, and none
//!    of them is visible to the caller's expressions. `index` is a `0 + 1 + 1 ...` constant
//!    expression; the accumulated counter is also the number of branches. Anything that is
//!    not a comma-separated list of expressions lands in a catch-all arm that emits a
//!    `compile_error!` naming the macro and the unexpected tokens.
//! 2. **Expand** (`@expand`): every future is converted with `IntoFuture`, wrapped in
//!    `Some(..)` and pinned on the stack of the enclosing async block/fn with `core::pin::pin!`
//!    (no `unsafe`); a `__private::MaybeDone` slot borrows it. One `poll_fn` then polls every
//!    slot that has not completed yet, starting at a rotating index (`start..count` first, then
//!    `0..start`) so that no branch can starve the others by always being polled first. With
//!    `biased;` the start index stays 0. A completed future is dropped in place at once
//!    (`Pin::set(None)`) and only its output is kept.
//!
//! `try_join!` additionally returns `Err(e)` from the `poll_fn` as soon as one branch fails;
//! the block that owns the pinned futures then ends, which drops all remaining branches
//! without polling them again.

//!
//! # How `select!` expands
//!
//! `select!` is pure `macro_rules` too (no proc macro): `__select_impl!` again normalizes, then
//! expands.
//!
//! 1. **Normalize** (`@parse`): one recursion step per *branch* (not per token, so 64
//!    branches stay far below the default `recursion_limit`), matching
//!    `$p:pat = $f:expr $(, if $c:expr)? => handler` with a block handler (comma optional,
//!    as in a `match`) tried before an expression handler (comma required). Each step emits
//!    its own hygienic `fut`/`out` locals and spends one of 64 budget tokens, so a 65th
//!    branch is a `compile_error!`. The `else`, `biased;` and end-of-input arms come first;
//!    whatever matches no arm goes to the `@diagnose_*` arms, which walk the failing branch
//!    token by token (only on this error path) to say what is missing: `= <future>`, `=>`,
//!    the handler, or the comma after an expression handler.
//! 2. **Expand** (`@expand`): the preconditions are evaluated into a `u64` disabled mask,
//!    then every future is converted with `IntoFuture` and pinned on the stack inside an
//!    inner block (as `Some(future)`, so that a finished future is dropped at once). One
//!    `poll_fn` polls the enabled branches, starting at a random one (`thread_rng_n`, a
//!    per-thread xorshift from runtime-core) or at the first with `biased;`, reusing
//!    `join!`'s rotated order (`__poll_rotated!`). When a branch completes, its bit is set;
//!    its output is tested against the pattern in a `match` whose guard records the match
//!    and is always false, so nothing is moved out of the output; on a match the output is
//!    stored in the branch's `out` local and the `poll_fn` returns. The inner block then
//!    ends, dropping every future, and an `if let Some(pattern) = out { handler } else ...`
//!    chain runs the winner's handler, outside any closure or loop of the macro, so `?`,
//!    `return`, `break` and `continue` work as written. With nothing stored, the chain ends
//!    in the `else` expression or the "all branches are disabled" panic.

/// Support items for the macros of this module. Not public API: names and signatures may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use core::future::{poll_fn, ready, Future, IntoFuture};
    pub use core::option::Option::{None, Some};
    pub use core::pin::{pin, Pin};
    pub use core::result::Result::{Err, Ok};
    pub use core::task::{Context, Poll};

    /// Polls the future pinned in `slot`; when it completes, drops it in place at once
    /// (`Pin::set(None)`) and returns its output. Shared by `join!` and `select!`, whose
    /// branches are pinned `Option`s so that a finished future does not outlive its result.
    ///
    /// # Panics
    ///
    /// If the slot is empty: the macros never poll a branch again once it has completed.
    pub fn poll_and_drop<F: Future>(
        slot: &mut Pin<&mut Option<F>>,
        cx: &mut Context<'_>,
    ) -> Poll<F::Output> {
        let future = slot
            .as_mut()
            .as_pin_mut()
            .expect("runtime macros: a branch was polled after it completed");
        let output = match future.poll(cx) {
            Poll::Ready(output) => output,
            Poll::Pending => return Poll::Pending,
        };
        slot.set(None);
        Poll::Ready(output)
    }

    /// `Pending` (after asking to be polled again) when the current task has used up its
    /// cooperative budget, so that `select!` does not busy-poll branches that would all
    /// refuse to make progress anyway; `Ready` otherwise (always, outside a runtime).
    pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
        if runtime_core::coop::has_budget_remaining() {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// A pseudo-random index in `0..n` from a per-thread generator: the branch an unbiased
    /// `select!` polls first.
    pub fn thread_rng_n(n: u32) -> u32 {
        runtime_core::util::thread_rng_n(n)
    }

    /// One branch of a `join!`/`try_join!`: the pinned future while it runs, then its output
    /// until the macro collects it.
    pub enum MaybeDone<'a, F: Future> {
        /// Still running. The `Option` is always `Some` in this state; it exists so that the
        /// future can be dropped in place (`Pin::set(None)`) the moment it completes.
        Running(Pin<&'a mut Option<F>>),
        /// Completed; the output has not been taken yet.
        Done(F::Output),
        /// The output was taken (or, for `try_join!`, was an error that was returned).
        Taken,
    }

    impl<'a, F: Future> MaybeDone<'a, F> {
        /// Wraps a pinned, not yet completed future.
        pub fn new(future: Pin<&'a mut Option<F>>) -> Self {
            MaybeDone::Running(future)
        }

        /// Polls the future if it is still running. Returns `true` once it has completed
        /// (now or earlier); a completed future is never polled again.
        pub fn poll_done(&mut self, cx: &mut Context<'_>) -> bool {
            let MaybeDone::Running(slot) = self else {
                return true;
            };
            match poll_and_drop(slot, cx) {
                Poll::Ready(output) => {
                    *self = MaybeDone::Done(output);
                    true
                }
                Poll::Pending => false,
            }
        }

        /// Takes the output of a completed future.
        ///
        /// # Panics
        ///
        /// If the future has not completed or the output was already taken.
        pub fn take_output(&mut self) -> F::Output {
            match core::mem::replace(self, MaybeDone::Taken) {
                MaybeDone::Done(output) => output,
                _ => panic!("join!: output taken from a branch that is not done"),
            }
        }
    }

    /// Implemented for `Result<T, E>` only: lets `try_join!` reject other outputs with a
    /// readable message (instead of "method exists but trait bounds were not satisfied").
    #[diagnostic::on_unimplemented(
        message = "`try_join!` expects futures that output a `Result`, but this one outputs `{Self}`",
        label = "this future's output is not a `Result`",
        note = "use `join!` for futures that cannot fail"
    )]
    pub trait TryOutput {
        /// The success type.
        type Ok;
        /// The error type.
        type Err;
        /// Converts into the `Result` it is.
        fn into_result(self) -> Result<Self::Ok, Self::Err>;
        /// `Result::is_err`.
        fn is_err(&self) -> bool;
    }

    impl<T, E> TryOutput for Result<T, E> {
        type Ok = T;
        type Err = E;
        fn into_result(self) -> Self {
            self
        }
        fn is_err(&self) -> bool {
            Result::is_err(self)
        }
    }

    /// Like [`MaybeDone::poll_done`] for `try_join!`: `Ready(Ok(()))` once the future
    /// completed with `Ok`, `Ready(Err(e))` (taking the error) when it failed, `Pending` while
    /// it runs.
    pub fn poll_ok<F>(
        slot: &mut MaybeDone<'_, F>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), <F::Output as TryOutput>::Err>>
    where
        F: Future,
        F::Output: TryOutput,
    {
        if !slot.poll_done(cx) {
            return Poll::Pending;
        }
        if matches!(slot, MaybeDone::Done(output) if output.is_err()) {
            if let Err(error) = slot.take_output().into_result() {
                return Poll::Ready(Err(error));
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Takes the `Ok` value of a `try_join!` branch that completed successfully.
    ///
    /// # Panics
    ///
    /// If the future has not completed with `Ok` or the value was already taken.
    pub fn take_ok<F>(slot: &mut MaybeDone<'_, F>) -> <F::Output as TryOutput>::Ok
    where
        F: Future,
        F::Output: TryOutput,
    {
        match slot.take_output().into_result() {
            Ok(value) => value,
            Err(_) => panic!("try_join!: value taken from a branch that failed"),
        }
    }

    /// `IntoFuture::into_future` for `try_join!` branches, with a check that the output is a
    /// `Result`.
    pub fn try_into_future<F>(future: F) -> F::IntoFuture
    where
        F: IntoFuture,
        F::Output: TryOutput,
    {
        future.into_future()
    }
}

/// Runs each `[index] { body }` for the branches `start..count` first, then `0..start`: the
/// rotated polling order shared by `join!`, `try_join!` and `select!`. `index` is a constant
/// expression, so the comparisons fold away. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __poll_rotated {
    ($start:ident; $([$($index:tt)*] $body:block)*) => {
        $(
            if ($($index)*) >= $start $body
        )*
        $(
            if ($($index)*) < $start $body
        )*
    };
}

/// Implementation of [`join!`] and [`try_join!`]; see the module documentation of
/// `src/macros.rs`. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_impl {
    // ---- phase 1: normalize `a, b, c` into `(slot [index] a) (slot [index] b) ...` ----
    (@munch $kind:ident $biased:tt [$($acc:tt)*] [$($count:tt)*] $e:expr, $($rest:tt)*) => {
        $crate::__join_impl!(
            @munch $kind $biased [$($acc)* (slot [$($count)*] $e)] [$($count)* + 1] $($rest)*
        )
    };
    (@munch $kind:ident $biased:tt [$($acc:tt)*] [$($count:tt)*] $e:expr) => {
        $crate::__join_impl!(
            @munch $kind $biased [$($acc)* (slot [$($count)*] $e)] [$($count)* + 1]
        )
    };
    (@munch $kind:ident $biased:tt [$($acc:tt)*] [$($count:tt)*]) => {
        $crate::__join_impl!(@expand $kind $biased [$($acc)*] [$($count)*])
    };
    (@munch join $biased:tt [$($acc:tt)*] [$($count:tt)*] $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "join! expects a comma-separated list of futures, e.g. `join!(a, b)` or ",
            "`join!(biased; a, b)`; could not parse `",
            ::core::stringify!($($rest)*),
            "`"
        ))
    };
    (@munch try_join $biased:tt [$($acc:tt)*] [$($count:tt)*] $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "try_join! expects a comma-separated list of futures, e.g. `try_join!(a, b)` or ",
            "`try_join!(biased; a, b)`; could not parse `",
            ::core::stringify!($($rest)*),
            "`"
        ))
    };

    // ---- phase 2: expansion ----
    (@expand join $biased:tt [] [$($count:tt)*]) => {
        $crate::macros::__private::ready(()).await
    };
    (@expand try_join $biased:tt [] [$($count:tt)*]) => {
        $crate::macros::__private::ready($crate::macros::__private::Ok(())).await
    };
    (@expand $kind:ident $biased:tt [$(($slot:ident [$($index:tt)*] $e:expr))*] [$($count:tt)*]) => {{
        $(
            let $slot = $crate::macros::__private::pin!($crate::macros::__private::Some(
                $crate::__join_impl!(@into_future $kind $e)
            ));
            let mut $slot = $crate::macros::__private::MaybeDone::new($slot);
        )*
        // A local, not a `const`: items are not hygienic and would be visible to `$e`.
        let count: usize = $($count)*;
        let biased: bool = $biased;
        let mut next_start: usize = 0;
        $crate::macros::__private::poll_fn(move |cx: &mut $crate::macros::__private::Context<'_>| {
            let start = next_start;
            if !biased {
                next_start = if next_start + 1 < count { next_start + 1 } else { 0 };
            }
            let mut all_done = true;
            $crate::__poll_rotated!(start; $(
                [$($index)*] { $crate::__join_impl!(@poll $kind $slot cx all_done); }
            )*);
            if !all_done {
                return $crate::macros::__private::Poll::Pending;
            }
            $crate::__join_impl!(@finish $kind $($slot)*)
        })
        .await
    }};

    (@into_future join $e:expr) => {
        $crate::macros::__private::IntoFuture::into_future($e)
    };
    (@into_future try_join $e:expr) => {
        $crate::macros::__private::try_into_future($e)
    };

    (@poll join $slot:ident $cx:ident $all_done:ident) => {
        $all_done &= $slot.poll_done($cx);
    };
    (@poll try_join $slot:ident $cx:ident $all_done:ident) => {
        match $crate::macros::__private::poll_ok(&mut $slot, $cx) {
            $crate::macros::__private::Poll::Ready($crate::macros::__private::Ok(())) => {}
            $crate::macros::__private::Poll::Ready($crate::macros::__private::Err(error)) => {
                return $crate::macros::__private::Poll::Ready($crate::macros::__private::Err(error));
            }
            $crate::macros::__private::Poll::Pending => $all_done = false,
        }
    };

    (@finish join $($slot:ident)*) => {
        $crate::macros::__private::Poll::Ready(($($slot.take_output(),)*))
    };
    (@finish try_join $($slot:ident)*) => {
        $crate::macros::__private::Poll::Ready($crate::macros::__private::Ok(($($crate::macros::__private::take_ok(&mut $slot),)*)))
    };
}

/// Waits on several futures concurrently and returns all their outputs as a tuple.
///
/// `join!(a, b, c)` must be used inside an async function or block. It evaluates the
/// expressions in order, converts each with [`IntoFuture`](core::future::IntoFuture) and
/// polls all of them **on the current task** (nothing is spawned) until every one has
/// completed, then evaluates to `(a_output, b_output, c_output)`. A future that completes is
/// dropped at once and never polled again. The futures need not be `Unpin`: they are pinned
/// on the stack of the enclosing future.
///
/// Because everything runs on one task, the branches run *concurrently* but not in
/// *parallel*; use [`spawn`](crate::spawn) for parallelism.
///
/// # Fairness
///
/// Each time the `join!` is polled, it starts with a different branch (rotating through the
/// list), so that a branch that is always ready cannot delay the others. Write `biased;` as
/// the first token to poll the branches in the order written every time instead, e.g. when
/// an earlier branch must get a chance to run before a later one.
///
/// `join!()` with no futures evaluates to `()`. Any number of branches works (tested up to
/// 64; very long lists may hit the default `recursion_limit` of 128).
///
/// # Examples
///
/// ```
/// async fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// runtime::Runtime::new().unwrap().block_on(async {
///     let (a, b, c) = runtime::join!(double(1), double(2), async { "three" });
///     assert_eq!((a, b, c), (2, 4, "three"));
///
///     // Poll in the order written instead of rotating.
///     let (x, y) = runtime::join!(biased; double(10), double(20));
///     assert_eq!(x + y, 60);
/// });
/// ```
#[macro_export]
macro_rules! join {
    (biased; $($futures:tt)*) => {
        $crate::__join_impl!(@munch join true [] [0] $($futures)*)
    };
    ($($futures:tt)*) => {
        $crate::__join_impl!(@munch join false [] [0] $($futures)*)
    };
}

/// Waits on several fallible futures concurrently: all their `Ok` values as a tuple, or the
/// first error.
///
/// Every future must output a `Result` with the same error type `E`. `try_join!(a, b)`
/// evaluates to `Ok((a_value, b_value))` once all futures have completed with `Ok`. As soon
/// as one completes with `Err(e)`, it evaluates to `Err(e)` **without polling the others
/// again**: the remaining futures are dropped (cancelled) at that point.
///
/// Like [`join!`](crate::join!), it polls the futures on the current task, rotates the branch it starts
/// with on every poll unless the first token is `biased;`, accepts `!Unpin` futures, and
/// `try_join!()` evaluates to `Ok(())`.
///
/// # Examples
///
/// ```
/// async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
///     s.parse()
/// }
///
/// runtime::Runtime::new().unwrap().block_on(async {
///     let sum = runtime::try_join!(parse("1"), parse("2")).map(|(a, b)| a + b);
///     assert_eq!(sum, Ok(3));
///
///     // The first error wins; the other branch is dropped without completing.
///     let failed = runtime::try_join!(parse("1"), parse("x"), std::future::pending::<Result<u8, _>>());
///     assert!(failed.is_err());
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    (biased; $($futures:tt)*) => {
        $crate::__join_impl!(@munch try_join true [] [0] $($futures)*)
    };
    ($($futures:tt)*) => {
        $crate::__join_impl!(@munch try_join false [] [0] $($futures)*)
    };
}

/// Pins values to the stack: each named local variable is shadowed by a `Pin<&mut T>` to it.
///
/// The original binding is moved into a place that is no longer nameable, so the value can
/// never be moved again and pinning it is safe, even when `T: !Unpin`. This is what you need
/// to poll a future by `&mut` (e.g. in a loop or a `select`-like construct) without boxing.
/// Built on [`core::pin::pin!`]; no `unsafe` is involved.
///
/// Two forms:
///
/// * `pin!(a, b);` shadows existing local variables `a` and `b`;
/// * `pin! { let a = expr; let b = expr; }` declares pinned variables directly.
///
/// # Examples
///
/// ```
/// use std::pin::Pin;
///
/// async fn step(x: u32) -> u32 {
///     x + 1
/// }
///
/// runtime::Runtime::new().unwrap().block_on(async {
///     let fut = step(1);
///     runtime::pin!(fut);
///     let pinned: Pin<&mut _> = fut.as_mut();
///     assert_eq!(pinned.await, 2);
///
///     runtime::pin! {
///         let a = step(10);
///         let b = async { 20 };
///     }
///     assert_eq!(runtime::join!(a, b), (11, 20));
/// });
/// ```
#[macro_export]
macro_rules! pin {
    ($($name:ident),* $(,)?) => {
        $(
            let mut $name = $crate::macros::__private::pin!($name);
        )*
    };
    ($(let $name:ident = $init:expr;)*) => {
        $(
            let mut $name = $crate::macros::__private::pin!($init);
        )*
    };
}

/// Implementation of [`select!`]; see the module documentation of `src/macros.rs`. Not public
/// API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_impl {
    // ---- entry: 64 budget tokens, one spent per branch (the disabled set is a `u64`) ----
    (@start $biased:tt $($branches:tt)*) => {
        $crate::__select_impl!(@parse $biased [] [0] [
            _ _ _ _ _ _ _ _  _ _ _ _ _ _ _ _  _ _ _ _ _ _ _ _  _ _ _ _ _ _ _ _
            _ _ _ _ _ _ _ _  _ _ _ _ _ _ _ _  _ _ _ _ _ _ _ _  _ _ _ _ _ _ _ _
        ] $($branches)*)
    };

    // ---- phase 1: one step per branch; state: biased, branches, index, budget, input ----
    (@parse $biased:tt [] $count:tt $budget:tt) => {
        ::core::compile_error!(
            "select! needs at least one branch `<pattern> = <future> => <handler>`, \
             e.g. `select! { v = rx => v, _ = other => 0 }`"
        )
    };
    (@parse $biased:tt [$($acc:tt)+] $count:tt $budget:tt) => {
        $crate::__select_impl!(@expand $biased [$($acc)+] $count [])
    };

    // `else`: only as the last branch, once, and not alone. Order matters: a second `else`,
    // then the valid last `else`, then anything after an `else`, then a lone `else`.
    (@parse $biased:tt $acc:tt $count:tt $budget:tt else => $h:block $(,)? else $($rest:tt)*) => {
        $crate::__select_impl!(@error_else_twice)
    };
    (@parse $biased:tt $acc:tt $count:tt $budget:tt else => $h:expr, else $($rest:tt)*) => {
        $crate::__select_impl!(@error_else_twice)
    };
    (@parse $biased:tt [$($acc:tt)+] $count:tt $budget:tt else => $h:block $(,)?) => {
        $crate::__select_impl!(@expand $biased [$($acc)+] $count [$h])
    };
    (@parse $biased:tt [$($acc:tt)+] $count:tt $budget:tt else => $h:expr $(,)?) => {
        $crate::__select_impl!(@expand $biased [$($acc)+] $count [{ $h }])
    };
    (@parse $biased:tt $acc:tt $count:tt $budget:tt else => $h:block, $($rest:tt)+) => {
        $crate::__select_impl!(@error_else_not_last $($rest)+)
    };
    (@parse $biased:tt $acc:tt $count:tt $budget:tt else => $h:block $($rest:tt)+) => {
        $crate::__select_impl!(@error_else_not_last $($rest)+)
    };
    (@parse $biased:tt $acc:tt $count:tt $budget:tt else => $h:expr, $($rest:tt)+) => {
        $crate::__select_impl!(@error_else_not_last $($rest)+)
    };
    (@parse $biased:tt [] $count:tt $budget:tt else $($rest:tt)*) => {
        ::core::compile_error!(
            "select! needs at least one branch `<pattern> = <future> => <handler>` \
             besides `else`"
        )
    };
    (@parse $biased:tt $acc:tt $count:tt $budget:tt else $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: the `else` branch must be the last branch, written `else => <expression>`; ",
            "could not parse `else ",
            ::core::stringify!($($rest)*),
            "`"
        ))
    };

    // `biased;` anywhere but first.
    (@parse $biased:tt $acc:tt $count:tt $budget:tt biased; $($rest:tt)*) => {
        ::core::compile_error!(
            "select!: `biased;` must be written at most once, before the first branch: \
             `select! { biased; <branches> }`"
        )
    };

    // A 65th branch.
    (@parse $biased:tt $acc:tt $count:tt [] $($rest:tt)+) => {
        ::core::compile_error!(
            "select! supports at most 64 branches (plus `else`); combine some of them, e.g. \
             with `join!` or a channel"
        )
    };

    // An ordinary branch: `<pattern> = <future> (, if <precondition>)? => <handler>`, where a
    // block handler needs no comma (like a `match` arm).
    (@parse $biased:tt [$($acc:tt)*] [$($count:tt)*] [$spent:tt $($budget:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_impl!(@parse $biased
            [$($acc)* (fut out [$($count)*] $p, $f, (true $(&& $c)?), $h)]
            [$($count)* + 1] [$($budget)*] $($rest)*)
    };
    (@parse $biased:tt [$($acc:tt)*] [$($count:tt)*] [$spent:tt $($budget:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_impl!(@parse $biased
            [$($acc)* (fut out [$($count)*] $p, $f, (true $(&& $c)?), $h)]
            [$($count)* + 1] [$($budget)*] $($rest)*)
    };
    (@parse $biased:tt [$($acc:tt)*] [$($count:tt)*] [$spent:tt $($budget:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_impl!(@parse $biased
            [$($acc)* (fut out [$($count)*] $p, $f, (true $(&& $c)?), { $h })]
            [$($count)* + 1] [$($budget)*] $($rest)*)
    };
    (@parse $biased:tt [$($acc:tt)*] [$($count:tt)*] [$spent:tt $($budget:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:expr) => {
        $crate::__select_impl!(@parse $biased
            [$($acc)* (fut out [$($count)*] $p, $f, (true $(&& $c)?), { $h })]
            [$($count)* + 1] [$($budget)*])
    };

    // Anything else: find out what is wrong with the branch that starts here.
    (@parse $biased:tt $acc:tt $count:tt $budget:tt $($rest:tt)+) => {
        $crate::__select_impl!(@diagnose_pattern [] $($rest)+)
    };

    // ---- diagnostics (only on the error path; token by token through one branch) ----
    (@error_else_twice) => {
        ::core::compile_error!("select!: only one `else` branch is allowed")
    };
    (@error_else_not_last $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: the `else` branch must be the last branch, but `",
            ::core::stringify!($($rest)+),
            "` follows it"
        ))
    };
    (@diagnose_pattern [] , $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected a branch `<pattern> = <future> => <handler>`, found `,` before `",
            ::core::stringify!($($rest)*),
            "`"
        ))
    };
    (@diagnose_pattern [] = $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: missing pattern before `= ",
            ::core::stringify!($($rest)*),
            "`; a branch is written `<pattern> = <future> => <handler>`"
        ))
    };
    (@diagnose_pattern [$($p:tt)+] = $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_future [$($p)+] [] $($rest)*)
    };
    (@diagnose_pattern [$($p:tt)*] => $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: the branch `",
            ::core::stringify!($($p)* => $($rest)*),
            "` has no `= <future>`; a branch is written `<pattern> = <future> => <handler>`"
        ))
    };
    (@diagnose_pattern [$($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "select!: incomplete branch `",
            ::core::stringify!($($p)*),
            "`; a branch is written `<pattern> = <future> => <handler>`"
        ))
    };
    (@diagnose_pattern [$($p:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_pattern [$($p)* $t] $($rest)*)
    };

    (@diagnose_future $p:tt [$($f:tt)*] => $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_handler $p [$($f)*] $($rest)*)
    };
    (@diagnose_future $p:tt [$($f:tt)*] , if $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_precondition $p [$($f)*] [] $($rest)*)
    };
    (@diagnose_future [$($p:tt)*] [$($f:tt)*] , $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `=>` after `",
            ::core::stringify!($($p)* = $($f)*),
            "`, found `,`; a precondition is written `<pattern> = <future>, if <condition> => <handler>`"
        ))
    };
    (@diagnose_future [$($p:tt)*] [$($f:tt)*] = $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `=>` after the future in `",
            ::core::stringify!($($p)* = $($f)* = ...),
            "`; a branch is written `<pattern> = <future> => <handler>`"
        ))
    };
    (@diagnose_future [$($p:tt)*] [$($f:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "select!: missing `=> <handler>` after `",
            ::core::stringify!($($p)* = $($f)*),
            "`"
        ))
    };
    (@diagnose_future $p:tt [$($f:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_future $p [$($f)* $t] $($rest)*)
    };

    (@diagnose_precondition $p:tt $f:tt [$($c:tt)*] => $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_handler $p $f $($rest)*)
    };
    (@diagnose_precondition [$($p:tt)*] [$($f:tt)*] [$($c:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "select!: missing `=> <handler>` after `",
            ::core::stringify!($($p)* = $($f)*, if $($c)*),
            "`"
        ))
    };
    (@diagnose_precondition $p:tt $f:tt [$($c:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_precondition $p $f [$($c)* $t] $($rest)*)
    };

    (@diagnose_handler [$($p:tt)*] [$($f:tt)*] $(, $($rest:tt)*)?) => {
        ::core::compile_error!(::core::concat!(
            "select!: missing handler after `",
            ::core::stringify!($($p)* = $($f)* =>),
            "`"
        ))
    };
    (@diagnose_handler $p:tt $f:tt $($rest:tt)+) => {
        $crate::__select_impl!(@diagnose_handler_expr $p $f [] $($rest)+)
    };
    (@diagnose_handler_expr [$($p:tt)*] [$($f:tt)*] [$($h:tt)*] => $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: missing `,` after the handler of `",
            ::core::stringify!($($p)* = $($f)*),
            "`: a handler that is not a block must be followed by a comma (the handler runs \
             into `",
            ::core::stringify!($($h)* =>),
            "`)"
        ))
    };
    (@diagnose_handler_expr $p:tt $f:tt [$($h:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__select_impl!(@diagnose_handler_expr $p $f [$($h)* $t] $($rest)*)
    };
    // The branch has the right shape token-wise, so one of its parts is not what it should be
    // (e.g. the future is followed by a block): name the branch.
    (@diagnose_handler_expr [$($p:tt)*] [$($f:tt)*] [$($h:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "select!: could not parse the branch `",
            ::core::stringify!($($p)* = $($f)* => $($h)*),
            "`; expected `<pattern> = <future> (, if <condition>)? => <handler>,`"
        ))
    };

    // ---- phase 2: expansion ----
    (@expand $biased:tt
        [$(($fut:ident $out:ident [$($index:tt)*] $p:pat, $f:expr, $cond:tt, $h:tt))+]
        [$($count:tt)*] $else:tt
    ) => {{
        // 1. All preconditions, in order; a false one disables its branch.
        let mut disabled: u64 = 0;
        $(
            if !$cond {
                disabled |= 1u64 << ($($index)*);
            }
        )*
        // The output of the branch that wins, if its pattern matched.
        $(
            #[allow(unused_mut)]
            let mut $out = $crate::macros::__private::None;
        )*
        {
            // 2. All futures, in order (disabled ones too, as in Tokio: they are created and
            //    dropped, never polled), pinned on the stack. They live in this block only, so
            //    they are dropped before the handler runs.
            $(
                let mut $fut = $crate::macros::__private::pin!($crate::macros::__private::Some(
                    $crate::macros::__private::IntoFuture::into_future($f)
                ));
            )*
            let count: u32 = $($count)*;
            let biased: bool = $biased;
            // 3. Poll until a branch completes with an output its pattern matches, or all are
            //    disabled.
            $crate::macros::__private::poll_fn(|cx: &mut $crate::macros::__private::Context<'_>| {
                if $crate::macros::__private::poll_budget_available(cx).is_pending() {
                    return $crate::macros::__private::Poll::Pending;
                }
                let start: u32 = if biased {
                    0
                } else {
                    $crate::macros::__private::thread_rng_n(count)
                };
                let mut any_pending = false;
                $crate::__poll_rotated!(start; $(
                    [$($index)*] {
                        let bit: u64 = 1u64 << ($($index)*);
                        if disabled & bit == 0 {
                            #[allow(unused_mut, unused_variables)]
                            let done = match $crate::macros::__private::poll_and_drop(&mut $fut, cx) {
                                $crate::macros::__private::Poll::Ready(mut output) => {
                                    // The future is gone; never poll this branch again.
                                    disabled |= bit;
                                    // Test the pattern without moving anything out of
                                    // `output`: in a guard, bindings are references, and the
                                    // arm (where by-value bindings would move) is never taken.
                                    let mut matches = false;
                                    match output {
                                        $p if {
                                            matches = true;
                                            false
                                        } => ::core::unreachable!("select!: pattern guard is always false"),
                                        _ => {}
                                    }
                                    if matches {
                                        $out = $crate::macros::__private::Some(output);
                                    }
                                    matches
                                }
                                $crate::macros::__private::Poll::Pending => {
                                    any_pending = true;
                                    false
                                }
                            };
                            if done {
                                return $crate::macros::__private::Poll::Ready(());
                            }
                        }
                    }
                )*);
                if any_pending {
                    $crate::macros::__private::Poll::Pending
                } else {
                    // Every branch is disabled.
                    $crate::macros::__private::Poll::Ready(())
                }
            })
            .await;
        }
        // 4. The handler of the winner (outside the `poll_fn`, so `?`, `return`, `break` and
        //    `continue` act on the enclosing function and loop), else the `else` branch.
        $(
            if let $crate::macros::__private::Some($p) = $out {
                $h
            } else
        )* {
            $crate::__select_impl!(@else $else)
        }
    }};

    (@else []) => {
        ::core::panic!("all branches are disabled and there is no else branch")
    };
    (@else [$else:tt]) => {
        $else
    };
}

/// Waits on several futures concurrently and runs the handler of the first one that completes
/// (with an output matching its pattern), cancelling the others.
///
/// `select!` must be used inside an async function or block. It has the same syntax and
/// semantics as `tokio::select!`:
///
/// ```text
/// runtime::select! {
///     biased;                                              // optional, first
///     <pattern> = <async expression> (, if <precondition>)? => <handler>,
///     ...                                                  // 1 to 64 branches
///     else => <expression>                                 // optional, last
/// }
/// ```
///
/// A handler that is a block `{ ... }` needs no comma after it, like a `match` arm; any other
/// handler expression must be followed by `,` (except the last). All handlers and the `else`
/// expression have the same type, which is the type of the whole `select!`.
///
/// # What happens, in order
///
/// 1. Every `<precondition>` is evaluated, in order. A branch whose precondition is `false`
///    is *disabled* for this `select!`.
/// 2. Every `<async expression>` is evaluated, in order, **including those of disabled
///    branches** (as in Tokio), and converted with
///    [`IntoFuture`](core::future::IntoFuture). The futures are pinned on the stack of the
///    enclosing future, so they need not be `Unpin`. A disabled branch's future is never
///    polled, only dropped.
/// 3. The futures of the enabled branches are polled concurrently **on the current task**
///    (nothing is spawned).
/// 4. When one completes, its output is matched against its `<pattern>`. If it matches, all
///    futures are **dropped** (the remaining ones are cancelled), and then the `<handler>` runs
///    with the pattern's bindings; its value is the value of the `select!`. If it does not
///    match (e.g. `Some(v) = stream.next()` when the stream ended), that branch is disabled
///    and the others keep running.
/// 5. When every branch is disabled, the `else` expression runs; without `else`, `select!`
///    panics with "all branches are disabled and there is no else branch".
///
/// The handler runs outside the polling machinery, directly in the enclosing async code:
/// `?` and `return` leave the enclosing function, `break` and `continue` act on an
/// enclosing loop, and the handler may use whatever the futures borrowed, since they are
/// already gone.
///
/// # Fairness
///
/// Each time the `select!` is polled, it starts with a branch picked at random (from a cheap
/// per-thread generator), so that when several branches are ready, each gets its turn and
/// an always-ready branch cannot starve the others. Write `biased;` before the first branch
/// to poll in the order written instead: then, when several branches are ready, the first
/// one written wins every time, which is useful to give one branch (e.g. shutdown) priority,
/// but it is then up to you to make sure later branches are not starved.
///
/// Like Tokio's, `select!` returns `Pending` without polling anything when the task has used
/// up its cooperative budget, so a loop of `select!`s over always-ready futures still yields
/// to other tasks.
///
/// # Cancellation safety
///
/// Every branch that does not win is *cancelled*: its future is dropped at whatever `.await`
/// it had reached. This is harmless for futures that are **cancel safe**: dropping them
/// before completion loses nothing, so calling them again in the next loop iteration
/// continues where the last one stopped (e.g. receiving from a
/// [`oneshot::Receiver`](crate::sync::oneshot::Receiver) or a channel: a message is either
/// returned or stays in the channel). A future that is not cancel safe (e.g. one that reads
/// part of a message into a local buffer, or one that has taken a message out of a queue but
/// not yet returned it) loses that partial progress when another branch wins. In a loop,
/// either use cancel-safe operations only, or create the future once before the loop, pin it
/// ([`pin!`](crate::pin!)), and select on `&mut fut`, which keeps it alive across
/// iterations. The documentation of each async method in this crate says whether it is cancel
/// safe.
///
/// # Limits
///
/// At most 64 branches (plus `else`): the set of disabled branches is a `u64`. Use
/// [`join!`](crate::join!), a task set or a channel to wait on more.
///
/// # Examples
///
/// The first of two channels to deliver wins; the other receiver is dropped:
///
/// ```
/// use runtime::sync::oneshot;
///
/// runtime::Runtime::new().unwrap().block_on(async {
///     let (tx1, rx1) = oneshot::channel::<&str>();
///     let (tx2, rx2) = oneshot::channel::<&str>();
///     runtime::spawn(async move { tx2.send("two").unwrap() });
///
///     let got = runtime::select! {
///         v = rx1 => v.unwrap(),
///         v = rx2 => v.unwrap(),
///     };
///     assert_eq!(got, "two");
///     assert!(tx1.is_closed(), "rx1 was dropped by select!");
/// });
/// ```
///
/// An event loop: patterns, a precondition, a future reused across iterations, `break` with
/// a value and an `else` branch:
///
/// ```
/// use runtime::sync::oneshot;
///
/// runtime::Runtime::new().unwrap().block_on(async {
///     let (stop_tx, stop_rx) = oneshot::channel::<()>();
///     let (job_tx, job_rx) = oneshot::channel::<u32>();
///     runtime::spawn(async move { job_tx.send(21).unwrap() });
///
///     runtime::pin!(stop_rx, job_rx);
///     let mut stop_tx = Some(stop_tx);
///     let mut job_done = false;
///     let total = loop {
///         runtime::select! {
///             // Cancel safe: a `&mut` to a pinned receiver keeps its place across iterations.
///             Ok(job) = &mut job_rx, if !job_done => {
///                 job_done = true;
///                 println!("job: {}", job * 2);
///                 // Ask the loop to stop.
///                 stop_tx.take().unwrap().send(()).unwrap();
///             }
///             Ok(()) = &mut stop_rx => break "stopped",
///             else => break "nothing left to wait for",
///         }
///     };
///     assert_eq!(total, "stopped");
/// });
/// ```
///
/// `biased;` with a result-typed handler using `?`:
///
/// ```
/// async fn first_number() -> Result<u32, std::num::ParseIntError> {
///     let n = runtime::select! {
///         biased;
///         text = async { "17" } => text.parse::<u32>()?,
///         _ = std::future::pending::<()>() => unreachable!(),
///     };
///     Ok(n + 1)
/// }
///
/// runtime::Runtime::new().unwrap().block_on(async {
///     assert_eq!(first_number().await, Ok(18));
/// });
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($branches:tt)*) => {
        $crate::__select_impl!(@start true $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select_impl!(@start false $($branches)*)
    };
}
