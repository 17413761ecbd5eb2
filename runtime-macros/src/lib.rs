//! Procedural macros for the `runtime` crate: `#[runtime::main]` and
//! `#[runtime::test]`.
//!
//! This file owns the public entry points and their documentation only.
//! Argument parsing lives in the `options` module and code generation in
//! the `expand` module.
//!
//! Use these macros through the `runtime` facade (`runtime::main`,
//! `runtime::test`): the generated code refers to `::runtime::Builder`, so
//! the crate using them must depend on `runtime`.

#![forbid(unsafe_code)]

mod expand;
mod options;

use proc_macro::TokenStream;

use options::MacroKind;

/// Marks an `async fn` to be run on a `runtime` runtime, typically `main`.
///
/// The function loses its `async` and instead builds a runtime and blocks on
/// the original body. This lets `async fn main` be the program's entry
/// point, and works for any argument-less `async fn`.
///
/// # Options
///
/// - `flavor = "multi_thread"` (the default) or `flavor = "current_thread"`
///   selects `runtime::Builder::new_multi_thread()` or
///   `runtime::Builder::new_current_thread()`.
/// - `worker_threads = N` (an integer literal greater than zero) calls
///   `Builder::worker_threads(N)`; it is only valid with the multi-thread
///   flavor.
/// - `start_paused = true` calls `Builder::start_paused(true)`: the clock
///   starts paused (see `runtime::time::pause`), on either flavor.
///
/// Every driver is enabled (`Builder::enable_all()`).
///
/// Each option may be given at most once.
///
/// # Examples
///
/// (Marked `ignore` because this crate's doctests cannot depend on
/// `runtime`; the same programs are compiled by the `runtime` crate's
/// `tests/ui/pass` cases.)
///
/// ```ignore
/// #[runtime::main]
/// async fn main() {
///     let answer = runtime::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// ```
///
/// The return type is preserved, so `?` works:
///
/// ```ignore
/// #[runtime::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     let n: u32 = "7".parse()?;
///     assert_eq!(n, 7);
///     Ok(())
/// }
/// ```
///
/// expands to roughly:
///
/// ```ignore
/// fn main() -> Result<(), std::num::ParseIntError> {
///     let body = async move { /* original body */ };
///     let body: Pin<&mut dyn Future<Output = Result<(), std::num::ParseIntError>>> =
///         pin!(body);
///     runtime::Builder::new_multi_thread()
///         .worker_threads(2)
///         .build()
///         .expect("failed to build the runtime for #[runtime::main]")
///         .block_on(body)
/// }
/// ```
///
/// # Errors
///
/// Compilation fails, pointing at the offending tokens, if the function is
/// not `async`, takes arguments, or if an option is unknown, repeated, or has
/// an invalid value.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(MacroKind::Main, args.into(), item.into()).into()
}

/// Marks an `async fn` as a test that runs on its own `runtime` runtime.
///
/// Like [`macro@main`], but the default flavor is `current_thread` and the
/// function is additionally registered with the built-in `#[test]`
/// attribute. Do not add `#[test]` yourself: that is a compile error. Other
/// attributes such as `#[should_panic]` or `#[ignore]` are kept.
///
/// # Options
///
/// - `flavor = "current_thread"` (the default) or `flavor = "multi_thread"`.
/// - `worker_threads = N` (an integer literal greater than zero), only with
///   `flavor = "multi_thread"`.
///
/// # Examples
///
/// (Marked `ignore` because this crate's doctests cannot depend on
/// `runtime`; equivalent tests live in the `runtime` crate's
/// `tests/macros.rs`.)
///
/// ```ignore
/// #[runtime::test]
/// async fn spawned_task_completes() {
///     let handle = runtime::spawn(async { 1 + 1 });
///     assert_eq!(handle.await.unwrap(), 2);
/// }
///
/// #[runtime::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn returns_result() -> Result<(), std::num::ParseIntError> {
///     assert_eq!("3".parse::<u8>()?, 3);
///     Ok(())
/// }
/// ```
///
/// # Errors
///
/// The same as [`macro@main`], plus an error if the function already carries
/// a `#[test]` attribute.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(MacroKind::Test, args.into(), item.into()).into()
}
