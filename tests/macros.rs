//! Tests for `#[runtime::main]` and `#[runtime::test]`: the trybuild UI
//! cases under `tests/ui/` (programs that must compile and run, and inputs
//! that must be rejected with a specific diagnostic), plus tests written with
//! `#[runtime::test]` that run on each flavor.

use std::num::{IntErrorKind, ParseIntError};

/// Every `tests/ui/pass/*.rs` program compiles and runs successfully, and
/// every `tests/ui/fail/*.rs` input fails with exactly the diagnostics in
/// its `.stderr` file.
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

#[runtime::test]
async fn current_thread_runs_spawned_task() {
    let handle = runtime::spawn(async { 20 + 1 });
    let value = handle.await.unwrap();
    assert_eq!(value * 2, 42);
}

#[runtime::test(flavor = "current_thread")]
async fn explicit_current_thread_awaits_nested_futures() {
    async fn double(x: u32) -> u32 {
        x * 2
    }
    let spawned = runtime::spawn(async { double(10).await + 1 });
    assert_eq!(double(spawned.await.unwrap()).await, 42);
}

#[runtime::test(flavor = "multi_thread")]
async fn multi_thread_runs_spawned_tasks() {
    let handles: Vec<_> = (0..8u64)
        .map(|i| runtime::spawn(async move { i * i }))
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.unwrap();
    }
    assert_eq!(sum, 140);
}

#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_with_worker_threads_runs_spawned_task() {
    let value = runtime::spawn(async { String::from("spawned") })
        .await
        .unwrap();
    assert_eq!(value, "spawned");
}

#[runtime::test]
async fn result_returning_test_can_use_question_mark() -> Result<(), ParseIntError> {
    let n: u32 = "41".parse()?;
    let n = runtime::spawn(async move { n + 1 }).await.unwrap();
    assert_eq!(n, 42);
    Ok(())
}

#[runtime::test(flavor = "multi_thread")]
async fn result_returning_test_can_return_early() -> Result<(), String> {
    let value = runtime::spawn(async { 7 }).await.unwrap();
    if value == 7 {
        return Ok(());
    }
    Err(format!("unexpected value {value}"))
}

/// `#[should_panic]` is kept, and a panic in the body fails the test.
#[runtime::test]
#[should_panic(expected = "spawned value was 3")]
async fn should_panic_attribute_is_kept() {
    let value = runtime::spawn(async { 3 }).await.unwrap();
    panic!("spawned value was {value}");
}

/// `#[ignore]` is preserved (the body would fail if it ran).
#[runtime::test]
#[ignore = "checks that #[ignore] is kept by #[runtime::test]"]
async fn ignore_attribute_is_kept() {
    panic!("ignored tests must not run by default");
}

/// `#[runtime::main]` also works on a function that is not `main`,
/// returning a value to its synchronous caller.
#[runtime::main(flavor = "current_thread")]
async fn compute_on_fresh_runtime() -> u64 {
    runtime::spawn(async { 6 * 7 }).await.unwrap()
}

#[test]
fn main_attribute_on_a_helper_returns_its_value() {
    assert_eq!(compute_on_fresh_runtime(), 42);
}

/// An error produced by `?` inside the body is what the function returns.
#[runtime::main(flavor = "current_thread")]
async fn parse_invalid_on_fresh_runtime() -> Result<u32, ParseIntError> {
    let n: u32 = "forty-two".parse()?;
    Ok(runtime::spawn(async move { n * 2 }).await.unwrap())
}

#[test]
fn question_mark_error_is_returned_from_the_body() {
    let err = parse_invalid_on_fresh_runtime().unwrap_err();
    assert_eq!(*err.kind(), IntErrorKind::InvalidDigit);
}
