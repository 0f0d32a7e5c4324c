//! Real-browser runs: Chromium driven by playwright-core scripts in `tests/browser/`.

use std::path::{Path, PathBuf};

/// The folder of the browser scripts and the Chromium binary, failing with how to get what is missing.
pub fn require() -> (PathBuf, String) {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js 20 or newer (scripts/test.sh expects it on PATH)"
    );
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: run scripts/test.sh (it runs `apt-get install -y chromium`) or set CHROMIUM"
    );
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci` in {} (scripts/test.sh does)",
        browser_dir.display()
    );
    (browser_dir, chromium)
}

/// Where tests leave files to look at (screenshots): `HUB_TEST_ARTIFACTS`, else `target/test-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("HUB_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts"));
    std::fs::create_dir_all(&dir).expect("create the test artifacts folder");
    dir
}
