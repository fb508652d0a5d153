//! The commented examples a new pools directory is seeded with.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};
use crate::meeting::MeetingPlatform;

/// A commented example definition for `mp`'s default pool.
pub fn example(mp: MeetingPlatform) -> String {
    let image = mp.default_image();
    let image = image.strip_suffix(":latest").unwrap_or(&image);
    format!(
        "# Berth pool definition: one pool per file; keys are snake_case, unknown keys are errors.
# Check it with `berth pools validate`, apply it with `berth pools apply {name}`.
name: {name}                      # slots are named pool-{name}-NNN
meeting_platform: {mp}            # google-meet, microsoft-teams or zoom
image: {image}
tag: latest
max_size: 100                     # 1 to 999 slots across all platforms
prewarm: 0                        # idle slots kept ready (at most max_size)
# scaling:                        # instead of prewarm: the idle target follows demand
#   min_idle: 2                   # always kept ready
#   max_idle: 20                  # at most max_size
#   scale_down_after: 10m         # idle slots above the target go after this
# platforms: [k8s, aws]           # allowed platforms in order; omit for the global priority
resources:
  cpu: 500m
  memory: 1Gi
  shm_size: 1Gi                   # /dev/shm for the browser
recovery:
  interval: 5m
  deploying_timeout: 5m
  max_attempts: 3                 # then the slot and its resource are deleted
queue:
  priority: 100                   # lower first
  timeout: 5m                     # at most 10m
# accounts:                       # optional account source
#   type: sql
#   query:
#     select: SELECT id, email FROM accounts WHERE status = :status ORDER BY last_used NULLS FIRST LIMIT :limit
#     parameters:
#       - {{ name: status, type: string, value: available }}
#       - {{ name: limit, type: int, value: 100 }}
#   pool_config:
#     retry_failed: true
#     max_failures: 3
#     refresh_interval: 30s
",
        name = mp.as_str(),
        mp = mp.as_str(),
    )
}

/// Seeds `dir` with a commented example per meeting platform when it does
/// not exist yet (first run). Returns the files written; an existing
/// directory, even an empty one, is left alone.
pub fn seed(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.exists() {
        return Ok(Vec::new());
    }
    let io = |e: std::io::Error| {
        Error::new(
            ErrorCode::InvalidInput,
            format!("cannot create the pools directory {}: {e}", dir.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut written = Vec::new();
    for mp in MeetingPlatform::ALL {
        let path = dir.join(format!("{}.yaml", mp.as_str()));
        std::fs::write(&path, example(*mp)).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}
