async fn two(a: std::future::Ready<u8>, b: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        x = a => x
        y = b => y,
    }
}

async fn before_else(a: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        Some(x) = async { a.await.checked_add(1) } => x
        else => 0,
    }
}

fn main() {}
