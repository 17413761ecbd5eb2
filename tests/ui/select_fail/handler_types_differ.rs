async fn types(a: std::future::Ready<u8>, b: std::future::Ready<u8>) {
    let _ = runtime::select! {
        v = a => v,
        _ = b => "text",
    };
}

fn main() {}
