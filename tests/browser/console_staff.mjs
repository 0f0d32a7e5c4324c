// Drives the console's disaster, admin and PR flows of issue 15 in a real (headless) Chromium at laptop size
// (1366×768; the disaster pages also at phone size, 390×844) and prints what it saw as one JSON line.
//   node console_staff.mjs BASE_URL USERNAME PASSWORD ARTIFACTS_DIR
// The user must be an admin. Every page is served with a strict Content-Security-Policy (default-src 'self').
// Screenshots: ARTIFACTS_DIR/staff15-*.png.
import { join } from "node:path";
import { launchChromium } from "./launch.mjs";

const [base, username, password, artifacts] = process.argv.slice(2);
if (!base || !username || !password || !artifacts) {
  console.error("usage: node console_staff.mjs BASE_URL USERNAME PASSWORD ARTIFACTS_DIR");
  process.exit(2);
}
const browser = await launchChromium();
const problems = [];
const result = {};
const shot = (page, name) => page.screenshot({ path: join(artifacts, `staff15-${name}.png`), fullPage: true });
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "ja-JP", timezoneId: "Asia/Tokyo" });
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
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (response.status() >= 400 && !path.startsWith("/api/") && !path.startsWith("/admin/no-such")) {
      problems.push(`${response.status()} for ${path}`);
    }
  });
  page.on("dialog", (dialog) => { result.dialog = dialog.message(); dialog.accept(); });

  await page.goto(base + "/admin/login", { waitUntil: "load" });
  await page.getByLabel("ユーザー名").fill(username);
  await page.getByLabel("パスワード").fill(password);
  await page.getByRole("button", { name: "ログイン" }).click();
  await page.waitForURL(base + "/admin");

  // --- Disaster: compose a drill in every language, confirm, send, follow it on its own page.
  await page.goto(base + "/admin/emergency", { waitUntil: "load" });
  await page.locator("#emergency-form").getByLabel("今元").check();
  await page.getByRole("button", { name: "避難指示" }).click();
  await page.locator("details.translations summary").first().click();
  result.template = {
    en: await page.locator('[data-lang-body="en"]').inputValue(),
    severity: await page.locator("#e-severity").inputValue(),
  };
  await shot(page, "emergency-compose");
  await page.getByRole("button", { name: "確認へ進む" }).click();
  await page.locator("#e-confirm").waitFor({ state: "visible" });
  result.confirm = {
    reach: await page.locator("#e-reach").textContent(),
    summary: await page.locator("#e-summary").textContent(),
    languages: await page.locator("#e-languages").textContent(),
  };
  await shot(page, "emergency-confirm");
  await page.getByRole("button", { name: "この内容で送信する" }).click();
  await page.waitForURL(/\/admin\/emergency\/\d+$/);
  const alertUrl = page.url();
  await page.waitForSelector("#e-status[data-done=yes]", { timeout: 30000 });
  result.progress = {
    status: await page.locator("#e-status").textContent(),
    outcome: await page.locator("#e-status").getAttribute("data-outcome"),
    total: await page.locator("#e-total td").allTextContents(),
  };
  await shot(page, "emergency-progress");
  // Reopened after a reload: the same page, the same honest status.
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#e-status[data-done=yes]", { timeout: 30000 });
  result.reloaded_status = await page.locator("#e-status").textContent();
  // Phone size.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#e-status[data-done=yes]", { timeout: 30000 });
  result.phone_overflow = await overflow(page);
  await shot(page, "emergency-progress-phone");
  await page.goto(base + "/admin/emergency", { waitUntil: "load" });
  result.phone_compose_overflow = await overflow(page);
  await shot(page, "emergency-compose-phone");
  // From 最近の緊急配信 back to the page.
  await page.locator("#recent-emergencies a").first().click();
  await page.waitForURL(alertUrl);
  await page.setViewportSize({ width: 1366, height: 768 });
  // An update (the button asks once more), then 解除.
  await page.locator("#u-body").fill("引き続き避難してください。避難所は今元小学校です。");
  await page.locator("#u-send").click();
  result.update_armed = await page.locator("#u-send").textContent();
  await page.locator("#u-send").click();
  await page.waitForURL((url) => url.href !== alertUrl && /\/admin\/emergency\/\d+$/.test(url.href));
  result.update_title = await page.locator("#e-progress h2").textContent();
  const updateUrl = page.url();
  await page.locator("#c-send").click();
  await page.locator("#c-send").click();
  await page.waitForURL((url) => url.href !== updateUrl && url.href !== alertUrl && /\/admin\/emergency\/\d+$/.test(url.href));
  result.cancel_title = await page.locator("#e-progress h2").textContent();
  result.cancel_tags = await page.locator("#e-progress .tag").allTextContents();
  await shot(page, "emergency-cancelled");

  // --- Admin: a staff account made, disabled (after a confirmation), the audit log filtered.
  await page.goto(base + "/admin/staff", { waitUntil: "load" });
  await page.locator("#new-username").fill("kouhou-web");
  await page.locator("#new-role").selectOption("pr");
  await page.locator("#new-password").fill("kouhou-web-password-1");
  await page.getByRole("button", { name: "作成する" }).click();
  await page.waitForURL(/done=created/);
  result.staff_created = await page.locator("p.ok").textContent();
  await page.locator('tr[data-staff="kouhou-web"]').getByRole("button", { name: "無効にする" }).click();
  await page.waitForURL(/done=disabled/);
  result.staff_disabled = await page.locator("p.ok").textContent();
  await shot(page, "staff");
  await page.goto(base + "/admin/audit", { waitUntil: "load" });
  await page.locator("#a-action").selectOption("staff.disable");
  await page.getByRole("button", { name: "絞り込む" }).click();
  await page.waitForURL(/action=staff.disable/);
  result.audit_rows = await page.locator("#audit tbody tr").count();
  result.audit_action = await page.locator("#audit tbody tr td:nth-child(4)").first().textContent();
  await shot(page, "audit");

  // --- PR: the segment builder keeps a hand-written rule, the count is of reachable residents, preview without
  // an id, 「すぐに送る」 asks first.
  await page.goto(base + "/admin/notices", { waitUntil: "load" });
  await page.waitForSelector("#segment-count[data-count]");
  await page.locator("#rule-details summary").click();
  await page.locator("#n-rule").fill('district = "仲津"');
  await page.waitForTimeout(400);
  await page.locator("#segment-builder").getByLabel("今元").check();
  await page.locator("#rule-conflict").waitFor({ state: "visible" });
  result.rule_kept = await page.locator("#n-rule").inputValue();
  await page.getByRole("button", { name: "チェックボックスの条件で置き換える" }).click();
  await page.waitForFunction(() => document.getElementById("segment-text").textContent.includes("今元"));
  await page.waitForTimeout(500);
  result.segment_text = await page.locator("#segment-text").textContent();
  result.segment_count = await page.locator("#segment-count").textContent();
  result.segment_languages = await page.locator("#segment-languages").textContent();
  await page.getByLabel("件名").fill("防災訓練のお知らせ");
  await page.getByLabel("本文（日本語）").fill("12月20日に今元地区で防災訓練を行います。");
  result.counter = await page.locator('[data-counter-for="n-body-ja"]').textContent();
  await page.getByRole("button", { name: "プレビュー", exact: true }).click();
  await page.locator("#preview pre").first().waitFor({ timeout: 10000 });
  result.preview_head = await page.locator("#preview p").first().textContent();
  await page.getByLabel("すぐに送る").check();
  await page.locator("#schedule-button").click();
  result.send_now_armed = await page.locator("#schedule-button").textContent();
  result.send_now_note = await page.locator("#compose-result").textContent();
  await shot(page, "notices");
  // Scheduled instead, then edited from the calendar.
  await page.getByLabel("日時を指定").check();
  await page.locator("#schedule-button").click();
  await page.waitForURL(/\/admin\/notices\?created=\d+/);
  await page.locator("#calendar li.notice", { hasText: "防災訓練のお知らせ" }).getByRole("link", { name: "編集" }).click();
  await page.waitForURL(/\/admin\/notices\/\d+\/edit$/);
  // The builder reads the stored rule back after the page loads: wait for it (a wrong rule still fails below).
  await page.locator("#segment-text", { hasText: "今元地区" }).waitFor({ timeout: 10000 }).catch(() => {});
  result.edit_rule_text = await page.locator("#segment-text").textContent();
  result.edit_ticked = await page.locator("#segment-builder").getByLabel("今元").isChecked();
  await page.getByLabel("件名").fill("防災訓練のお知らせ（会場変更）");
  await page.getByRole("button", { name: "変更を保存する" }).click();
  await page.waitForURL(/\/admin\/notices\/\d+$/);
  result.edited_title = await page.locator("dl.fields dd").first().textContent();
  await shot(page, "notice-edited");

  // --- PR: a survey made on the form, previewed, created and closed.
  await page.goto(base + "/admin/surveys", { waitUntil: "load" });
  await page.getByRole("link", { name: "新しいアンケートを作る" }).click();
  await page.waitForURL(base + "/admin/surveys/new");
  await page.locator("#s-title").fill("避難所の使いやすさアンケート");
  await page.locator("#s-intro").fill("避難所についてのご意見をお聞かせください。");
  const first = page.locator("#questions > li").nth(0);
  await first.locator(".q-text").fill("避難所の場所を知っていますか");
  await first.locator(".q-options").fill("知っている\n知らない");
  // The invitation and the first question in English too (the other languages left empty read Japanese).
  await page.locator("#survey-form > details.translations > summary").click();
  await page.locator("#s-intro-en").fill("Please tell us about the evacuation shelters.");
  await first.locator("details.translations > summary").click();
  await first.locator('.q-text-lang[data-lang="en"]').fill("Do you know where your shelter is?");
  await first.locator('.q-options-lang[data-lang="en"]').fill("Yes\nNo");
  await page.getByRole("button", { name: "質問を追加" }).click();
  const second = page.locator("#questions > li").nth(1);
  await second.locator(".q-kind").selectOption("scale");
  await second.locator(".q-text").fill("満足度を教えてください");
  await page.getByRole("button", { name: "住民に見える形で確認" }).click();
  result.survey_preview = await page.locator("#s-preview").textContent();
  await shot(page, "survey-form");
  await page.getByRole("button", { name: "アンケートを登録する" }).click();
  await page.waitForURL(/\/admin\/surveys\/\d+$/);
  await page.locator("button[data-close-survey]").click();
  await page.locator("button[data-close-survey]").click();
  await page.waitForFunction(() => !document.querySelector("button[data-close-survey]"));
  result.survey_state = await page.locator("main section.card p").first().textContent();
  await shot(page, "survey-closed");

  // --- A page that does not exist.
  await page.goto(base + "/admin/no-such-page", { waitUntil: "load" });
  result.not_found = await page.locator("h1").textContent();
  await shot(page, "not-found");
  console.log(JSON.stringify({ ...result, problems }));
} catch (error) {
  console.log(JSON.stringify({ ...result, problems, failed: String(error && error.stack || error) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
