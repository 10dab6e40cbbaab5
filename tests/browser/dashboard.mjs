// The owner's dashboard in headless Chromium: log in, upload a WhatsApp export and watch it
// import, find a memory from it by search, issue a grant (and use it), revoke it (and see it
// refused), with a screenshot of each page. Prints one JSON object on stdout.
//
// Environment: HEARTH_URL (the node), HEARTH_PASSPHRASE, HEARTH_EXPORT (the file to upload),
// HEARTH_QUERY (what to search for), HEARTH_ARTIFACTS (folder for the screenshots).
import { launch } from './launch.mjs';
import path from 'node:path';
import fs from 'node:fs';

const url = process.env.HEARTH_URL;
const out = process.env.HEARTH_ARTIFACTS;
fs.mkdirSync(out, { recursive: true });
const result = { shots: [] };
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const shot = async (name) => {
    const file = path.join(out, `dashboard-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    result.shots.push(file);
  };
  const offline = [];
  page.on('request', (r) => { if (!r.url().startsWith(url)) offline.push(r.url()); });

  // 1. Log in (a wrong passphrase first).
  await page.goto(`${url}/dashboard`);
  result.redirected_to_login = page.url().endsWith('/dashboard/login');
  await shot('login');
  await page.fill('input[name=passphrase]', 'not the passphrase');
  await page.click('button:has-text("Unlock")');
  result.wrong_passphrase = (await page.textContent('.err')) || '';
  await page.fill('input[name=passphrase]', process.env.HEARTH_PASSPHRASE);
  await Promise.all([page.waitForURL(`${url}/dashboard`), page.click('button:has-text("Unlock")')]);
  result.overview_before = await page.textContent('main');
  await shot('overview-empty');

  // 2. Import: upload the export, wait for the job to finish.
  await page.click('header a:has-text("Import")');
  await page.setInputFiles('#file', process.env.HEARTH_EXPORT);
  await page.fill('#tz', 'Europe/Lisbon');
  await page.fill('#me', 'Maya Lindqvist');
  await page.click('#go');
  await page.waitForSelector('#job-done, #job-failed', { timeout: 240000 });
  result.import_status = await page.textContent('#status');
  await shot('import');

  await page.click('header a:has-text("Overview")');
  result.overview_after = await page.textContent('main');
  await shot('overview');

  // 3. Memories: the timeline, then a search.
  await page.click('header a:has-text("Memories")');
  result.timeline_bars = await page.locator('#timeline rect').count();
  await page.fill('input[name=q]', process.env.HEARTH_QUERY);
  await Promise.all([page.waitForURL(/q=/), page.press('input[name=q]', 'Enter')]);
  result.hits = await page.locator('#results .hit > div:first-child').allTextContents();
  await shot('memories');

  // 4. Grants: issue, use, revoke, use again.
  await page.click('header a:has-text("Grants")');
  await page.fill('input[name=app]', 'browser-test-app');
  await page.check('input[name=rights][value="memories.search"]');
  await page.check('input[name=rights][value="model.embed"]');
  await Promise.all([page.waitForURL(/grants\/issue/), page.click('#grant-form button')]);
  const token = (await page.textContent('#token')).trim();
  result.grant_id = (await page.textContent('#grant-id')).trim();
  await shot('grant-issued');
  const models = async () => (await fetch(`${url}/v1/models`, { headers: { Authorization: `Bearer ${token}` } })).status;
  result.status_before_revoke = await models();
  await page.click('a:has-text("Back to the grants")');
  await shot('grants');
  await Promise.all([
    page.waitForURL(/revoked=/),
    page.click(`tr[data-grant="${result.grant_id}"] button.revoke`),
  ]);
  result.row_status = await page.textContent(`tr[data-grant="${result.grant_id}"] .status`);
  result.status_after_revoke = await models();
  await page.click(`tr[data-grant="${result.grant_id}"] a:has-text("audit trail")`);
  result.trail = await page.textContent('main');
  await shot('grants-revoked');
  result.token_len = token.length;

  // Log out: the dashboard is closed again.
  await Promise.all([page.waitForURL(/login/), page.click('header button:has-text("Log out")')]);
  await page.goto(`${url}/dashboard/grants`);
  result.after_logout = page.url();
  result.offline_requests = offline;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
