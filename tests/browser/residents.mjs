// A resident's way through the hub's own pages in a real (headless) Chromium, on a phone and on a laptop:
// /register (a mistake, its error, the fix, the confirmation page), the English sign-up page, and the web chat
// (a direct answer, 「役に立たなかった」 and what to do next, the English page). Prints one JSON line of what
// each page showed; screenshots go to ARTIFACTS (residents-*.png).
//   node residents.mjs BASE_URL ARTIFACTS_DIR
import { join } from "node:path";
import { launchChromium } from "./launch.mjs";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node residents.mjs BASE_URL ARTIFACTS_DIR");
  process.exit(2);
}
const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  laptop: { viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 },
};

const browser = await launchChromium();
const report = {};
const problems = [];

async function newPage(size, locale) {
  const context = await browser.newContext({ ...SIZES[size], locale });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`${size}: page error: ${error.message}`));
  page.on("console", (message) => {
    // A refused form answers 400 and the browser logs it as a failed load: expected here, checked by the test.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`${size}: console error: ${message.text()}`);
    }
  });
  return page;
}

// Whether `locator` lies wholly inside the visible part of the chat log (above the input form).
async function fullyVisible(page, locator) {
  return page.evaluate((el) => {
    const log = document.getElementById("log").getBoundingClientRect();
    const form = document.getElementById("ask").getBoundingClientRect();
    const box = el.getBoundingClientRect();
    return box.top >= log.top - 1 && box.bottom <= Math.min(log.bottom, form.top) + 1 && box.height > 0;
  }, await locator.elementHandle());
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `residents-${name}.png`), fullPage: false });
}

async function register(size) {
  const page = await newPage(size, "ja-JP");
  await page.goto(`${base}/register`, { waitUntil: "load" });
  // A typo in the birth year (the future) and no e-mail address: the form comes back with both explained.
  await page.locator("select[name=district]").selectOption("今元");
  await page.locator("input[name=birth_year]").fill("2030");
  await page.locator("input[name=consent]").check();
  await Promise.all([page.waitForNavigation(), page.locator("form button[type=submit]").click()]);
  const errors = await page.locator(".errors li").allTextContents();
  const errorsVisible = await page.locator(".errors").isVisible();
  await shot(page, `register-errors-${size}`);
  // Fixed: an address, no birth year.
  await page.locator("input[name=email]").fill(`hanako-${size}@example.jp`);
  await page.locator("input[name=birth_year]").fill("");
  await page.locator("input[name=consent]").check();
  await Promise.all([page.waitForNavigation(), page.locator("form button[type=submit]").click()]);
  const confirmation = {
    text: await page.locator("main").innerText(),
    links: await page.locator("main a").evaluateAll((as) => as.map((a) => a.getAttribute("href"))),
    width: await page.evaluate(() => document.documentElement.scrollWidth),
  };
  await shot(page, `register-confirmation-${size}`);
  // 「メールアドレスを直す」 goes back with the address filled in.
  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "メールアドレスを直す" }).click()]);
  const refilled = await page.locator("input[name=email]").inputValue();
  // The English page.
  await page.goto(`${base}/register?lang=en`, { waitUntil: "load" });
  const english = {
    title: await page.locator("h1").innerText(),
    districts: await page.locator("select[name=district] option").allTextContents(),
    interests: await page.locator("input[name=interests]").evaluateAll((inputs) =>
      inputs.map((i) => ({ value: i.value, label: i.parentElement.textContent.trim() }))),
    ages: await page.locator("select[name=age_band] option").allTextContents(),
  };
  await shot(page, `register-en-${size}`);
  await page.context().close();
  return { errors, errorsVisible, confirmation, refilled, english };
}

async function chat(size, question) {
  const page = await newPage(size, "ja-JP");
  await page.goto(`${base}/chat`, { waitUntil: "load" });
  await page.waitForSelector("body[data-connected=true]", { timeout: 10000 });
  await page.getByLabel("ご質問").fill(question);
  await page.getByRole("button", { name: "送信" }).click();
  let answer = page.locator(".msg.bot[data-kind]").last();
  await answer.waitFor({ timeout: 10000 });
  await page.waitForTimeout(300);
  const kind = await answer.getAttribute("data-kind");
  if (kind === "candidates") {
    // A list: choosing the first entry answers it.
    await answer.locator(".choices button[data-entry]").first().click();
    answer = page.locator(".msg.bot[data-kind=answer]").last();
    await answer.waitFor({ timeout: 10000 });
    await page.waitForTimeout(300);
  }
  const buttons = answer.locator("button").last();
  const answerVisible = await fullyVisible(page, buttons);
  const link = await answer.locator("a.meta").count();
  await shot(page, `chat-answer-${size}`);
  // Not helpful: thanks, and what to do next (ask again, call, write).
  let next = null;
  const notHelpful = answer.getByRole("button", { name: "役に立たなかった" });
  if (await notHelpful.count()) {
    await notHelpful.click();
    const steps = page.locator(".msg.bot .next-steps").last();
    await steps.waitFor({ timeout: 10000 });
    await page.waitForTimeout(300);
    next = {
      text: await steps.innerText(),
      tel: await steps.locator("a[href^='tel:']").getAttribute("href"),
      visible: await fullyVisible(page, steps.locator("a").last()),
    };
    await shot(page, `chat-next-step-${size}`);
  }
  // The English page.
  await page.goto(`${base}/chat?lang=en`, { waitUntil: "load" });
  await page.waitForSelector("body[data-connected=true]", { timeout: 10000 });
  const english = {
    header: await page.locator("header").innerText(),
    placeholder: await page.getByLabel("Your question").getAttribute("placeholder"),
    send: await page.locator("#send").innerText(),
  };
  await page.getByLabel("Your question").fill("I want a copy of my residence certificate");
  await page.getByRole("button", { name: "Send" }).click();
  const englishAnswer = page.locator(".msg.bot[data-kind]").last();
  await englishAnswer.waitFor({ timeout: 10000 });
  await page.waitForTimeout(300);
  english.kind = await englishAnswer.getAttribute("data-kind");
  english.buttons = await englishAnswer.locator("button").allTextContents();
  english.visible = await fullyVisible(page, englishAnswer.locator("button").last());
  await shot(page, `chat-en-${size}`);
  await page.context().close();
  return { kind, answerVisible, link, next, english };
}

try {
  for (const size of ["phone", "laptop"]) {
    report[size] = { register: await register(size), chat: await chat(size, "住民票の写しを取りたい") };
  }
  console.log(JSON.stringify({ ...report, problems }));
} finally {
  await browser.close();
}
