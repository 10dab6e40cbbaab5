// The owner's side of the OAuth consent step, in real headless Chromium: opens the authorize
// URL, checks what the page says, unchecks one right, types the vault passphrase, approves,
// and waits for the redirect to the app's loopback callback. Saves a screenshot of the page.
//
// Usage: node consent.mjs AUTHORIZE_URL UNCHECK_RIGHT SCREENSHOT_PATH
// (the passphrase comes from HEARTH_OWNER_PASSPHRASE, never from the command line).
// Prints one JSON line: {"title", "asks", "callback"}.
import { launch } from './launch.mjs';

const [url, uncheck, screenshot] = process.argv.slice(2);
const passphrase = process.env.HEARTH_OWNER_PASSPHRASE;
if (!url || !uncheck || !screenshot || !passphrase) {
  console.error('usage: HEARTH_OWNER_PASSPHRASE=... node consent.mjs URL RIGHT SCREENSHOT');
  process.exit(2);
}

const browser = await launch();
try {
  const page = await browser.newPage();
  const opened = await page.goto(url);
  if (opened.status() !== 200) throw new Error(`the consent page answered ${opened.status()}`);
  const title = await page.title();
  const asks = await page.locator('ul.asks li').allTextContents();
  const box = page.locator(`input[name="right"][value="${uncheck}"]`);
  await box.uncheck();
  await page.fill('#passphrase', passphrase);
  await page.screenshot({ path: screenshot, fullPage: true });
  // The approval redirects to the app's callback; wait for that navigation.
  const [callback] = await Promise.all([
    page.waitForRequest((r) => r.url().includes('code=') || r.url().includes('error='), { timeout: 30000 }),
    page.click('#approve'),
  ]);
  await page.waitForLoadState('load');
  console.log(JSON.stringify({ title, asks, callback: callback.url() }));
} finally {
  await browser.close();
}
