// A browser for tests/test_watch_page.py: Debian's Chromium, headless, driven by puppeteer-core
// from tools/marp/node_modules. Reads one command per line on stdin, answers one JSON line each:
//   open URL          load the page (the only navigation this script ever asks for)
//   key NAME          press a key (ArrowRight...) and let the page react
//   wait EXPRESSION   evaluate EXPRESSION in the page until it is truthy (across the page's
//                     own reloads); answer {value, hash, loads}
//   fresh             a new blank page in a browser context of its own (no cookies, storage
//                     or cache of the pages before), loads counted from 0: one Chromium serves
//                     every test of a test process
// loads counts the page's loads (not moves between slides): the page reloading itself shows.
import { createInterface } from 'node:readline';
import { exitOnSignals, loadPuppeteer, startChromium, stop } from '../tools/marp/browser.mjs';

exitOnSignals();
const chromium = startChromium(loadPuppeteer(), process.env.CHROME_PATH || '/usr/bin/chromium',
  'livedeck-test-browser-');
let page = await chromium.opening.catch(async (error) => {
  await stop(chromium);
  throw error;
});
let context = null; // the context `fresh` made, closed by the next one
let loads = 0;
const counted = (opened) => opened.on('load', () => { loads += 1; });
counted(page);

async function until(expression, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const value = await page.evaluate(expression);
      if (value) return value;
    } catch {
      // the page is reloading: its old context is gone
    }
    if (Date.now() > deadline) return null;
    await new Promise((done) => setTimeout(done, 100));
  }
}

const answer = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
try {
  for await (const line of createInterface({ input: process.stdin })) {
    const [verb, ...rest] = line.split(' ');
    const argument = rest.join(' ');
    if (verb === 'open') {
      await page.goto(argument, { waitUntil: 'load' });
      answer({ hash: await page.evaluate('location.hash') });
    } else if (verb === 'key') {
      await page.keyboard.press(argument);
      await new Promise((done) => setTimeout(done, 300));
      answer({ hash: await page.evaluate('location.hash') });
    } else if (verb === 'fresh') {
      const made = await page.browser().createBrowserContext();
      const opened = await made.newPage();
      await page.close();
      if (context) await context.close();
      [context, page, loads] = [made, opened, 0];
      counted(page);
      answer({});
    } else if (verb === 'wait') {
      const value = await until(argument);
      const hash = await until('location.hash || "none"');
      answer({ value, hash, loads });
    }
  }
} finally {
  await stop(chromium);
}
