//! The pools directory: where it is, reading its files (confined to it),
//! scanning it.

use std::path::{Path, PathBuf};

use super::check::valid_name;
use super::example::seed;
use super::model::{content_hash, Discovery, Found, Problem, MAX_FILE_BYTES};
use super::parse::{locate, parse};
use crate::confined::{Confined, Refusal};
use crate::error::{Error, ErrorCode, Result};

/// The pools directory: `$BERTH_POOLS_DIR`, else `$XDG_CONFIG_HOME/berth/pools`,
/// else `$HOME/.config/berth/pools`.
pub fn pools_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("BERTH_POOLS_DIR") {
        return dir;
    }
    if let Some(dir) = set("XDG_CONFIG_HOME").filter(|d| d.is_absolute()) {
        return dir.join("berth").join("pools");
    }
    set("HOME")
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".config")
        .join("berth")
        .join("pools")
}

/// The pools directory `dir`, confined ([`Confined`]); `not_found` when it
/// does not exist.
fn pools_root(dir: &Path) -> Result<Confined> {
    Confined::new(dir).map_err(|e| {
        Error::new(
            e.code(),
            format!("cannot read the pools directory {}: it {e}", dir.display()),
        )
    })
}

/// Reads one definition file's text from the pools directory `dir`: the one
/// function every reader of a pool file goes through (scan, validate, the
/// desktop's editor). `path` names the file as the caller has it: `dir`
/// joined with a file name, or a command-line path (relative to the working
/// directory or absolute). It must lie in `dir` and, with its symbolic links
/// followed, stay inside (a link that stays inside is followed); it must be
/// a regular file of at most [`MAX_FILE_BYTES`] of UTF-8. Refused:
/// `not_found` when there is nothing to read, else `definition_invalid`,
/// the message saying why (never quoting the file).
pub fn read_file(dir: &Path, path: &Path) -> Result<String> {
    let root = pools_root(dir)?;
    read_in(&root, path).map_err(|e| Error::new(e.code(), format!("{}: {e}", path.display())))
}

fn read_in(root: &Confined, path: &Path) -> std::result::Result<String, FileRefusal> {
    let rel = root.relative(path)?;
    let bytes = root.read(&rel, MAX_FILE_BYTES as u64)?;
    String::from_utf8(bytes).map_err(|_| FileRefusal::NotText)
}

/// Why [`read_file`] read nothing.
#[derive(Debug, thiserror::Error)]
enum FileRefusal {
    #[error("{0}")]
    Confined(#[from] Refusal),
    #[error("is not UTF-8 text")]
    NotText,
}

impl FileRefusal {
    fn code(&self) -> ErrorCode {
        match self {
            FileRefusal::Confined(r) => r.code(),
            FileRefusal::NotText => ErrorCode::DefinitionInvalid,
        }
    }
}

/// Reads every `*.yaml` entry of `dir` (not other files, not subdirectories)
/// through [`read_file`]'s rules. A file that cannot be read (a symbolic
/// link leading out of the directory, too large, not text) or is broken is
/// reported in [`Discovery::problems`] and skipped; so is a second file
/// defining a name already taken. A missing directory is an error.
pub fn discover(dir: &Path) -> Result<Discovery> {
    let root = pools_root(dir)?;
    let entries = std::fs::read_dir(root.root()).map_err(|e| {
        Error::new(
            ErrorCode::NotFound,
            format!("cannot read the pools directory {}: {e}", dir.display()),
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        // A directory (or a link to one) named `*.yaml` is not a definition.
        .filter(|e| !e.path().is_dir())
        .map(|e| dir.join(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let mut out = Discovery::default();
    for path in paths {
        let text = match read_in(&root, &path) {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(Problem {
                    file: Some(path.clone()),
                    line: None,
                    column: None,
                    field: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match parse(&text, Some(&path)) {
            Ok(definition) => {
                if let Some(first) = out.get(&definition.name) {
                    let (line, column) = locate(&text, "name");
                    out.problems.push(Problem {
                        file: Some(path.clone()),
                        line,
                        column,
                        field: Some("name".into()),
                        message: format!(
                            "{:?} is already defined by {}",
                            definition.name,
                            first.path.display()
                        ),
                    });
                    continue;
                }
                let hash = content_hash(&text);
                out.definitions.push(Found {
                    path,
                    definition,
                    text,
                    hash,
                });
            }
            Err(problems) => out.problems.extend(problems),
        }
    }
    Ok(out)
}

/// A file name for a pool name (names are already file-safe once valid).
pub fn file_name(name: &str) -> Result<String> {
    if valid_name(name) {
        Ok(format!("{name}.yaml"))
    } else {
        Err(Error::new(
            ErrorCode::DefinitionInvalid,
            format!("{name:?} is not a valid pool name"),
        ))
    }
}

/// The pools directory as the faces read it: seeded with the examples when
/// it does not exist yet ([`seed`]; the files written are in
/// [`Discovery::seeded`]), then [`discover`]ed.
pub fn scan(dir: &Path) -> Result<Discovery> {
    let seeded = seed(dir)?;
    let mut found = discover(dir)?;
    found.seeded = seeded;
    Ok(found)
}

/// The definition of pool `name` in `found` (a scan of `dir`):
/// `definition_invalid` when only a broken file of that name exists (fix
/// it first), else `not_found`.
pub fn find<'a>(found: &'a Discovery, dir: &Path, name: &str) -> Result<&'a Found> {
    found.get(name).ok_or_else(|| {
        let broken = found.problems.iter().any(|p| {
            p.file
                .as_ref()
                .is_some_and(|f| f.file_stem().is_some_and(|s| s == name))
        });
        if broken {
            Error::new(
                ErrorCode::DefinitionInvalid,
                format!("the file of {name} is invalid: fix it first (see its problems)"),
            )
        } else {
            Error::new(
                ErrorCode::NotFound,
                format!("no definition named {name:?} in {}", dir.display()),
            )
        }
    })
}
