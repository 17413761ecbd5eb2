async fn precondition(a: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        v = a, if 1 => v,
    }
}

fn main() {}
