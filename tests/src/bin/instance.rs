//! A full Berth instance in development mode, for multi-process tests
//! (leader hand-over, the embedded database). Runs until killed, or until
//! SIGINT (Ctrl-C), then shuts down gracefully; prints `ready <instance-id>`.

#[tokio::main]
async fn main() {
    let started = match berth_core::Berth::from_env(true) {
        Ok(builder) => builder.background(true).start().await,
        Err(e) => Err(e),
    };
    let berth = match started {
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
