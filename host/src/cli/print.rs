//! Human-readable output for each command; `--json` prints the same data as JSON instead.

use std::io::IsTerminal;

use jrt::ops::detect::Report;
use jrt::ops::install::Planned;
use jrt::ops::installed::{Available, Installed, Verified};
use jrt::ops::kind::Kind;
use jrt::ops::plugins::{Added, Row};
use jrt_input::display::one_line as s;
use jrt_install::{InstallError, Outcome};

/// Prints `value` as JSON (pretty on a terminal) or through `human`.
pub fn output<T: serde::Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T),
) -> anyhow::Result<()> {
    if json {
        let text = if std::io::stdout().is_terminal() {
            serde_json::to_string_pretty(value)?
        } else {
            serde_json::to_string(value)?
        };
        println!("{text}");
    } else {
        human(value);
    }
    Ok(())
}

/// `5.3 kB`, `91.2 MB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn plan(rows: &Vec<Planned>) {
    for p in rows {
        println!("would install {}@{} for {}", p.name, p.version, p.platform);
        println!("  package   {} ({})", p.package_kind, size(p.size));
        println!("  url       {}", p.url);
        println!("  checksum  {}", p.checksum);
        println!("  registry  {}", p.registry);
        if p.package_kind == "source" {
            let families = if p.families.is_empty() {
                "none declared".to_string()
            } else {
                p.families.join(" + ")
            };
            println!("  plugins   {families} (setup on this machine)");
            for line in &p.setup {
                println!("  setup     {line}");
            }
            if let Some(e) = &p.setup_error {
                println!("  setup     cannot be planned: {e}");
            }
        }
    }
}

/// An error as JSON: `{"kind": …, "message": …}` (the message already made safe to print).
pub fn error(kind: Kind, message: &str) -> serde_json::Value {
    serde_json::json!({ "kind": kind, "message": message })
}

/// A failed install as a JSON row: `{"error": {"kind": …, "message": …}}`.
pub fn install_error(e: &InstallError) -> serde_json::Value {
    let message = jrt_input::display::safe(&e.to_string()).into_owned();
    serde_json::json!({ "error": error(jrt::ops::kind::install(e), &message) })
}

/// Install results as JSON rows: each outcome, or [`install_error`].
pub fn result_rows(results: &[Result<Outcome, InstallError>]) -> Vec<serde_json::Value> {
    results
        .iter()
        .map(|r| match r {
            Ok(o) => serde_json::to_value(o).unwrap_or_default(),
            Err(e) => install_error(e),
        })
        .collect()
}

/// Install results as lines of text.
pub fn install_results(quiet: bool, results: &[Result<Outcome, InstallError>]) {
    for r in results {
        match r {
            Ok(o) if o.action == "already-installed" => {
                if !quiet {
                    println!(
                        "{}@{} is already installed at {} (verified)",
                        o.name,
                        o.version,
                        o.path.display()
                    );
                }
            }
            Ok(o) => {
                if !quiet {
                    println!(
                        "{} {}@{} to {} ({} package, {}{})",
                        o.action,
                        o.name,
                        o.version,
                        o.path.display(),
                        o.package_kind,
                        size(o.size),
                        if o.cached { ", from cache" } else { "" }
                    );
                }
                for note in &o.notes {
                    eprintln!("note: {}@{}: {}", o.name, o.version, s(note));
                }
            }
            Err(e) => eprintln!("error: {}", jrt_input::display::safe(&e.to_string())),
        }
    }
}

pub fn installed(rows: &Vec<Installed>) {
    if rows.is_empty() {
        println!("no runtimes installed");
        return;
    }
    for r in rows {
        println!(
            "{:<28} {:<10} {:<14} {:<9} {}{}",
            r.name,
            r.version,
            r.platform,
            r.package_kind,
            r.path.display(),
            if r.default {
                "  (what a bare name runs)"
            } else {
                ""
            }
        );
    }
}

pub fn available(rows: &Vec<Available>) {
    for r in rows {
        let mut notes = Vec::new();
        if r.yanked {
            notes.push("yanked");
        }
        if r.installed {
            notes.push("installed");
        }
        println!(
            "{:<28} {:<10} {}{}",
            s(&r.name),
            s(&r.version),
            s(&r.description),
            if notes.is_empty() {
                String::new()
            } else {
                format!(" [{}]", notes.join(", "))
            }
        );
    }
}

pub fn info(rows: &[Available], installed: &[Installed]) {
    if let Some(first) = rows.first() {
        println!("{} — {}", s(&first.name), s(&first.description));
        println!("registry  {}", s(&first.registry));
        if !first.family.is_empty() {
            println!("family    {}", s(&first.family.join(" + ")));
        }
    }
    for r in rows {
        println!(
            "  {:<10} {:>9}  {}  platforms: {}{}{}",
            s(&r.version),
            size(r.size),
            s(&r.checksum),
            s(&r.platforms.join(", ")),
            if r.prebuilt.is_empty() {
                String::new()
            } else {
                format!("; prebuilt: {}", r.prebuilt.join(", "))
            },
            if r.yanked { " [yanked]" } else { "" }
        );
    }
    for i in installed {
        println!(
            "installed {}@{} at {} ({})",
            i.name,
            i.version,
            i.path.display(),
            i.platform
        );
    }
    if installed.is_empty() {
        println!("not installed");
    }
}

pub fn verified(rows: &Vec<Verified>) {
    if rows.is_empty() {
        println!("no runtimes installed");
    }
    for v in rows {
        if let Some(e) = &v.error {
            println!("{}@{}: cannot verify: {e}", v.name, v.version);
        } else if v.drift.is_clean() {
            println!("{}@{}: ok", v.name, v.version);
        } else {
            println!(
                "{}@{}: differs from its receipt ({})",
                v.name,
                v.version,
                v.path.display()
            );
            for p in &v.drift.modified {
                println!("  modified  {p}");
            }
            for p in &v.drift.missing {
                println!("  missing   {p}");
            }
            for p in &v.drift.extra {
                println!("  extra     {p}");
            }
        }
    }
}

pub fn plugins(rows: &Vec<Row>) {
    println!(
        "{:<12} {:<9} {:<16} {:<5} {:<10} sha256",
        "name", "version", "families", "api", "source"
    );
    for r in rows {
        println!(
            "{:<12} {:<9} {:<16} {:<5} {:<10} {}{}",
            s(&r.name),
            s(&r.version),
            s(&r.families.join(",")),
            s(&r.api_version),
            r.source,
            &r.sha256[..16.min(r.sha256.len())],
            r.shadows
                .as_ref()
                .map(|b| format!("  (shadows {b})"))
                .unwrap_or_default()
        );
    }
}

pub fn plugin_added(added: &Added, quiet: bool) {
    if quiet {
        return;
    }
    let p = &added.plugin;
    print!(
        "added plugin {} {} (families: {}; api {}; sha256 {})",
        p.name,
        p.version,
        p.families.join(", "),
        p.api_version,
        p.sha256
    );
    match (&added.replaced_version, p.overrides_builtin) {
        (Some(v), _) => println!(", replacing {v}"),
        (None, true) => println!(", overriding the built-in {}", p.name),
        (None, false) => println!(),
    }
}

pub fn detect(r: &Report, quiet: bool) {
    if quiet {
        println!("{}", r.platform);
        return;
    }
    println!("platform  {}", r.platform);
    println!(
        "distro    {} ({} {})",
        r.distro.name, r.distro.id, r.distro.version
    );
    println!("arch      {} ({})", r.arch, r.machine);
    println!("kernel    {}", r.kernel);
    if let Some(l) = &r.libc {
        println!("libc      {} {}", l.family, l.version);
    }
    match &r.gpu {
        Some(g) => {
            println!(
                "nvidia    driver {}, CUDA {}",
                g.driver_version,
                g.cuda_version.as_deref().unwrap_or("unknown")
            );
            for (i, d) in g.devices.iter().enumerate() {
                println!(
                    "gpu {i}     {} ({} MiB, compute {})",
                    d.name,
                    d.memory_mib,
                    d.compute_capability.as_deref().unwrap_or("unknown")
                );
            }
        }
        None => println!("nvidia    none"),
    }
    let s = &r.sandbox;
    for (name, layer) in [
        ("namespaces", &s.namespaces),
        ("seccomp", &s.seccomp),
        ("landlock", &s.landlock),
        ("landlock network", &s.landlock_network),
        ("memory limit", &s.memory_limit),
    ] {
        println!(
            "sandbox   {name}: {} ({})",
            if layer.active { "on" } else { "off" },
            layer.detail
        );
    }
    println!("sandbox   runs as {}", s.runs_as);
    for a in &r.plugins {
        if let Some(e) = &a.error {
            eprintln!("warning: plugin {} refused: {e}", a.plugin);
        }
    }
}

pub fn validated(rows: &Vec<jrt::ops::validate::Problem>, runtimes: usize) {
    for p in rows {
        eprintln!(
            "{}: {}: {}: {} [{}]",
            p.severity,
            p.file.display(),
            p.field,
            p.message,
            p.checker
        );
    }
    if rows.iter().all(|p| p.severity != "error") {
        println!("{runtimes} runtime(s) valid");
    }
}

/// What `jrt cache prune` or `clean` removed, and the total.
pub fn freed(f: &jrt::ops::cache::Freed, quiet: bool) {
    if !quiet {
        for r in &f.removed {
            println!(
                "removed {} ({}): {}",
                r.path.display(),
                size(r.bytes),
                r.reason
            );
        }
    }
    let n = f.removed.len();
    println!(
        "freed {} in {n} {}",
        size(f.bytes),
        if n == 1 { "entry" } else { "entries" }
    );
}

/// `jrt outdated`.
pub fn outdated(rows: &Vec<jrt::ops::upgrade::Outdated>) {
    if rows.is_empty() {
        println!("everything is up to date");
        return;
    }
    for o in rows {
        let latest = match &o.latest {
            Some(l) if *l != o.wanted => format!(" (latest {l}, outside {})", o.requested),
            _ => String::new(),
        };
        println!(
            "{} {} -> {}{latest}   installed as {}@{}",
            o.name, o.installed, o.wanted, o.name, o.requested
        );
    }
}

/// `jrt sync`: what changed, then the counts; failures on stderr.
pub fn synced(s: &jrt::ops::lock::Synced, quiet: bool) {
    for e in &s.failed {
        eprintln!("error: {}", jrt_input::display::safe(&e.to_string()));
    }
    if quiet {
        return;
    }
    for x in &s.installed {
        println!("installed {x}");
    }
    for x in &s.removed {
        println!("removed {x}");
    }
    println!(
        "{} installed, {} already there, {} removed",
        s.installed.len(),
        s.unchanged.len(),
        s.removed.len()
    );
}
