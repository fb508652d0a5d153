//! Writing the pools directory: saving a definition's text under its pool's
//! file name (atomically, never over a file it did not mean to replace),
//! renaming a pool's file, repairing a broken file and deleting one.
//!
//! Every write is refused (`definition_invalid`, nothing written) unless the
//! text parses and checks; file names are plain `<name>.yaml` entries of the
//! directory, never paths that leave it. A file appears complete or not at
//! all: it is written to a hidden temporary file (not `*.yaml`, so a scan
//! never reads it half-written), then linked into place (a new file: a file
//! created meanwhile is never overwritten, `conflict`) or renamed over the
//! old one (an update).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::directory::{file_name, find, read_file, scan};
use super::model::{Discovery, Problem};
use super::parse::parse;
use crate::error::{Error, ErrorCode, Result};

/// Where a saved definition went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// The container's name is only the TypeScript type's (JSON is unaffected).
#[serde(rename = "SavedDefinition", rename_all = "camelCase")]
pub struct Saved {
    /// Pool name.
    pub name: String,
    /// File name within the pools directory.
    pub file: String,
    /// The file it replaced when the pool was renamed (or a broken file
    /// repaired under its pool's name).
    pub renamed_from: Option<String>,
}

/// The file name of `path` (what faces show).
pub fn file_of(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `definition_invalid` naming the first problem and how many there are.
pub fn invalid(problems: &[Problem]) -> Error {
    let first = problems
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "invalid".into());
    let more = match problems.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Error::new(ErrorCode::DefinitionInvalid, format!("{first}{more}"))
}

/// The path of `file` in `dir`: a plain `*.yaml` file name, never a path
/// that leaves the directory (`invalid_input`).
pub fn plain_file(dir: &Path, file: &str) -> Result<PathBuf> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file.ends_with(".yaml")
        && !file.contains(['/', '\\'])
        && Path::new(file).file_name().is_some_and(|f| f == file);
    if !plain {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("{file:?} is not a definition file name (name.yaml, in the pools directory)"),
        ));
    }
    Ok(dir.join(file))
}

/// The raw text of `file` (a plain file name) in the pools directory, valid
/// or not (to fix a broken file), read by [`read_file`]'s rules: never
/// through a link out of the directory, at most
/// [`super::MAX_FILE_BYTES`]. `not_found` names the file when it is missing.
pub fn read_raw(dir: &Path, file: &str) -> Result<String> {
    let path = plain_file(dir, file)?;
    read_file(dir, &path).map_err(|e| match e.code() {
        ErrorCode::NotFound if dir.is_dir() => Error::new(
            ErrorCode::NotFound,
            format!("no file {file} in {}", dir.display()),
        ),
        _ => e,
    })
}

/// `conflict` when pool `name` is defined in `found` (by a file other than `except`).
fn taken(found: &Discovery, name: &str, except: Option<&Path>) -> Result<()> {
    match found.get(name) {
        Some(f) if Some(f.path.as_path()) != except => Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "a pool named {name} is already defined in {}",
                file_of(&f.path)
            ),
        )),
        _ => Ok(()),
    }
}

/// Saves `text` after validating it (`definition_invalid`, nothing written).
/// `original: None` creates `<name>.yaml`, refused (`conflict`) when the
/// name or file exists. `Some(old)` updates pool `old`'s file in place, or,
/// when the text renames the pool, writes `<new name>.yaml` (refused when
/// taken) and removes the old file. Seeds the directory on first use.
/// Touches no database: see [`super::catalog::save`] for the rename's
/// retirement of the old pool.
pub fn save(dir: &Path, original: Option<&str>, text: &str) -> Result<Saved> {
    let def = parse(text, None).map_err(|p| invalid(&p))?;
    let found = scan(dir)?;
    let name = def.name;
    let target = dir.join(file_name(&name)?);
    let Some(old) = original else {
        taken(&found, &name, None)?;
        create_file(&target, text)?;
        return Ok(Saved {
            file: file_of(&target),
            name,
            renamed_from: None,
        });
    };
    let f = find(&found, dir, old)?;
    if old == name {
        replace_file(&f.path, text)?;
        return Ok(Saved {
            file: file_of(&f.path),
            name,
            renamed_from: None,
        });
    }
    taken(&found, &name, None)?;
    create_file(&target, text)?;
    remove_file(&f.path)?;
    Ok(Saved {
        file: file_of(&target),
        name,
        renamed_from: Some(file_of(&f.path)),
    })
}

/// Whether saving `text` over pool `original` would rename an existing pool
/// to a free name (what [`save`] then does), and from which name.
pub fn renames(dir: &Path, original: Option<&str>, text: &str) -> Result<Option<String>> {
    let (Some(old), Ok(def)) = (original, parse(text, None)) else {
        return Ok(None);
    };
    let found = scan(dir)?;
    let renames = def.name != old && found.get(old).is_some() && found.get(&def.name).is_none();
    Ok(renames.then(|| old.to_string()))
}

/// Replaces the broken `file` (a plain file name) with `text`, which must be
/// valid (`definition_invalid`, nothing written). The result is saved as
/// `<name>.yaml`: in place when that is `file`, else as a new file (refused,
/// `conflict`, when that name is taken) and `file` is removed. A link is
/// replaced, never written through.
pub fn repair(dir: &Path, file: &str, text: &str) -> Result<Saved> {
    let path = plain_file(dir, file)?;
    let def = parse(text, None).map_err(|p| invalid(&p))?;
    if !path.is_file() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("no file {file} in {}", dir.display()),
        ));
    }
    let target_name = file_name(&def.name)?;
    let found = scan(dir)?;
    taken(&found, &def.name, Some(&path))?;
    if target_name == file {
        replace_file(&path, text)?;
        return Ok(Saved {
            name: def.name,
            file: file.to_string(),
            renamed_from: None,
        });
    }
    create_file(&dir.join(&target_name), text)?;
    remove_file(&path)?;
    Ok(Saved {
        name: def.name,
        file: target_name,
        renamed_from: Some(file.to_string()),
    })
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::InvalidInput,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Removes a definition's file (`invalid_input` when the system refuses).
pub fn remove_file(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| io("remove", path, e))
}

/// Writes `text` to a fresh temporary file next to `target` and returns it.
fn write_temp(target: &Path, text: &str) -> Result<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = target.parent().unwrap_or(Path::new("."));
    // Not `.yaml`, so discovery never reads a half-written file.
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_of(target),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, text).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("write", &tmp, e)
    })?;
    Ok(tmp)
}

/// Writes `text` as `target`, which must not exist: the complete file
/// appears at once (hard link of a temporary file), and a file created
/// meanwhile is never overwritten (`conflict`).
fn create_file(target: &Path, text: &str) -> Result<()> {
    let tmp = write_temp(target, text)?;
    let linked = std::fs::hard_link(&tmp, target);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::new(
            ErrorCode::Conflict,
            format!("{} already exists", target.display()),
        )),
        Err(e) => Err(io("create", target, e)),
    }
}

/// Replaces `target` with `text` at once (temporary file, then rename).
fn replace_file(target: &Path, text: &str) -> Result<()> {
    let tmp = write_temp(target, text)?;
    std::fs::rename(&tmp, target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("replace", target, e)
    })
}
