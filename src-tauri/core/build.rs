//! `sqlx::migrate!` embeds the files of `migrations/` at compile time, but
//! cargo only knows to rebuild for the crate's own sources: a migration
//! added without touching them would be missing from the binary, and every
//! database migrated by an older build would refuse to start it.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
