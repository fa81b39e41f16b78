//! Side-by-side benchmarks (placeholder until the producer lands).

fn main() {
    println!("ferrokafka-bench: no benchmarks yet");
}
