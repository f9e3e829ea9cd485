//! Compiles the MeCab IPADIC source archive in `dictionaries/ipadic/` into lindera's
//! binary format inside OUT_DIR, so the crate can embed it. Nothing is downloaded:
//! the archive is part of the repository.

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

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let dict_dir = out_dir.join("ipadic");
    println!("cargo:rustc-env=LINDERA_WORKDIR={}", out_dir.display());

    let metadata_json = fs::read_to_string(METADATA)?;
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
    Ok(())
}

fn serde_json_from_str(s: &str) -> Result<Metadata, Box<dyn Error>> {
    Ok(serde_json::from_str(s)?)
}
