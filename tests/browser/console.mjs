// Drives the staff console in a real (headless) Chromium and prints what it saw as one JSON line.
//   node console.mjs BASE_URL USERNAME PASSWORD ARTIFACTS_DIR [STEPS]
// STEPS is a comma-separated list of: notices (segment count, preview, schedule a notice, see it in the calendar),
// import (a CSV with an error, then a good one), emergency-confirm (the emergency page up to its confirmation with
// the reach), emergency (the same, then a test emergency sent and followed live). Default: notices.
// Every page runs under the Content-Security-Policy the hub sends (no inline script or style), and a CSP
// violation the browser reports is a problem; the policies seen are printed as `csp`.
import { join } from "node:path";
import { launchChromium } from "./launch.mjs";

const [base, username, password, artifacts, stepsArg] = process.argv.slice(2);
if (!base || !username || !password || !artifacts) {
  console.error("usage: node console.mjs BASE_URL USERNAME PASSWORD ARTIFACTS_DIR [notices,emergency]");
  process.exit(2);
}
const steps = new Set((stepsArg || "notices").split(","));
const browser = await launchChromium();
const problems = [];
const result = { steps: [...steps] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ja-JP", timezoneId: "Asia/Tokyo" });
  // Pages run under the Content-Security-Policy the hub itself sends (recorded for every document, so the
  // caller can check it is the hub's); a violation is reported by the browser and counted as a problem.
  result.csp = [];
  const page = await context.newPage();
  await page.exposeFunction("reportCspViolation", (text) => problems.push(`CSP violation: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) =>
      window.reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`));
  });
  page.on("response", async (response) => {
    if (response.request().resourceType() !== "document") return;
    const csp = (await response.allHeaders())["content-security-policy"] || "(none)";
    if (!result.csp.includes(csp)) result.csp.push(csp);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // An API answering 4xx is handled by the page (and shown); a failed page asset is caught below.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (response.status() >= 400 && !path.startsWith("/api/")) problems.push(`${response.status()} for ${path}`);
  });

  // Log in.
  await page.goto(base + "/admin/notices", { waitUntil: "load" });
  result.redirected_to_login = new URL(page.url()).pathname;
  await page.getByLabel("ユーザー名").fill(username);
  await page.getByLabel("パスワード").fill(password);
  await page.getByRole("button", { name: "ログイン" }).click();
  await page.waitForURL(base + "/admin");
  result.lang = await page.evaluate(() => document.documentElement.lang);
  result.menu = await page.locator("nav a").allTextContents();
  result.chart_lines = await page.locator("svg.chart polyline").count();
  await page.screenshot({ path: join(artifacts, "console-dashboard.png"), fullPage: true });

  if (steps.has("notices")) {
    await page.getByRole("link", { name: "お知らせ", exact: true }).click();
    await page.waitForSelector("#segment-count[data-count]");
    result.count_everyone = Number(await page.locator("#segment-count").getAttribute("data-count"));
    // Segment builder: one district, then read the live count.
    await page.locator("#segment-builder").getByLabel("今元").check();
    await page.waitForFunction(() => document.getElementById("n-rule").value.includes("今元"));
    await page.waitForFunction(() => {
      const out = document.getElementById("segment-count");
      return out.dataset.count !== undefined && out.textContent.endsWith("人") &&
        document.getElementById("n-rule").value.includes("今元");
    });
    await page.waitForTimeout(400); // the debounced request for the last change
    await page.waitForSelector("#segment-count[data-count]");
    result.rule = await page.locator("#n-rule").inputValue();
    result.count_district = Number(await page.locator("#segment-count").getAttribute("data-count"));

    const title = "ごみ収集日変更のお知らせ（ブラウザ試験）";
    await page.getByLabel("件名").fill(title);
    await page.getByLabel("本文（日本語）").fill("年末年始はごみの収集日が変わります。ごみカレンダーをご確認ください。");
    // Preview for one resident on LINE.
    await page.getByLabel("住民ID").fill("R-imamoto-1");
    await page.locator("#p-channel").selectOption("line");
    await page.getByRole("button", { name: "プレビュー", exact: true }).click();
    await page.locator("#preview pre").first().waitFor({ timeout: 10000 });
    result.preview = await page.locator("#preview pre").first().textContent();
    // Scheduled for tomorrow 09:00 JST (the form's default), then back on the list.
    result.schedule = {
      date: await page.locator("#n-date").inputValue(),
      time: await page.locator("#n-time").inputValue(),
    };
    await page.getByRole("button", { name: "登録する", exact: true }).click();
    await page.waitForURL(/\/admin\/notices\?created=\d+/);
    const entry = page.locator("#calendar li.notice", { hasText: title });
    await entry.waitFor({ timeout: 10000 });
    result.calendar = {
      day: await page.locator("#calendar li.day", { has: page.locator("li.notice", { hasText: title }) }).locator("h3").textContent(),
      time: await entry.locator("time").textContent(),
      datetime: await entry.locator("time").getAttribute("datetime"),
    };
    await page.screenshot({ path: join(artifacts, "console-notices.png"), fullPage: true });
  }

  if (steps.has("import")) {
    await page.getByRole("link", { name: "住民", exact: true }).click();
    const header = "住民ID,生年月日,地区,言語,関心,メールアドレス\n";
    const upload = async (name, text) => {
      await page.locator("#import-file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(text) });
      await page.getByRole("button", { name: "取り込む", exact: true }).click();
      await page.waitForSelector("#import-result.ok, #import-result.error");
      return {
        text: await page.locator("#import-result").textContent(),
        ok: await page.locator("#import-result.ok").count() === 1,
        progress: Number(await page.locator("#import-progress").getAttribute("value")),
      };
    };
    result.import_bad = await upload("bad.csv",
      header + "R-web-1,1980-01-01,今元,ja,防災,web1@example.org\nR-web-2,1981-02-02,東京,ja,,web2@example.org\n");
    result.import_good = await upload("good.csv",
      header + "R-web-1,1980-01-01,今元,ja,防災,web1@example.org\nR-web-2,1981-02-02,蓑島,en,ごみ|防災,web2@example.org\n");
    await page.screenshot({ path: join(artifacts, "console-residents-import.png"), fullPage: true });
  }

  if (steps.has("emergency") || steps.has("emergency-confirm")) {
    await page.getByRole("link", { name: "緊急配信", exact: true }).click();
    await page.waitForURL(base + "/admin/emergency");
    await page.locator("#emergency-form").getByLabel("今元").check();
    await page.getByRole("button", { name: "避難指示" }).click();
    result.emergency_title = await page.locator("#e-title").inputValue();
    // Sending is always a drill here; a confirmation that is not sent shows the reach of a real alert.
    await page.getByLabel(/訓練/).setChecked(steps.has("emergency"));
    await page.getByRole("button", { name: "確認へ進む" }).click();
    await page.locator("#e-confirm").waitFor({ state: "visible" });
    result.emergency_reach = Number(await page.locator("#e-reach").textContent());
    await page.screenshot({ path: join(artifacts, "console-emergency-confirm.png"), fullPage: true });
  }
  if (steps.has("emergency")) {
    await page.getByRole("button", { name: "この内容で送信する" }).click();
    await page.locator("#e-progress").waitFor({ state: "visible", timeout: 10000 });
    await page.waitForSelector("#e-status[data-done=yes]", { timeout: 30000 });
    result.emergency_status = await page.locator("#e-status").textContent();
    result.emergency_total = await page.locator("#e-total td").allTextContents();
    await page.screenshot({ path: join(artifacts, "console-emergency-progress.png"), fullPage: true });
  }

  // Tablet: the same dashboard without sideways scrolling.
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto(base + "/admin", { waitUntil: "load" });
  result.tablet_overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(artifacts, "console-tablet.png"), fullPage: true });
  console.log(JSON.stringify({ ...result, problems }));
} catch (error) {
  console.log(JSON.stringify({ ...result, problems, failed: String(error && error.stack || error) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
