//! `ferrokafka`: the command line client.

fn main() {
    println!("ferrokafka {}", env!("CARGO_PKG_VERSION"));
}
