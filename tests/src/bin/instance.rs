//! A full Berth instance in development mode, for multi-process tests
//! (leader hand-over). Runs until killed; prints `ready <instance-id>`.

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
    println!("ready {}", berth.id);
    let _ = tokio::signal::ctrl_c().await;
    let _ = berth.shutdown().await;
}
