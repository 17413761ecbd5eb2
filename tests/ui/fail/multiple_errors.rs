// Independent problems are all reported at once.
#[runtime::main(flavor = "single_thread", worker_threads = 0)]
fn main(arg: u32) {
    let _ = arg;
}
