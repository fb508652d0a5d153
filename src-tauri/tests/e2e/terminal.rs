//! One engine, many faces (issue 12): pool definitions applied and account
//! sources refreshed with `berth pools` in a terminal show up in the open
//! app at once — the CLI's use cases announce their own changes, and the
//! app's Pools view follows them without a refresh.

use std::path::Path;

use fantoccini::{Client, Locator};

use super::{click_tab, poll_async, run_berth, screenshot, wait_find, LIVE_WITHIN};

const POOL: &str = "e2e-cli";

/// Runs `berth --dev pools <args>` against the app's database and pools
/// directory, as an administrator in a terminal would.
fn berth_pools(url: &str, pools_dir: &Path, args: &[&str]) -> Result<String, String> {
    let args: Vec<&str> = std::iter::once("pools")
        .chain(args.iter().copied())
        .collect();
    run_berth(url, &args, &[("BERTH_POOLS_DIR", pools_dir)])
}

/// The text of the pool's row cell matching `css`, if the row is shown.
async fn cell(client: &Client, css: &str) -> Option<String> {
    let row = format!("[data-testid='definition-{POOL}'] {css}");
    client
        .find(Locator::Css(&row))
        .await
        .ok()?
        .text()
        .await
        .ok()
}

/// Writes a definition with a file account source (two accounts) into the
/// app's pools directory, applies it and refreshes its accounts with the
/// CLI, and checks that the Pools view shows each step live.
pub async fn pools_apply_and_refresh_from_a_terminal(
    client: &Client,
    url: &str,
    pools_dir: &Path,
) -> Result<(), String> {
    click_tab(client, "Pools").await;
    let accounts = pools_dir.join("e2e-cli-accounts");
    std::fs::create_dir_all(&accounts).map_err(|e| e.to_string())?;
    for a in ["alice", "bob"] {
        std::fs::write(accounts.join(a), "token").map_err(|e| e.to_string())?;
    }
    std::fs::write(
        pools_dir.join(format!("{POOL}.yaml")),
        format!(
            "name: {POOL}\nmeeting_platform: zoom\nimage: bots/zoom\nmax_size: 2\nprewarm: 0\n\
             accounts:\n  type: file\n  directory: e2e-cli-accounts\n  pool_config:\n    refresh_interval: 0s\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    // The directory watcher shows a file written outside the app.
    wait_find(
        client,
        &format!("[data-testid='definition-{POOL}'] [data-state='not-applied']"),
        LIVE_WITHIN,
    )
    .await;

    berth_pools(url, pools_dir, &["apply", POOL])?;
    let applied = poll_async(LIVE_WITHIN, || async {
        cell(client, "[data-state='applied']")
            .await
            // The badge is styled upper-case; WebDriver reports the text as shown.
            .is_some_and(|t| t.to_lowercase().contains("applied v1"))
    })
    .await;
    if !applied {
        return Err(format!(
            "{POOL}: `berth pools apply` did not show as applied v1 in the app (state {:?})",
            cell(client, "[data-state]").await
        ));
    }

    berth_pools(url, pools_dir, &["refresh", POOL])?;
    let refreshed = poll_async(LIVE_WITHIN, || async {
        cell(client, "[aria-label='accounts']")
            .await
            .is_some_and(|t| t.trim() == "2 / 0 / 0 / 0")
    })
    .await;
    if !refreshed {
        return Err(format!(
            "{POOL}: `berth pools refresh` did not show 2 available accounts in the app (accounts {:?})",
            cell(client, "[aria-label='accounts']").await
        ));
    }
    screenshot(client, "pools-from-terminal").await;
    Ok(())
}
