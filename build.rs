//! Compiles the MeCab IPADIC source archive in `dictionaries/ipadic/` into lindera's
//! binary format inside OUT_DIR, so the crate can embed it. Nothing is downloaded:
//! the archive is part of the repository.
//!
//! Also makes `ENISHI_BUILD_ID`, a hash of everything the binary is made from, so a
//! build can tell that the program itself changed since the last one (the crate's
//! version does not change with the code).

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use lindera_dictionary::builder::DictionaryBuilder;
use lindera_dictionary::dictionary::metadata::Metadata;

const ARCHIVE: &str = "dictionaries/ipadic/mecab-ipadic-2.7.0-20070801.tar.gz";
const METADATA: &str = "dictionaries/ipadic/metadata.json";
const SOURCE_DIR: &str = "mecab-ipadic-2.7.0-20070801";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ARCHIVE}");
    println!("cargo:rerun-if-changed={METADATA}");
    for input in BUILD_INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rustc-env=ENISHI_BUILD_ID={:016x}", build_id()?);

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let dict_dir = out_dir.join("ipadic");
    println!("cargo:rustc-env=LINDERA_WORKDIR={}", out_dir.display());

    let metadata_json = fs::read_to_string(METADATA)?;
    // The dictionary takes seconds to build; code edits rerun this script, so it is
    // rebuilt only when its own sources changed.
    let stamp_file = out_dir.join("ipadic.stamp");
    let stamp = format!(
        "{:016x}",
        fnv(&[&fs::read(ARCHIVE)?, metadata_json.as_bytes()])
    );
    if dict_dir.exists() && fs::read_to_string(&stamp_file).ok().as_deref() == Some(&stamp) {
        return Ok(());
    }
    let extract_dir = out_dir.join("ipadic-src");
    if extract_dir.exists() {
        fs::remove_dir_all(&extract_dir)?;
    }
    fs::create_dir_all(&extract_dir)?;
    let archive = fs::File::open(ARCHIVE)
        .map_err(|e| format!("{ARCHIVE}: {e} (the IPADIC source archive must be committed)"))?;
    tar::Archive::new(flate2::read::GzDecoder::new(archive)).unpack(&extract_dir)?;

    let metadata: Metadata = serde_json_from_str(&metadata_json)?;
    let builder = DictionaryBuilder::new(metadata);
    if dict_dir.exists() {
        fs::remove_dir_all(&dict_dir)?;
    }
    builder.build_dictionary(&extract_dir.join(SOURCE_DIR), &dict_dir)?;
    fs::remove_dir_all(&extract_dir)?;
    fs::write(&stamp_file, stamp)?;
    Ok(())
}

/// What the binary is made from besides dependencies (whose versions Cargo.lock pins).
const BUILD_INPUTS: &[&str] = &["src", "themes", "dictionaries", "Cargo.lock", "Cargo.toml"];

/// FNV-1a over the paths and bytes of every file of `BUILD_INPUTS`, in path order.
fn build_id() -> Result<u64, Box<dyn Error>> {
    let mut files = Vec::new();
    for input in BUILD_INPUTS {
        collect(&PathBuf::from(input), &mut files)?;
    }
    files.sort();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for f in &files {
        parts.push(f.to_string_lossy().into_owned().into_bytes());
        parts.push(fs::read(f)?);
    }
    parts.push(std::env::var("PROFILE").unwrap_or_default().into_bytes());
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(fnv(&refs))
}

fn collect(path: &std::path::Path, out: &mut Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    if path.is_dir() {
        for entry in fs::read_dir(path)? {
            collect(&entry?.path(), out)?;
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn serde_json_from_str(s: &str) -> Result<Metadata, Box<dyn Error>> {
    Ok(serde_json::from_str(s)?)
}
