//! Files read from inside one directory, never from outside it.
//!
//! Pool definitions and file account sources are written by administrators,
//! a pools directory may be a shared checkout, and Berth may run as a user
//! with more rights than whoever writes there. So neither a path in a
//! definition nor a symbolic link placed in the directory may make Berth
//! read, list or hand out anything outside it.
//!
//! [`Confined`] holds the directory's canonical path. Every path is first
//! checked as written (relative, no `..`), then resolved with every symbolic
//! link followed, and refused unless the result is still inside. A link that
//! stays inside is followed like any other path. A read then checks the file
//! it actually opened (on Linux through `/proc/self/fd`; elsewhere by
//! resolving again and comparing device and inode), so a path component
//! swapped for a link between the check and the open gains nothing. Opens
//! never follow a final link and never block on a FIFO.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::ErrorCode;

/// Why a path was refused or could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The path is absolute or climbs with `..`.
    #[error("must be a path inside {}, written relative to it (no leading `/`, no `..`)", root.display())]
    NotRelative {
        /// The directory.
        root: PathBuf,
    },
    /// The path, once its symbolic links are followed, leaves the directory.
    #[error("leads outside {} (through a symbolic link); Berth reads only what is inside it", root.display())]
    Outside {
        /// The directory.
        root: PathBuf,
    },
    /// A path given from elsewhere (a command line) is not in the directory.
    #[error("is not in {}", root.display())]
    Elsewhere {
        /// The directory.
        root: PathBuf,
    },
    /// Nothing is there (or a symbolic link points at nothing).
    #[error("does not exist")]
    Missing,
    /// It is a directory, a FIFO, a device or a socket.
    #[error("is not a regular file")]
    NotAFile,
    /// It is not a directory.
    #[error("is not a directory")]
    NotADirectory,
    /// The file is larger than the caller's limit.
    #[error("is {size} bytes; the limit is {limit} bytes ({} KiB)", limit / 1024)]
    TooLarge {
        /// Its size (or what could be read of it).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The operating system refused (permissions, I/O).
    #[error("cannot be read: {0}")]
    Io(std::io::Error),
}

impl Refusal {
    /// The code for a refused definition file or account directory:
    /// `not_found` when there is nothing to read, else `definition_invalid`
    /// (what the definition or the directory holds must change).
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::Missing | Refusal::Io(_) => ErrorCode::NotFound,
            _ => ErrorCode::DefinitionInvalid,
        }
    }
}

fn io(e: std::io::Error) -> Refusal {
    match e.kind() {
        std::io::ErrorKind::NotFound => Refusal::Missing,
        _ => Refusal::Io(e),
    }
}

/// Whether `path` is written as a path inside a directory: relative, with
/// no `..` (and no drive or root on Windows). Says nothing about links.
pub fn written_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The regular files of a directory, by name (see [`Confined::files`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// File name and canonical path (inside the directory), in name order.
    pub files: Vec<(String, PathBuf)>,
    /// Whether more files than the cap were there (the first by name are kept).
    pub truncated: bool,
    /// Names of entries skipped because their link leads outside (or nowhere).
    pub refused: Vec<String>,
}

/// A directory whose files may be read; nothing outside it can be.
#[derive(Debug, Clone)]
pub struct Confined {
    root: PathBuf,
}

impl Confined {
    /// Confines reads to `dir` (itself reached through links or not).
    /// `Missing` when it does not exist.
    pub fn new(dir: &Path) -> Result<Confined, Refusal> {
        let root = std::fs::canonicalize(dir).map_err(io)?;
        if !root.is_dir() {
            return Err(Refusal::NotADirectory);
        }
        Ok(Confined { root })
    }

    /// The directory's canonical path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The canonical path of `rel` (relative to the directory), refused
    /// unless it is written inside ([`written_inside`]) and, with every
    /// symbolic link followed, still inside. `Missing` when nothing is there.
    pub fn resolve(&self, rel: &Path) -> Result<PathBuf, Refusal> {
        if !written_inside(rel) {
            return Err(Refusal::NotRelative {
                root: self.root.clone(),
            });
        }
        let path = std::fs::canonicalize(self.root.join(rel)).map_err(io)?;
        if !path.starts_with(&self.root) {
            return Err(Refusal::Outside {
                root: self.root.clone(),
            });
        }
        Ok(path)
    }

    /// `path`, given as on a command line (relative to the working directory
    /// or absolute), as a path relative to the directory: its parent must be
    /// the directory or inside it (`Elsewhere` otherwise). Its last component
    /// is left for [`Confined::read`] to resolve.
    pub fn relative(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let name = match path.components().next_back() {
            Some(Component::Normal(name)) => name,
            _ => return Err(Refusal::NotAFile),
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let parent = std::fs::canonicalize(parent).map_err(io)?;
        match parent.strip_prefix(&self.root) {
            Ok(inside) => Ok(inside.join(name)),
            Err(_) => Err(Refusal::Elsewhere {
                root: self.root.clone(),
            }),
        }
    }

    /// The bytes of the regular file `rel` (relative to the directory), at
    /// most `limit` of them (`TooLarge` otherwise, without reading more than
    /// one byte past the limit).
    pub fn read(&self, rel: &Path, limit: u64) -> Result<Vec<u8>, Refusal> {
        let path = self.resolve(rel)?;
        let file = open(&path).map_err(io)?;
        self.opened_inside(&file, &path)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(Refusal::NotAFile);
        }
        if meta.len() > limit {
            return Err(Refusal::TooLarge {
                size: meta.len(),
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        // It may have grown since it was measured.
        if bytes.len() as u64 > limit {
            return Err(Refusal::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }

    /// The regular files of the directory `rel` (relative to the directory),
    /// at most `max` of them (the first by name). Hidden files (`.name`) and
    /// subdirectories are skipped; an entry that is a symbolic link is kept
    /// only when it resolves to a regular file inside the directory (with
    /// that file's path), and is otherwise named in [`Listing::refused`].
    pub fn files(&self, rel: &Path, max: usize) -> Result<Listing, Refusal> {
        let dir = self.resolve(rel)?;
        let (listed, _handle) = self.open_dir(&dir)?;
        let mut kept = BTreeMap::new();
        let mut out = Listing::default();
        for entry in std::fs::read_dir(listed).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(io)?;
            let path = if kind.is_file() {
                dir.join(&name)
            } else if kind.is_symlink() {
                match self.resolve(&rel.join(&name)) {
                    Ok(p) if p.is_file() => p,
                    Ok(_) => continue,
                    Err(_) => {
                        out.refused.push(name);
                        continue;
                    }
                }
            } else {
                continue;
            };
            kept.insert(name, path);
            if kept.len() > max {
                kept.pop_last();
                out.truncated = true;
            }
        }
        out.files = kept.into_iter().collect();
        out.refused.sort();
        Ok(out)
    }

    /// Opens the directory at the canonical `dir` and checks it is inside.
    /// Returns the path to list it through (on Linux the open handle's, so
    /// the directory that was checked is the one listed even if its path is
    /// swapped for a link meanwhile) and the handle, to keep open meanwhile.
    #[cfg(unix)]
    fn open_dir(&self, dir: &Path) -> Result<(PathBuf, File), Refusal> {
        let handle = open(dir).map_err(io)?;
        self.opened_inside(&handle, dir)?;
        if !handle.metadata().map_err(io)?.is_dir() {
            return Err(Refusal::NotADirectory);
        }
        let listed = fd_path(&handle)
            .filter(|p| p.exists())
            .unwrap_or_else(|| dir.to_path_buf());
        Ok((listed, handle))
    }

    /// Elsewhere a directory cannot be opened as a file: checked by path.
    #[cfg(not(unix))]
    fn open_dir(&self, dir: &Path) -> Result<(PathBuf, ()), Refusal> {
        if !dir.is_dir() {
            return Err(Refusal::NotADirectory);
        }
        Ok((dir.to_path_buf(), ()))
    }

    /// Whether the file `file`, opened through `path`, is inside.
    fn opened_inside(&self, file: &File, path: &Path) -> Result<(), Refusal> {
        if let Some(real) = fd_path(file).and_then(|p| std::fs::read_link(p).ok()) {
            return if real.starts_with(&self.root) {
                Ok(())
            } else {
                Err(Refusal::Outside {
                    root: self.root.clone(),
                })
            };
        }
        same_file_inside(self, file, path)
    }
}

/// Without `/proc`: the path, resolved again, must be inside and name the
/// very file that was opened.
#[cfg(unix)]
fn same_file_inside(c: &Confined, file: &File, path: &Path) -> Result<(), Refusal> {
    use std::os::unix::fs::MetadataExt;
    let opened = file.metadata().map_err(io)?;
    let now = std::fs::canonicalize(path)
        .ok()
        .filter(|p| p.starts_with(&c.root))
        .and_then(|p| std::fs::metadata(p).ok());
    match now {
        Some(m) if m.dev() == opened.dev() && m.ino() == opened.ino() => Ok(()),
        _ => Err(Refusal::Outside {
            root: c.root.clone(),
        }),
    }
}

#[cfg(not(unix))]
fn same_file_inside(_: &Confined, _: &File, _: &Path) -> Result<(), Refusal> {
    Ok(())
}

/// `/proc/self/fd/N` for an open file, on Linux.
#[cfg(target_os = "linux")]
fn fd_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    Some(PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd())))
}

#[cfg(not(target_os = "linux"))]
fn fd_path(_: &File) -> Option<PathBuf> {
    None
}

/// Opens for reading without following a final symbolic link and without
/// blocking on a FIFO (a file swapped for one must not hang a scan).
fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_paths_without_parent_steps_are_written_inside() {
        for ok in ["a", "a/b", "./a", "a/./b"] {
            assert!(written_inside(Path::new(ok)), "{ok}");
        }
        for bad in ["/etc", "../etc", "a/../../etc", "a/.."] {
            assert!(!written_inside(Path::new(bad)), "{bad}");
        }
    }
}
