//! Reading the configured policy files (the I/O the pure `gatehouse-policy` crate leaves to its
//! callers) and noticing when they change.

use gatehouse_policy::{PolicyError, PolicySource};
use std::path::Path;

/// Most policy sources (files) in one set.
const MAX_SOURCES: usize = 10_000;
/// Largest policy source accepted, in bytes.
const MAX_SOURCE_BYTES: usize = 4 << 20;

/// Reads the files matching `globs` (relative to `base`), sorted by path. A pattern that
/// matches nothing is an error (a typo must not silently drop policies).
pub fn read_sources(globs: &[String], base: &Path) -> Result<Vec<PolicySource>, PolicyError> {
    let mut out = Vec::new();
    for (g, matched) in expand(globs, base) {
        let matched = matched?;
        if matched.is_empty() {
            return Err(PolicyError::Io(format!("{g:?} matches no file")));
        }
        for p in matched {
            let meta = std::fs::metadata(&p)
                .map_err(|e| PolicyError::Io(format!("{}: {e}", p.display())))?;
            if meta.len() > MAX_SOURCE_BYTES as u64 {
                return Err(PolicyError::Io(format!(
                    "{}: larger than {MAX_SOURCE_BYTES} bytes",
                    p.display()
                )));
            }
            let text = std::fs::read_to_string(&p)
                .map_err(|e| PolicyError::Io(format!("{}: {e}", p.display())))?;
            out.push(PolicySource {
                name: p.display().to_string(),
                text,
            });
            if out.len() > MAX_SOURCES {
                return Err(PolicyError::Io(format!(
                    "more than {MAX_SOURCES} policy files"
                )));
            }
        }
    }
    Ok(out)
}

/// Each pattern (relative to `base` unless absolute) with the files it matches, sorted.
fn expand<'a>(
    globs: &'a [String],
    base: &'a Path,
) -> impl Iterator<Item = (&'a String, Result<Vec<std::path::PathBuf>, PolicyError>)> + 'a {
    globs.iter().map(move |g| {
        let pattern = if Path::new(g).is_absolute() {
            g.clone()
        } else {
            base.join(g).to_string_lossy().into_owned()
        };
        let matched = glob::glob(&pattern)
            .map_err(|e| PolicyError::Io(format!("bad pattern {g:?}: {e}")))
            .and_then(|paths| {
                paths
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| PolicyError::Io(e.to_string()))
            })
            .map(|mut v| {
                v.sort();
                v
            });
        (g, matched)
    })
}

/// A cheap fingerprint of the files matching `globs` (paths, sizes, modification times), to
/// notice changes without reading them.
pub fn sources_fingerprint(globs: &[String], base: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (_, matched) in expand(globs, base) {
        for p in matched.unwrap_or_default() {
            p.hash(&mut h);
            if let Ok(m) = std::fs::metadata(&p) {
                m.len().hash(&mut h);
                if let Ok(t) = m.modified() {
                    t.hash(&mut h);
                }
            }
        }
    }
    h.finish()
}
