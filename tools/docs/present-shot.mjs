// Screenshot of a live block in a slide, for the README: node tools/docs/present-shot.mjs URL
// BLOCK SLIDE OUT.png. Opens the page `livedeck present` printed in Debian's Chromium (headless,
// puppeteer-core from tools/marp/node_modules), goes to slide SLIDE, runs transcript block BLOCK
// with its button, waits for its badge and saves the slide as OUT.png.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, block, slide, out] = process.argv.slice(2);
const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const puppeteer = createRequire(join(root, 'tools', 'marp', 'package.json'))('puppeteer-core');
const profile = mkdtempSync(join(tmpdir(), 'livedeck-shot-'));
const args = ['--disable-gpu', '--disable-background-networking', '--hide-scrollbars'];
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args,
  defaultViewport: { width: 1280, height: 720 },
});
try {
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  await page.goto(`${url}#${slide}`, { waitUntil: 'load' });
  await page.waitForFunction(`window.livedeck?.blocks.has(${block})`, { timeout: 20000 });
  await page.evaluate(`window.livedeck.blocks.get(${block}).pre.closest('section')
    .querySelector('.livedeck-run').click()`);
  await page.waitForFunction(`window.livedeck.blocks.get(${block}).badge.textContent`,
    { timeout: 120000 });
  await new Promise((done) => setTimeout(done, 500));
  await page.screenshot({ path: out });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
