// The JMA drafts in a real (headless) Chromium: a disaster account logs in, is told on the dashboard that a draft
// made from JMA's information waits, opens the 気象庁 page, checks the draft and presses 送信.
//   node jma.mjs BASE_URL USERNAME PASSWORD ARTIFACTS_DIR
// Prints what it saw as one JSON line; screenshots: jma-drafts.png (before), jma-sent.png (after).
// Pages are served under a strict Content-Security-Policy (default-src 'self').
import { join } from "node:path";
import { launchChromium } from "./launch.mjs";

const [base, username, password, artifacts] = process.argv.slice(2);
if (!base || !username || !password || !artifacts) {
  console.error("usage: node jma.mjs BASE_URL USERNAME PASSWORD ARTIFACTS_DIR");
  process.exit(2);
}
const browser = await launchChromium();
const problems = [];
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ja-JP", timezoneId: "Asia/Tokyo" });
  await context.route("**/*", async (route) => {
    if (route.request().resourceType() !== "document") return route.continue();
    const response = await route.fetch({ maxRedirects: 0 });
    await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": "default-src 'self'" } });
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  await page.goto(base + "/admin/login", { waitUntil: "load" });
  await page.getByLabel("ユーザー名").fill(username);
  await page.getByLabel("パスワード").fill(password);
  await page.getByRole("button", { name: "ログイン" }).click();
  await page.waitForURL(base + "/admin");
  // The alert on every page for disaster and admin staff.
  const alert = page.locator(".jma-alert a");
  await alert.waitFor({ state: "visible", timeout: 10000 });
  result.alert = await alert.textContent();
  await alert.click();
  await page.waitForURL(base + "/admin/jma");
  result.menu = await page.locator("nav a").allTextContents();
  const draft = page.locator("article.draft[data-status=pending]").first();
  result.draft_title = await draft.locator("h3").textContent();
  result.draft_text = await draft.locator("p.pre").textContent();
  result.policy = await page.locator("#jma-policy tbody tr").allTextContents();
  await page.screenshot({ path: join(artifacts, "jma-drafts.png"), fullPage: true });
  await draft.getByRole("button", { name: "送信" }).click();
  await page.waitForURL(base + "/admin/jma");
  await page.locator("article.draft[data-status=sent]").first().waitFor({ timeout: 10000 });
  result.after = await page.locator("article.draft[data-status=sent]").first().textContent();
  result.pending_after = await page.locator("article.draft[data-status=pending]").count();
  await page.screenshot({ path: join(artifacts, "jma-sent.png"), fullPage: true });
  console.log(JSON.stringify({ ...result, problems }));
} catch (error) {
  console.log(JSON.stringify({ ...result, problems, failed: String(error && error.stack || error) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
