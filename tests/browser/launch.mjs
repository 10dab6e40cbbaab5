// Shared launcher for the browser tests: Debian's Chromium, headless, with the flags this
// sandbox needs (no background networking: the machine's network is closed), and a fresh
// profile per run. Usage: `import { launch } from './launch.mjs'; const browser = await launch();`
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.HEARTH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
