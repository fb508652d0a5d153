//! A full Berth instance in development mode, for multi-process tests
//! (leader hand-over, the embedded database). Runs until killed, or until
//! SIGINT (Ctrl-C), then shuts down gracefully; prints `ready <instance-id>`.

#[tokio::main]
async fn main() {
    let options = berth_core::Options::from_env(true, true);
    let berth = match berth_core::Berth::start(options).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            std::process::exit(1);
        }
    };
    // Listening before saying ready: a SIGINT right after `ready` is a
    // graceful stop, not the default action (death without shutdown).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .expect("SIGINT handler");
    println!("ready {}", berth.id);
    interrupt.recv().await;
    let _ = berth.shutdown().await;
}
