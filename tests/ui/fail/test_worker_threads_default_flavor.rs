// `#[runtime::test]` defaults to current_thread, so `worker_threads` alone
// is rejected.
#[runtime::test(worker_threads = 2)]
async fn needs_multi_thread() {}

fn main() {}
