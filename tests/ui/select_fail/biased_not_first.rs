async fn biased_later(a: std::future::Ready<u8>, b: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        x = a => x,
        biased;
        y = b => y,
    }
}

async fn biased_twice(a: std::future::Ready<u8>) -> u8 {
    runtime::select! {
        biased;
        biased;
        x = a => x,
    }
}

fn main() {}
