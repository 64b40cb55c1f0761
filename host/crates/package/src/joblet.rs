//! What Joblet's own installer (`rnx runtime install`, `InstallFromRegistry`) needs from a
//! package jrt publishes. Joblet reads a registry entry's `download_url` only, extracts the
//! package, and accepts it only with `runtime.yml` (prebuilt: copied as is) or `setup.sh`
//! (source: run in its build chroot) at its top. A jrt source package has neither, so every
//! one jrt packs carries the small `setup.sh` written here, unless its directory has its own:
//! run by Joblet, it hands the work to the node's `jrt`, which sets the runtime up from the
//! package itself (through the plugins and the sandbox, as `jrt install` does) and leaves it
//! where Joblet expects it, `$RUNTIME_DIR/<name>` with `runtime.yml` at its top. Where no
//! `jrt` is found it prints one line saying so and fails. docs/joblet.md has the decision.

/// The `setup.sh` for the source package of `name@version`. The caller has checked both
/// ([`crate::pack::pack`]: a runtime name, a semantic version), so neither holds a quote,
/// a space or a `$`; they are quoted all the same.
pub fn setup_sh(name: &str, version: &str) -> String {
    format!(
        r#"#!/bin/bash
# Written by jrt {jrt}. Joblet's installer runs this in its build chroot; jrt sets the runtime
# up from this package (its family plugins, confined), as `jrt install` would. See jrt's
# docs/joblet.md.
set -euo pipefail
name='{name}'
version="${{RUNTIME_VERSION:-{version}}}"
dest="${{RUNTIME_DIR:-/opt/joblet/runtimes}}"
pkg="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
[ -f "$pkg/manifest.yaml" ] || pkg="$PWD"
jrt=""
for c in "$(command -v jrt 2>/dev/null || true)" /usr/local/bin/jrt /usr/bin/jrt /usr/local/sbin/jrt; do
  if [ -n "$c" ] && [ -x "$c" ]; then jrt="$c"; break; fi
done
if [ -z "$jrt" ]; then
  echo "$name@$version is a jrt package, and this node has no jrt: install jrt (in /usr/local/bin or /usr/bin) and run 'rnx runtime install $name@$version' again, or run 'jrt install $name@$version'" >&2
  exit 1
fi
work="$(mktemp -d "${{TMPDIR:-/tmp}}/jrt-joblet.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sources"
cp -a "$pkg" "$work/sources/$name"
"$jrt" --root "$work/root" --cache-dir "$work/cache" --registry "$work/sources" install "$name@$version"
mkdir -p "$dest"
rm -rf "$dest/$name.jrt-old"
if [ -e "$dest/$name" ]; then mv "$dest/$name" "$dest/$name.jrt-old"; fi
mv "$work/root/$name/$version" "$dest/$name"
rm -rf "$dest/$name.jrt-old"
echo "jrt: set up $name@$version in $dest/$name"
"#,
        jrt = env!("CARGO_PKG_VERSION"),
    )
}
