async fn no_handler(a: std::future::Ready<u8>) {
    runtime::select! {
        _ = a =>
    }
}

fn main() {}
