//! The policy crate stays pure: serde is its only dependency, and its
//! sources use no I/O, threads, clocks or async runtime (STYLE.md habit 2).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_only_dependency_is_serde() {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let mut section = "";
    let mut dependencies = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if !line.is_empty() && !line.starts_with('#') && section.contains("dependencies") {
            let name = line.split(['=', '.']).next().unwrap().trim();
            dependencies.push((section.to_string(), name.to_string()));
        }
    }
    let runtime: Vec<_> = dependencies
        .iter()
        .filter(|(section, _)| section == "[dependencies]" || section.starts_with("[target"))
        .map(|(_, name)| name.as_str())
        .collect();
    assert_eq!(
        runtime,
        ["serde"],
        "coexist-policy must depend on serde only"
    );
    assert!(
        !dependencies
            .iter()
            .any(|(s, _)| s.contains("build-dependencies")),
        "no build script dependencies"
    );
}

#[test]
fn the_sources_do_no_io_and_read_no_clock() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::thread",
        "std::process",
        "std::env",
        "std::io",
        "Instant",
        "SystemTime",
        "tokio",
        "async ",
        ".await",
        "println!",
        "eprintln!",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(manifest_dir().join("src")).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let code: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for word in forbidden {
            assert!(!code.contains(word), "{} uses {word}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 10, "read the sources ({checked} files)");
}
