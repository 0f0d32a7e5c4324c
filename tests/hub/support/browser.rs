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

/// Runs `tests/browser/{script}` with `args` in Chromium and returns the one JSON line it printed, failing with
/// its output when it does not succeed.
pub async fn run_script(script: &str, args: Vec<std::ffi::OsString>) -> serde_json::Value {
    let (browser_dir, chromium) = require();
    let script = browser_dir.join(script);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .args(&args)
            .env("CHROMIUM", &chromium)
            .output()
    })
    .await
    .expect("the browser run finished")
    .expect("node starts (Node.js 20 or newer on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
