async fn run() {
    let _ = runtime::join!(async { 1 }, 2u8);
}

fn main() {}
