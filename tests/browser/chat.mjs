// Asks the web chat a question in a real (headless) Chromium and prints what the page showed as one JSON line.
//   node chat.mjs URL QUESTION SCREENSHOT.png
// Chromium: $CHROMIUM or /usr/bin/chromium (Debian's package), driven by playwright-core (no browser download).
import { launchChromium } from "./launch.mjs";

const [url, question, screenshot] = process.argv.slice(2);
if (!url || !question || !screenshot) {
  console.error("usage: node chat.mjs URL QUESTION SCREENSHOT.png");
  process.exit(2);
}
const browser = await launchChromium();
const problems = [];
try {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "ja-JP",
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));

  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-connected=true]", { timeout: 10000 });

  // Found through its label, as a screen reader user would.
  const input = page.getByLabel("ご質問");
  await input.fill(question);
  await page.getByRole("button", { name: "送信" }).click();

  const answer = page.locator(".msg.bot[data-kind]").first();
  await answer.waitFor({ timeout: 10000 });
  const shown = await answer.evaluate((div) => ({
    kind: div.dataset.kind,
    entry_id: div.dataset.entry || null,
    answer: div.firstChild ? div.firstChild.textContent : "",
    candidates: Array.from(div.querySelectorAll(".choices button[data-entry]")).map((b) => b.dataset.entry),
  }));

  // Feedback buttons work and are thanked.
  let feedback = null;
  if (shown.kind === "answer") {
    await answer.getByRole("button", { name: "役に立った" }).click();
    const thanks = page.locator(".msg.bot", { hasText: "ありがとうございます" }).last();
    await thanks.waitFor({ timeout: 10000 });
    feedback = await thanks.textContent();
  }

  // An emergency pushed to every open page shows as a banner (the test pushes one once this page is connected).
  const banner = page.locator(".banner.emergency").first();
  await banner.waitFor({ timeout: 20000 });
  const bannerText = await banner.textContent();
  const bannerRole = await banner.getAttribute("role");
  // An emergency with the safety buttons: 「無事です」 is sent and acknowledged on the banner.
  let safety = null;
  const safe = banner.getByRole("button", { name: "無事です" });
  if (await safe.count()) {
    await safe.click();
    const result = banner.locator(".safety-result");
    await result.waitFor({ timeout: 10000 });
    safety = await result.textContent();
  }

  const accessibility = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    live: document.getElementById("log").getAttribute("aria-live"),
    labelled: !!document.querySelector("label[for=q]"),
    width: document.documentElement.scrollWidth,
  }));

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...shown, feedback, banner: { text: bannerText, role: bannerRole, safety }, accessibility, problems }));
} finally {
  await browser.close();
}
