//! Safe extraction: the good package, and every kind of malicious or broken one.

#[path = "common/tarball.rs"]
mod tarball;

use std::os::unix::fs::PermissionsExt;

use jrt_extract::{ExtractError, Kind, Limits, extract};
use tar::EntryType;
use tarball::*;

fn run(
    bytes: &[u8],
    limits: &Limits,
) -> (
    tempfile::TempDir,
    Result<jrt_extract::Extracted, ExtractError>,
) {
    let dest = tempfile::tempdir().unwrap();
    let r = extract(bytes, dest.path(), limits);
    (dest, r)
}

/// Extracts `entries` into `<outer>/dest`, expecting a refusal: returns its message after
/// checking that nothing was created beside `dest`, where an escape would land first.
fn refused(entries: &[Raw]) -> String {
    let outer = tempfile::tempdir().unwrap();
    let dest = outer.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let r = extract(&tgz(entries)[..], &dest, &Limits::default());
    let beside: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        ["dest"],
        "something was created outside the destination"
    );
    match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("extraction succeeded but should have been refused"),
    }
}

#[test]
fn a_good_package_extracts_with_normalised_modes_and_hashes() {
    let bytes = tgz(&[
        dir("pkg/"),
        file("pkg/manifest.yaml", b"name: x\n"),
        Raw {
            mode: 0o4755,
            ..file("pkg/bin/tool", b"#!/bin/sh\n")
        },
        Raw {
            mode: 0o666,
            ..file("pkg/share/data", b"data")
        },
        symlink("pkg/bin/tool2", "tool"),
        symlink("pkg/share/up", "../bin/tool"),
        dir("pkg/empty/"),
    ]);
    let (dest, r) = run(&bytes, &Limits::default());
    let out = r.unwrap();
    assert_eq!(out.top, "pkg");
    assert_eq!(
        std::fs::read(dest.path().join("manifest.yaml")).unwrap(),
        b"name: x\n"
    );
    let mode = |p: &str| {
        std::fs::metadata(dest.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("bin/tool"), 0o755, "setuid dropped");
    assert_eq!(mode("share/data"), 0o644, "group/other write dropped");
    assert_eq!(
        std::fs::read_link(dest.path().join("share/up"))
            .unwrap()
            .to_str(),
        Some("../bin/tool")
    );
    assert!(dest.path().join("empty").is_dir());
    let rec = out.records.iter().find(|r| r.path == "share/data").unwrap();
    assert_eq!(
        rec.kind,
        Kind::File {
            // BLAKE3 of "data" (Python's blake3 package agrees).
            blake3: Some("28a249c2e4d3a92bc0a16ed8f1b5cf83ca20415ee12e502b096624902bbc97bd".into()),
            sha256: None,
            size: 4,
            mode: 0o644
        }
    );
}

#[test]
fn path_attacks_are_refused() {
    let cases: Vec<(Vec<Raw>, &str)> = vec![
        (
            vec![dir("pkg/"), file("pkg/../evil", b"x")],
            "'..' is not allowed",
        ),
        (
            vec![file("/etc/evil", b"x")],
            "absolute paths are not allowed",
        ),
        (
            vec![dir("pkg/"), file("pkg/a/../../evil", b"x")],
            "'..' is not allowed",
        ),
        (
            vec![dir("pkg/"), file("other/x", b"x")],
            "one top-level directory",
        ),
        (
            vec![dir("pkg/"), file("pkg/a", b"1"), file("pkg/a", b"2")],
            "appears twice",
        ),
        (
            vec![dir("pkg/"), file("pkg/a\nb", b"x")],
            "control characters",
        ),
        (
            vec![dir("pkg/"), file("pkg/\x1b[31mred", b"x")],
            "control characters",
        ),
        (
            vec![
                dir("pkg/"),
                Raw {
                    name: b"pkg/\xff\xfe".to_vec(),
                    ..file("x", b"x")
                },
            ],
            "not valid UTF-8",
        ),
    ];
    for (entries, want) in cases {
        let e = refused(&entries);
        assert!(e.contains(want), "{e} (wanted {want})");
    }
    assert!(!std::path::Path::new("/etc/evil").exists());
}

#[test]
fn symlink_attacks_are_refused() {
    let e = refused(&[dir("pkg/"), symlink("pkg/etc", "/etc")]);
    assert!(e.contains("absolute path '/etc'"), "{e}");
    let e = refused(&[dir("pkg/"), symlink("pkg/a/b", "../../../etc/passwd")]);
    assert!(e.contains("points outside the runtime"), "{e}");
    // Inside the tree is fine, but writing through it is not, even when it points inside.
    let e = refused(&[
        dir("pkg/"),
        dir("pkg/real/"),
        symlink("pkg/lib", "real"),
        file("pkg/lib/x", b"x"),
    ]);
    assert!(e.contains("written through the symlink 'lib'"), "{e}");
    let e = refused(&[
        dir("pkg/"),
        symlink("pkg/lib", "."),
        symlink("pkg/lib/x", "y"),
    ]);
    assert!(e.contains("written through the symlink"), "{e}");
    // A symlink then a file at the same path.
    let e = refused(&[dir("pkg/"), symlink("pkg/a", "b"), file("pkg/a", b"x")]);
    assert!(e.contains("appears twice"), "{e}");
    // Each target stays inside when read alone, but followed through the other link the
    // second one reaches /etc/passwd (in either order of the two entries).
    let up = || symlink("pkg/a/b/c/d/e/f/g/y", "../../../../../../..");
    let out = || {
        symlink(
            "pkg/x",
            "a/b/c/d/e/f/g/y/../../../../../../../../etc/passwd",
        )
    };
    for entries in [
        vec![dir("pkg/"), up(), out()],
        vec![dir("pkg/"), out(), up()],
    ] {
        let e = refused(&entries);
        assert!(e.contains("resolves outside the runtime"), "{e}");
    }
    // A loop is refused, not followed forever.
    let e = refused(&[dir("pkg/"), symlink("pkg/p", "q"), symlink("pkg/q", "p/x")]);
    assert!(e.contains("loop"), "{e}");
    // jrt's own directory cannot come from a package.
    let e = refused(&[dir("pkg/"), symlink("pkg/.jrt", "isolated")]);
    assert!(e.contains("'.jrt'"), "{e}");
}

#[test]
fn special_files_are_refused() {
    for (kind, want) in [
        (EntryType::Link, "hard links"),
        (EntryType::Char, "device files"),
        (EntryType::Block, "device files"),
        (EntryType::Fifo, "FIFOs"),
    ] {
        let e = refused(&[dir("pkg/"), file("pkg/a", b"x"), special("pkg/b", kind)]);
        assert!(e.contains(want), "{kind:?}: {e}");
    }
}

#[test]
fn limits_hold_against_bombs() {
    // 64 MiB of zeros compresses to ~64 KiB: a decompression bomb against a 16 MiB cap.
    let bomb = tgz(&[dir("pkg/"), file("pkg/zeros", &vec![0u8; 64 << 20])]);
    assert!(bomb.len() < 1 << 20);
    let small = Limits {
        max_total_bytes: 16 << 20,
        ..Limits::default()
    };
    let (_d, r) = run(&bomb, &small);
    assert!(matches!(r, Err(ExtractError::Limit(_))), "{r:?}");

    let many: Vec<Raw> = (0..50).map(|i| file(&format!("pkg/f{i}"), b"")).collect();
    let (_d, r) = run(
        &tgz(&many),
        &Limits {
            max_entries: 20,
            ..Limits::default()
        },
    );
    assert!(matches!(r, Err(ExtractError::Limit(m)) if m.contains("20 entries")));

    let (_d, r) = run(
        &tgz(&[file("pkg/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b"")]),
        &Limits {
            max_path_len: 20,
            ..Limits::default()
        },
    );
    assert!(
        matches!(&r, Err(ExtractError::Unsafe { reason, .. }) if reason.contains("longer than 20")),
        "{r:?}"
    );

    // Zeros hidden after the archive's end.
    let mut tail = tar_bytes(&[dir("pkg/"), file("pkg/a", b"x")]);
    tail.extend(vec![0u8; 8 << 20]);
    let (_d, r) = run(&gzip(&tail), &Limits::default());
    assert!(
        matches!(&r, Err(ExtractError::Format(m)) if m.contains("follows the end")),
        "{r:?}"
    );
}

#[test]
fn broken_gzip_is_caught() {
    let good = tgz(&[dir("pkg/"), file("pkg/a", &vec![7u8; 100_000])]);
    // Truncated anywhere: in the middle, or just the trailer missing.
    for cut in [good.len() / 2, good.len() - 4, good.len() - 1] {
        let (_d, r) = run(&good[..cut], &Limits::default());
        assert!(
            matches!(r, Err(ExtractError::Format(_))),
            "cut at {cut}: {r:?}"
        );
    }
    // A wrong CRC in the trailer.
    let mut bad_crc = good.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0xff;
    let (_d, r) = run(&bad_crc, &Limits::default());
    assert!(matches!(r, Err(ExtractError::Format(_))), "{r:?}");
    // Not gzip at all.
    let (_d, r) = run(b"PK\x03\x04 this is a zip", &Limits::default());
    assert!(matches!(r, Err(ExtractError::Format(_))), "{r:?}");
    let (_d, r) = run(&gzip(&[]), &Limits::default());
    assert!(r.is_err());
}

/// Packs `tar` the way `jrt build` does: indexed gzip members, inflated in parallel.
fn indexed_tgz(tar: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = jrt_extract::gzip::Writer::new(Vec::new(), flate2::Compression::fast());
    w.write_all(tar).unwrap();
    w.finish().unwrap()
}

#[test]
fn indexed_packages_extract_like_plain_ones_and_their_damage_is_caught() {
    // Several members' worth: incompressible large files (they cross member boundaries
    // mid-file) and many small ones.
    let mut entries = vec![dir("pkg/"), dir("pkg/lib/")];
    for i in 0..3 {
        entries.push(file(
            &format!("pkg/lib/big{i}"),
            &noise(i as u64 + 1, 3 << 20),
        ));
    }
    for i in 0..400 {
        entries.push(file(
            &format!("pkg/lib/small{i}.py"),
            &noise(i as u64 + 100, i * 37),
        ));
    }
    let tar = tar_bytes(&entries);
    let indexed = indexed_tgz(&tar);
    assert!(indexed.len() > 8 << 20, "several members");

    let (plain_dest, plain) = run(&gzip(&tar), &Limits::default());
    let (dest, parallel) = run(&indexed, &Limits::default());
    let (plain, parallel) = (plain.unwrap(), parallel.unwrap());
    assert_eq!(plain.records, parallel.records);
    assert_eq!(
        std::fs::read(dest.path().join("lib/big1")).unwrap(),
        std::fs::read(plain_dest.path().join("lib/big1")).unwrap()
    );

    // Cut inside a member, at a member boundary (the tar end is missing), and one byte short.
    let first = u64::from_le_bytes(indexed[16..24].try_into().unwrap()) as usize;
    for cut in [first / 2, first, first + 1000, indexed.len() - 1] {
        let (_d, r) = run(&indexed[..cut], &Limits::default());
        assert!(
            matches!(r, Err(ExtractError::Format(_))),
            "cut at {cut}: {r:?}"
        );
    }
    // A flipped byte in the second member, and an index that lies about a length.
    let mut flipped = indexed.clone();
    flipped[first + 4096] ^= 0x20;
    let (_d, r) = run(&flipped, &Limits::default());
    assert!(matches!(r, Err(ExtractError::Format(_))), "{r:?}");
    let mut lying = indexed.clone();
    lying[16..24].copy_from_slice(&(first as u64 - 3).to_le_bytes());
    let (_d, r) = run(&lying, &Limits::default());
    assert!(matches!(r, Err(ExtractError::Format(_))), "{r:?}");

    // The bomb again, indexed: the unpacked-size cap still holds.
    let bomb = indexed_tgz(&tar_bytes(&[
        dir("pkg/"),
        file("pkg/zeros", &vec![0u8; 64 << 20]),
    ]));
    let (_d, r) = run(
        &bomb,
        &Limits {
            max_total_bytes: 16 << 20,
            ..Limits::default()
        },
    );
    assert!(matches!(r, Err(ExtractError::Limit(_))), "{r:?}");
}
