// The one way the browser tests start Chromium: Debian's binary (or $CHROMIUM), headless, no sandbox, no
// background traffic. Exits with status 3 naming the install step when the binary is missing.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export async function launchChromium() {
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    console.error(`Chromium not found at ${executablePath}: apt-get install chromium (or set CHROMIUM)`);
    process.exit(3);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run"],
  });
}
