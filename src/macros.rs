//! `join!`, `try_join!` and `pin!`: run several futures concurrently on the current task, and
//! pin values to the stack.
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

/// Support items for the macros of this module. Not public API: names and signatures may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use core::future::{poll_fn, ready, Future, IntoFuture};
    pub use core::option::Option::Some;
    pub use core::pin::{pin, Pin};
    pub use core::result::Result::{Err, Ok};
    pub use core::task::{Context, Poll};

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
            let future = slot
                .as_mut()
                .as_pin_mut()
                .expect("join!: a running branch lost its future");
            match future.poll(cx) {
                Poll::Ready(output) => {
                    // Drop the finished future right away, like a `MaybeDone` would.
                    slot.set(None);
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
            // `start..count` first, then `0..start`.
            $(
                if ($($index)*) >= start {
                    $crate::__join_impl!(@poll $kind $slot cx all_done);
                }
            )*
            $(
                if ($($index)*) < start {
                    $crate::__join_impl!(@poll $kind $slot cx all_done);
                }
            )*
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
