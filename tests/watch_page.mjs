// A browser for tests/test_watch_page.py: Debian's Chromium, headless, driven by puppeteer-core
// from tools/marp/node_modules. Reads one command per line on stdin, answers one JSON line each:
//   open URL          load the page (the only navigation this script ever asks for)
//   key NAME          press a key (ArrowRight...) and let the page react
//   wait EXPRESSION   evaluate EXPRESSION in the page until it is truthy (across the page's
//                     own reloads); answer {value, hash, loads}
// loads counts the page's loads (not moves between slides): the page reloading itself shows.
import { createInterface } from 'node:readline';
import { exitOnSignals, loadPuppeteer, startChromium, stop } from '../tools/marp/browser.mjs';

exitOnSignals();
const chromium = startChromium(loadPuppeteer(), process.env.CHROME_PATH || '/usr/bin/chromium',
  'livedeck-test-browser-');
const page = await chromium.opening.catch(async (error) => {
  await stop(chromium);
  throw error;
});
// Counted by each document of the tab as it starts, kept in the tab's sessionStorage, and read
// in the page: a reload shows in the count as soon as its document can be asked anything (the
// 'load' event reaches this script later, and a `wait` could answer before it).
const LOADS = 'livedeck-test-loads';
await page.evaluateOnNewDocument((key) => {
  if (window === window.top) sessionStorage.setItem(key, String(Number(sessionStorage.getItem(key)) + 1));
}, LOADS);

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
    } else if (verb === 'wait') {
      const value = await until(argument);
      const hash = await until('location.hash || "none"');
      answer({ value, hash, loads: await until(`Number(sessionStorage.getItem('${LOADS}'))`) });
    }
  }
} finally {
  await stop(chromium);
}
