fn main() {
    // The `custom-protocol` build embeds ui/dist when `generate_context!`
    // expands; without this, cargo does not know that a rebuilt UI must be
    // embedded again and the app keeps serving the previous one (whose
    // script names no longer match a fresh index.html: a blank window).
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
