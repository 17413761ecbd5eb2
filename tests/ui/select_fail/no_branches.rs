async fn empty() {
    runtime::select! {}
}

async fn only_biased() {
    runtime::select! { biased; }
}

async fn only_else() -> u8 {
    runtime::select! { else => 1 }
}

fn main() {}
