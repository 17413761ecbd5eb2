// `#[runtime::test]` with no options. trybuild builds pass cases as
// binaries (no `--test`), so this checks that the expansion is accepted;
// tests/macros.rs runs such tests for real.
#[runtime::test]
async fn spawned_task() {
    let value = runtime::spawn(async { 42 }).await.unwrap();
    assert_eq!(value, 42);
}

#[runtime::test]
#[should_panic(expected = "boom")]
async fn other_attributes_are_kept() {
    panic!("boom");
}

fn main() {}
