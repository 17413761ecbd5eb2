async fn else_first(a: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        else => 0,
        x = a => x,
    }
}

fn main() {}
