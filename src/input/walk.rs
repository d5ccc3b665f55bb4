//! Directory arguments: every regular file below a directory, in sorted
//! order, so that a report over a directory does not depend on the order
//! the file system lists it in.

use std::fs;
use std::path::{Path, PathBuf};

use super::Source;
use crate::error::Error;

/// Replaces each directory in `sources` by the regular files below it
/// (recursively, sorted by path; names starting with `.` are skipped unless
/// `hidden`). Symbolic links to files are followed, links to directories
/// are not, so a link loop cannot recur forever. Directories that cannot be
/// listed are reported and skipped, and so is a directory with no file to
/// read ([`Error::NoFiles`]); the rest is still scanned. A link that leads
/// nowhere (dangling, or in a loop) is skipped and reported as
/// [`Error::BrokenLink`], which is a warning, not a failure.
pub fn expand(sources: Vec<Source>, hidden: bool) -> (Vec<Source>, Vec<Error>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        match &source {
            Source::File(path) if path.is_dir() => {
                let before = files.len();
                let mut skipped = 0;
                walk(path, hidden, &mut files, &mut errors, &mut skipped);
                if files.len() == before {
                    errors.push(Error::NoFiles { path: path.clone(), hidden: skipped });
                }
            }
            Source::Object(url) => match super::object::list(url, hidden) {
                Ok(objects) if objects.is_empty() => errors.push(Error::NoObjects { url: url.to_string() }),
                Ok(objects) => files.extend(objects.into_iter().map(Source::Object)),
                Err(source) => errors.push(Error::ObjectList { url: url.to_string(), source }),
            },
            _ => files.push(source),
        }
    }
    (files, errors)
}

fn walk(dir: &Path, hidden: bool, files: &mut Vec<Source>, errors: &mut Vec<Error>, skipped: &mut usize) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push(Error::Walk { path: dir.to_owned(), source });
            return;
        }
    };
    let mut paths: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) => {
                errors.push(Error::Walk { path: dir.to_owned(), source });
                continue;
            }
        };
        if !hidden && entry.file_name().as_encoded_bytes().starts_with(b".") {
            *skipped += 1;
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => paths.push((path, true)),
            Ok(kind) if kind.is_file() => paths.push((path, false)),
            Ok(kind) if kind.is_symlink() => match path.metadata() {
                Ok(target) if target.is_file() => paths.push((path, false)),
                Ok(_) => {}
                Err(source) => errors.push(Error::BrokenLink { path, source }),
            },
            Ok(_) => {}
            Err(source) => errors.push(Error::Walk { path, source }),
        }
    }
    paths.sort();
    for (path, is_dir) in paths {
        if is_dir {
            walk(&path, hidden, files, errors, skipped);
        } else {
            files.push(Source::File(path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_and_skips_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/nested")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        for file in ["z.log", "a.log", "b/nested/x.log", "b/c.log", ".hidden.log", ".git/config"] {
            fs::write(root.join(file), "").unwrap();
        }
        let names = |hidden| -> Vec<String> {
            let (files, errors) = expand(vec![Source::File(root.to_owned())], hidden);
            assert!(errors.is_empty());
            files.iter().map(|s| s.to_string()[root.to_str().unwrap().len() + 1..].to_owned()).collect()
        };
        assert_eq!(names(false), ["a.log", "b/c.log", "b/nested/x.log", "z.log"]);
        assert_eq!(names(true), [".git/config", ".hidden.log", "a.log", "b/c.log", "b/nested/x.log", "z.log"]);
    }

    #[test]
    fn a_directory_without_files_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("empty/nested")).unwrap();
        fs::write(dir.path().join("empty/.hidden.log"), "x\n").unwrap();
        let (files, errors) = expand(vec![Source::File(dir.path().join("empty"))], false);
        assert!(files.is_empty());
        let message = errors[0].to_string();
        assert!(
            message.ends_with(
                "empty: no log files under this directory (1 hidden entry skipped: pass --hidden to read it)"
            ),
            "{message}"
        );
        let (files, errors) = expand(vec![Source::File(dir.path().join("empty"))], true);
        assert_eq!((files.len(), errors.len()), (1, 0));
    }

    #[test]
    fn links_to_nothing_are_named_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.log"), "").unwrap();
        std::os::unix::fs::symlink(root.join("gone.log"), root.join("dangling.log")).unwrap();
        std::os::unix::fs::symlink(root.join("loop2.log"), root.join("loop1.log")).unwrap();
        std::os::unix::fs::symlink(root.join("loop1.log"), root.join("loop2.log")).unwrap();
        std::os::unix::fs::symlink(root.join("a.log"), root.join("b.log")).unwrap();
        let (files, errors) = expand(vec![Source::File(root.to_owned())], false);
        assert_eq!(files, [Source::File(root.join("a.log")), Source::File(root.join("b.log"))]);
        let named: Vec<PathBuf> = errors
            .iter()
            .map(|e| match e {
                Error::BrokenLink { path, .. } => path.clone(),
                other => panic!("{other}"),
            })
            .collect();
        let mut expected = vec![root.join("dangling.log"), root.join("loop1.log"), root.join("loop2.log")];
        let mut named = named;
        named.sort();
        expected.sort();
        assert_eq!(named, expected);
        assert!(errors[0].to_string().contains("skipped: a symbolic link to nothing or in a loop"));
    }

    #[test]
    fn files_and_stdin_pass_through() {
        let sources = vec![Source::Stdin, Source::File("/nonexistent".into())];
        assert_eq!(expand(sources.clone(), false).0, sources);
    }
}
