// `#[runtime::test]` on the multi-thread flavor with `worker_threads`. See
// test_default.rs: under trybuild this checks the expansion is accepted.
#[runtime::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_task() {
    let value = runtime::spawn(async { 42 }).await.unwrap();
    assert_eq!(value, 42);
}

#[runtime::test(flavor = "multi_thread")]
async fn default_worker_threads() {
    runtime::spawn(async {}).await.unwrap();
}

fn main() {}
