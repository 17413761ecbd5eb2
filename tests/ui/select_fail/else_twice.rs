async fn two_elses(a: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        x = a => x,
        else => 0,
        else => { 1 }
    }
}

fn main() {}
