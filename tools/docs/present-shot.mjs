// Screenshot of a live block in a slide, for the README: node tools/docs/present-shot.mjs URL
// BLOCK SLIDE OUT.png. Opens the page `livedeck present` printed in Debian's Chromium (headless,
// puppeteer-core from tools/marp/node_modules), goes to slide SLIDE, runs transcript block BLOCK
// with its button, waits for its badge and saves the slide as OUT.png.
import { exitOnSignals, loadPuppeteer, startChromium, stop } from '../marp/browser.mjs';

const [url, block, slide, out] = process.argv.slice(2);
exitOnSignals();
const chromium = startChromium(loadPuppeteer(), process.env.CHROME_PATH || '/usr/bin/chromium',
  'livedeck-shot-');
try {
  const page = await chromium.opening;
  await page.goto(`${url}#${slide}`, { waitUntil: 'load' });
  await page.waitForFunction(`window.livedeck?.blocks.has(${block})`, { timeout: 20000 });
  await page.evaluate(`window.livedeck.blocks.get(${block}).pre.closest('section')
    .querySelector('.livedeck-run').click()`);
  await page.waitForFunction(`window.livedeck.blocks.get(${block}).badge.textContent`,
    { timeout: 120000 });
  await new Promise((done) => setTimeout(done, 500));
  await page.screenshot({ path: out });
} finally {
  await stop(chromium);
}
